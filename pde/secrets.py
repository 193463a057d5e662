"""Keeping credentials and account numbers out of everything pde prints or stores.

One place knows what a secret looks like: a database DSN's password (URL
``user:pw@``, ``?password=``, or libpq's ``key=value`` form), a secret-looking
query parameter (``token``, ``api_key``, ``signature``, ...), the value of a
secret-looking environment variable, and an account number (only its last four
digits may show). ``redact()`` applies all of them to a string; ``RedactingFilter``
applies it to every log record a handler emits (the crawl log, stderr, Airflow's
task log when the crawl's output is streamed there).
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "***"
URL_PLACEHOLDER = "REDACTED"  # in URLs and form bodies, where <> would be escaped

#: names (query parameters, form and JSON fields, -a arguments) whose values are credentials:
#: the whole name, or its last _/- separated part (``x-amz-signature``, ``client_secret``, ``auth_token``)
SECRET_FIELDS = re.compile(
    r"^(?:[a-z0-9]+[_.-])*(password|passwd|passphrase|pwd|secret|token|signature|credentials?|apikey|"
    r"sessionid|userpass|authorization)$"
    r"|^(pass|pin|key|sig|auth|session|espn_s2|swid|jwt|otp)$"
    r"|^(?:[a-z0-9]+[_.-])*(api|access|secret|private|client|subscription|app|auth)[_-]?key$",
    re.I,
)
#: environment variables whose values are secrets
SECRET_ENV = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY|ESPN_S2|SWID|COOKIE|CREDENTIAL|APPRISE|ALERT_URL)", re.I)
#: environment variables holding account numbers (comma lists; only the last four digits may show)
ACCOUNT_ENV = ("PDE_OFX_ACCTID",)

_URL_USERINFO = re.compile(r"(?P<pre>[a-z][a-z0-9+.-]*://[^:/?#@\s'\"]*:)(?P<pw>[^@\s'\"/]*)(?P<post>@)", re.I)
_KV_PASSWORD = re.compile(r"(?P<pre>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|[^\s'\"&]+)", re.I)
_QUERY_PARAM = re.compile(r"(?P<pre>[?&;](?P<name>[A-Za-z0-9_.-]+)=)(?P<value>[^&\s#'\"<>]+)")


def dsn_password(dsn: str) -> str | None:
    """The password in a PostgreSQL DSN of any form (URL, ?password=, key=value), or None."""
    if not dsn:
        return None
    if "://" in dsn:
        parts = urlsplit(dsn)
        try:
            if parts.password:
                return unquote(parts.password)
        except ValueError:
            pass
        for k, v in parse_qsl(parts.query, keep_blank_values=True):
            if k.lower() == "password" and v:
                return v
        return None
    m = _KV_PASSWORD.search(dsn)
    if not m:
        return None
    value = m.group("pw")
    if value.startswith("'"):
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    return value or None


def mask_dsn(text: str) -> str:
    """``text`` with every DSN password in it replaced by ***."""
    if not text:
        return text
    text = _URL_USERINFO.sub(lambda m: m["pre"] + (MASK if m["pw"] else "") + m["post"], text)
    return _KV_PASSWORD.sub(lambda m: m["pre"] + MASK, text)


def scrub_query_secrets(text: str, placeholder: str = URL_PLACEHOLDER) -> str:
    """Secret-looking query parameters in any text (URLs in log lines, arguments) replaced."""
    if not text or "=" not in text:
        return text
    return _QUERY_PARAM.sub(
        lambda m: m["pre"] + placeholder if SECRET_FIELDS.match(m["name"]) and m["value"] != MASK else m[0], text)


def last_four(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return "…" + digits[-4:] if digits else MASK


def secret_values(env=None) -> dict[str, str]:
    """Values of secret-looking environment variables (>= 6 chars) and DSN passwords -> their name."""
    env = os.environ if env is None else env
    values = {v: k for k, v in env.items() if SECRET_ENV.search(k) and len(v) >= 6}
    for name in ("DATABASE_URL", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        pw = dsn_password(env.get(name, ""))
        if pw and len(pw) >= 4:
            values[pw] = name + " password"
    return values


def account_numbers(env=None) -> list[str]:
    """Account numbers pde was told about (PDE_OFX_ACCTID and the like), longest first."""
    env = os.environ if env is None else env
    found = set()
    for name in ACCOUNT_ENV:
        for part in re.split(r"[,\s]+", env.get(name, "")):
            number = part.rpartition(":")[2]  # CHECKING:123456789
            if len(re.sub(r"\D", "", number)) >= 5:
                found.add(number)
    return sorted(found, key=len, reverse=True)


_LONG_NUMBER = re.compile(r"(?<![\d.])\d{5,}(?![\d.])")


_ACCOUNT_FIELD = re.compile(
    r"(?P<pre>\b(?:acctid|acct_id|account_number|account_no|number|account_id|accountid)['\"]?\s*[=:]\s*)"
    r"(?:(?P<q>['\"])(?P<quoted>[^'\"]*)(?P=q)|(?P<value>[^'\",\s)}<]+))", re.I)  # a quoted value may hold spaces


def _mask_segments(value: str) -> str:
    """Each ``:``-separated part holding 5+ digits shown as its last four digits (``ofx:…7148:…6877``)."""
    return ":".join(last_four(p) if len(re.sub(r"\D", "", p)) >= 5 else p for p in value.split(":"))


def mask_account_fields(text: str) -> str:
    """``number='123456789'``, ``'account_id': 'ofx:1:123456789'``, ``<ACCTID>...``: last four digits at most."""
    text = _ACCOUNT_FIELD.sub(
        lambda m: m["pre"] + (m["q"] + _mask_segments(m["quoted"]) + m["q"] if m["q"] else _mask_segments(m["value"])),
        text)
    return re.sub(r"(<ACCTID>)([^<\s]+)", lambda m: m[1] + _mask_segments(m[2]), text, flags=re.I)


def mask_long_numbers(text: str) -> str:
    """Every run of 5+ digits shown as its last four (for libraries that log account numbers)."""
    return _LONG_NUMBER.sub(lambda m: last_four(m[0]), text)


def redact(text: str, values: dict[str, str] | None = None, accounts: list[str] | None = None) -> str:
    """Everything secret in ``text`` masked: DSN passwords, secret query values, known secret values."""
    if not text:
        return text
    text = mask_dsn(text)
    text = scrub_query_secrets(text)
    for value in sorted(secret_values() if values is None else values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    for number in account_numbers() if accounts is None else accounts:
        if number in text:
            text = text.replace(number, last_four(number))
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in every record passing a handler; account-number-prone loggers get digit masking too.

    Attach it to handlers (a filter on a logger does not see records of its child loggers).
    """

    #: loggers known to log account numbers (ofxtools logs its statement requests at INFO)
    DIGIT_LOGGERS = ("ofxtools",)

    def __init__(self, env=None):
        super().__init__()
        self.values = secret_values(env)
        self.accounts = account_numbers(env)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        clean = mask_account_fields(redact(message, self.values, self.accounts))
        if record.name.split(".")[0] in self.DIGIT_LOGGERS:
            clean = mask_long_numbers(clean)
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.values, self.accounts)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_log_redaction(logger: logging.Logger | None = None, env=None) -> RedactingFilter:
    """Add one RedactingFilter to every handler of ``logger`` (default: the root logger)."""
    logger = logger or logging.getLogger()
    flt = RedactingFilter(env)
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt
