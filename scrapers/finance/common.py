"""Helpers every finance parser shares: exact amounts, stable ids, file arguments."""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pde.sources import expand_urls

_CURRENCY_MARKS = re.compile(r"[$€£¥₹₩₽¤]|\b(?:USD|EUR|GBP|CAD|AUD|CHF|JPY)\b|\s|\u00a0|\u202f|'")


def parse_amount(text: str | None, decimal: str = ".", thousands: str | None = ",") -> Decimal | None:
    """'$1,036.47', '-63,89', '(12.00)', '12.00-', '+0000000000100.00000' -> Decimal.

    Empty text is None (the source did not say); anything else that is not a
    number raises ValueError.
    """
    if text is None:
        return None
    s = text.strip()
    if not s:
        return None
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s.endswith("-") and not s.startswith("-"):
        negative, s = True, s[:-1]
    s = _CURRENCY_MARKS.sub("", s)
    if thousands:
        s = s.replace(thousands, "")
    if decimal != ".":
        s = s.replace(decimal, ".")
    if s.startswith("-"):
        negative, s = not negative, s[1:]
    elif s.startswith("+"):
        s = s[1:]
    if not re.fullmatch(r"\d+(\.\d*)?|\.\d+", s):
        raise ValueError(f"not an amount: {text!r}")
    try:
        value = Decimal(s)
    except InvalidOperation as exc:  # pragma: no cover - the regex guards this
        raise ValueError(f"not an amount: {text!r}") from exc
    return -value if negative else value


def canonical_amount(amount: Decimal) -> str:
    """The same text for 100, 100.0 and 100.00 (ids must not depend on formatting)."""
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def normalise_text(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def content_ids(
    rows: Sequence[tuple[str, dt.date, Decimal, str]], prefix: str = "csv"
) -> list[str]:
    """Ids for rows that have no institution id: ``<prefix>:<sha1>``.

    Each row is (account_id, date, amount, description). The n-th identical row
    of a day gets n in its hash, so the same file loaded twice (or two
    overlapping exports of whole days) gives the same ids, while two genuine
    identical coffees on one day stay two rows.
    """
    seen: Counter[tuple[str, str, str, str]] = Counter()
    ids = []
    for account_id, day, amount, description in rows:
        key = (account_id, day.isoformat(), canonical_amount(amount), normalise_text(description))
        seen[key] += 1
        digest = hashlib.sha1("|".join((*key, str(seen[key]))).encode("utf-8")).hexdigest()
        ids.append(f"{prefix}:{digest}")
    return ids


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


def mask(number: str | None) -> str | None:
    """The last four digits of an account number (None when it has fewer)."""
    digits = re.sub(r"\D", "", number or "")
    return digits[-4:] if len(digits) >= 4 else None


def source_name(url: str) -> str:
    """What to call a response in messages: the local path for file:// URLs."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return unquote(parts.path)
    return url


def file_stem(url: str) -> str | None:
    """'statement-2024' for file:///x/statement-2024.csv or https://host/x/statement-2024.csv."""
    stem = Path(unquote(urlsplit(url).path)).stem
    return stem or None


def expand_files(spec: str, suffixes: Iterable[str]) -> list[str]:
    """Like ``expand_urls``, but a folder stands for its files with these suffixes."""
    suffixes = tuple(s.lower() for s in suffixes)
    urls: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        path = os.path.expanduser(part.removeprefix("file://"))
        if "://" not in part.removeprefix("file://") and os.path.isdir(path):
            found = sorted(
                p for p in Path(path).iterdir() if p.is_file() and p.suffix.lower() in suffixes
            )
            if not found:
                raise ValueError(f"No {'/'.join(suffixes)} files in folder {path}")
            urls.extend(p.resolve().as_uri() for p in found)
        elif "://" not in part.removeprefix("file://") and glob.has_magic(path):
            # a glob: its files as they are, and the statement files of folders it matches
            matches = sorted(glob.glob(path))
            if not matches:
                raise ValueError(f"No file matches {part!r}")
            for m in map(Path, matches):
                if m.is_dir():
                    urls.extend(p.resolve().as_uri() for p in sorted(m.iterdir())
                                if p.is_file() and p.suffix.lower() in suffixes)
                else:
                    urls.append(m.resolve().as_uri())
        else:
            urls.extend(expand_urls(part))
    return urls


class _AccountNumberMask(logging.Filter):
    """Rewrites every log line so that registered account numbers show only their last four characters."""

    def __init__(self) -> None:
        super().__init__()
        self.numbers: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.numbers:
            return True
        try:
            message = record.getMessage()
        except Exception:
            return True
        masked = message
        for number in sorted(self.numbers, key=len, reverse=True):
            masked = masked.replace(number, "…" + number[-4:])
        if masked != message:
            record.msg, record.args = masked, None
        return True


_MASK = _AccountNumberMask()


def mask_in_logs(numbers: Iterable[str | None]) -> None:
    """Never log these account numbers beyond their last four characters (any logger, any level).

    The filter sits on the root logger's handlers (Scrapy's log, the run's error collector),
    so item dumps at DEBUG and library messages are masked too.
    """
    _MASK.numbers.update(n for n in numbers if n and len(n) > 4)
    for handler in logging.getLogger().handlers:
        if _MASK not in handler.filters:
            handler.addFilter(_MASK)
