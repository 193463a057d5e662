"""OFX / QFX / QBO statements: bank, credit-card and investment accounts into finance.*.

Reads downloaded statements (Quicken ``.qfx``, Money/MS ``.ofx``, QuickBooks Web
Connect ``.qbo``; OFX 1.x SGML or 2.x XML, with the quirks real banks write:
scrapers/finance/ofx.py lists them) or asks the institution's OFX server directly (Direct Connect).
Yields institutions, accounts, balances, transactions, investment transactions,
holdings and securities (scrapers/items/finance.py). A file is parsed whole
before anything is yielded; a broken one raises ParseError and loads nothing.

Arguments:
- ``-a url=~/Downloads/statements`` a folder (its *.ofx / *.qfx / *.qbo files), a file,
  a glob or a comma list. Without it (scheduled runs) the spider reads the folder
  ``PDE_OFX_DIR`` and/or uses Direct Connect when ``PDE_OFX_URL`` is set. Loading
  the same statement again changes nothing (transactions are keyed by FITID).
- ``-a account=everyday-checking`` the account of a statement that names none (no
  BANKACCTFROM; default: the file name without extension). Ignored when the file names it.
- ``-a days=90`` Direct Connect: how many days of transactions to ask for.

Credentials (Direct Connect only; environment variables, never arguments):
``PDE_OFX_URL`` (the institution's OFX server), ``PDE_OFX_ORG``, ``PDE_OFX_FID``,
``PDE_OFX_USER``, ``PDE_OFX_PASSWORD``, ``PDE_OFX_ACCTID`` (comma list; an
entry may carry its type: ``CHECKING:123``, ``CREDITCARD:4111...``,
``INVESTMENT:X1``), ``PDE_OFX_ACCTTYPE`` (default type, CHECKING),
``PDE_OFX_BANKID`` (bank accounts), ``PDE_OFX_BROKERID`` (investment accounts),
optional ``PDE_OFX_VERSION`` (default 220), ``PDE_OFX_APPID``/``PDE_OFX_APPVER``
(default QWIN 2700), ``PDE_OFX_CLIENTUID``. ofxhome.com lists URL/ORG/FID.

Parsing
-------
OFX / QFX / QBO statements to finance records, and OFX Direct Connect requests.

Reads OFX 1.x (SGML: end tags optional, one tag per line or the whole file on
one line, mixed closed/unclosed) and OFX 2.x (XML) with bank (STMTRS), credit
card (CCSTMTRS) and investment (INVSTMTRS + SECLIST) statements.

The reader (``read_tree``) knows OFX's nesting from ofxtools' models, so it can
accept what real banks write (see "reading the file" below: missing or stray end
tags, self-closing elements, bytes after </OFX>, no header) while still refusing,
with the line and the reason, a file whose structure is not certain. A whole file
is parsed before any record is returned: a broken file raises ParseError naming
the file, the line and the tag, and yields nothing. Inside a readable file, a
record that lacks a required value (no date, no amount) or a single invalid value
goes to quarantine with the reason; the rest loads.

Dates are kept as the institution wrote them: ``20090401122017.000[-5:EST]`` is
posted on 2009-04-01 (the local day), with the time in its own offset.

Account numbers are never logged beyond their last four characters: ofxtools'
loggers (which print whole requests) are silenced, and every number read is
masked in the log (``mask_in_logs``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import html
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal

import scrapy

from pde.records import Record, Rejected
from pde.sources import Arg, ArgError, ParseError
from scrapers.finance.common import content_ids, expand_files, file_stem, mask, mask_in_logs, parse_amount, source_name
from scrapers.finance.records import (
    Account,
    Balance,
    Holding,
    Institution,
    InvestmentTransaction,
    RemovedTransaction,
    Security,
    Transaction,
)
from scrapers.spider import PdeSpider

logger = logging.getLogger(__name__)
# ofxtools logs account numbers (INFO) and whole requests with the password (DEBUG)
logging.getLogger("ofxtools").setLevel(logging.CRITICAL + 1)

SOURCE = "ofx"

# -- reading the file --------------------------------------------------------
#
# Real statements bend the specification in ways that ofxparse, libofx (GnuCash) and
# Quicken accept, so the reader does too, as long as what holds what stays certain.
# Each tolerance below names who writes the quirk; every repair is logged per file.
# What stays refused, with the line and the reason: a file that ends inside an element
# (truncated), a known aggregate where the specification allows it nowhere (libofx's
# fuzzing files), text between elements, and end tags that leave it unclear which
# element holds what.

_OFX_START = re.compile(r"<\s*OFX(?=[\s>/])", re.I)
# Some downloads are padded after `</OFX>` (NUL bytes, blank lines); csv2ofx and the OFX
# specification's examples add a comment there: the document ends at the last `</OFX>`.
_OFX_END = re.compile(r"</\s*OFX\s*>", re.I)
_TOKEN = re.compile(
    r"""<!--.*?(?:-->|\Z)
      | <!\[CDATA\[(?P<cdata>.*?)\]\]>
      | <[?!][^<>]*>
      | </\s*(?P<end>[A-Za-z][\w.\-]*)\s*>
      | <(?P<start>[A-Za-z][\w.\-]*)(?:\s[^<>]*?)?(?P<empty>/)?>
    """,
    re.S | re.X,
)
_CHARSETS = {"1252": "cp1252", "WINDOWS-1252": "cp1252", "ISO-8859-1": "latin-1",
             "8859-1": "latin-1", "ISO8859-1": "latin-1", "LATIN-1": "latin-1",
             "UTF-8": "utf-8", "UTF8": "utf-8", "USASCII": "ascii", "US-ASCII": "ascii"}


@functools.cache
def _grammar() -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    """OFX's nesting rules, from ofxtools' models: {aggregate: children it may hold}, leaf names."""
    # lazy: every crawl imports all spider modules; ofxtools loads only when an OFX file is read
    from ofxtools.models.base import Aggregate
    from ofxtools.Types import SubAggregate, Unsupported

    children: dict[str, set[str]] = {}
    leaves: set[str] = set()
    todo, seen = [Aggregate], set()
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub in seen:
                continue
            seen.add(sub)
            todo.append(sub)
            if not re.fullmatch(r"[A-Z][A-Z0-9.]*", sub.__name__):
                continue  # ofxtools' own base classes (TranList, ...), not tags
            kids = children.setdefault(sub.__name__, set())
            for name, spec in sub.spec.items():
                if isinstance(spec, SubAggregate):
                    kids.add(spec.aggregate_type.__name__)
                else:
                    kids.add(name.upper())
                    if not isinstance(spec, Unsupported):
                        leaves.add(name.upper())
    return {k: frozenset(v) for k, v in children.items()}, frozenset(leaves - children.keys())


def _decode(body: bytes, head: bytes = b"") -> str:
    """The file as text: UTF-8 when the bytes are UTF-8 (whatever the header claims), else its CHARSET."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = re.search(rb"CHARSET:\s*([\w-]+)|encoding=[\"']([\w-]+)", head, re.I)
    name = (declared.group(1) or declared.group(2)).decode().upper() if declared else ""
    codec = _CHARSETS.get(name, "cp1252")
    # a header that says UTF-8 or ASCII over Windows-1252 bytes is common in QFX downloads
    return body.decode("cp1252" if codec in ("utf-8", "ascii") else codec, errors="replace")


class _Broken(ValueError):
    """The file's structure cannot be read with certainty (message names the line)."""


class _Open:
    __slots__ = ("el", "reopened", "text")

    def __init__(self, el: ET.Element, reopened: bool = False) -> None:
        self.el, self.text, self.reopened = el, False, reopened


class _TreeBuilder:
    """OFX 1.x SGML and 2.x XML into an ElementTree, repairing only what is unambiguous."""

    def __init__(self, line_of=lambda pos: pos) -> None:
        #: events carry a character offset; line numbers are worked out only for messages
        self.line_of = line_of
        self.aggregates, self.leaves = _grammar()
        self.root: ET.Element | None = None
        self.stack: list[_Open] = []
        self.repairs: list[str] = []
        self.last_structural: str | None = None
        self.pending: dict[str, tuple[int, str]] = {}  # closed without end tag since the last start tag
        self.closed_early: dict[str, tuple[int, str]] = {}

    # what a tag is
    def _is_aggregate_like(self, frame: _Open) -> bool:
        return frame.el.tag in self.aggregates or len(frame.el) > 0

    def _path(self) -> str:
        return "/".join(f.el.tag for f in self.stack)

    def fail(self, pos: int, reason: str) -> _Broken:
        if self.last_structural:
            return _Broken(f"{self.last_structural}; then at line {self.line_of(pos)}: {reason}")
        return _Broken(f"at line {self.line_of(pos)}: {reason}")

    def _close_above(self, index: int, pos: int, why: str) -> None:
        """Close every element above stack[index] (their end tags are missing)."""
        while len(self.stack) > index + 1:
            frame = self.stack.pop()
            if frame.reopened or not self._is_aggregate_like(frame):
                continue  # an SGML data element: its end tag is optional
            self.pending[frame.el.tag] = (self.line_of(pos), why)
            self.closed_early.pop(frame.el.tag, None)
            self.last_structural = f"at line {self.line_of(pos)}: {why}"
            self.repairs.append(f"line {self.line_of(pos)}: {why}")

    # events
    def start(self, tag: str, pos: int) -> None:
        self.closed_early.update(self.pending)
        self.pending.clear()
        self.closed_early.pop(tag, None)
        if not self.stack:
            if self.root is not None or tag != "OFX":
                raise self.fail(pos, f"<{tag}> outside <OFX>")
            self.root = ET.Element(tag)
            self.stack.append(_Open(self.root))
            return
        while len(self.stack) > 1 and (self.stack[-1].text or self.stack[-1].el.tag in self.leaves):
            self.stack.pop()  # a data element ends where the next tag starts
        parent = self._parent_for(tag, pos)
        el = ET.SubElement(self.stack[parent].el, tag)
        self.stack.append(_Open(el))

    def _parent_for(self, tag: str, pos: int) -> int:
        top = len(self.stack) - 1
        known = next((i for i in range(top, -1, -1) if self.stack[i].el.tag in self.aggregates), None)
        if tag in self.leaves:
            if known is not None and known != top and tag in self.aggregates[self.stack[known].el.tag]:
                # an empty vendor element left open (<INTU.XXX>) does not swallow what follows
                if not any(len(f.el) for f in self.stack[known + 1:]):
                    del self.stack[known + 1:]
                    return known
            return top
        if tag not in self.aggregates:
            return top  # a vendor element (INTU.BID, AMEX.ROLE, ...): kept where it is
        for i in range(top, -1, -1):
            if tag in self.aggregates.get(self.stack[i].el.tag, ()):
                if i != top:
                    # an end tag left out: Nubank omits </BANKTRANLIST>, the OFX 2.1.1 specification's
                    # own 401(k) example </YEARTODATE>; what follows shows where the element ended
                    inner = self.stack[top].el.tag
                    self._close_above(i, pos, f"<{tag}> ends <{inner}>, whose end tag is missing")
                return i
        if tag == "STMTTRN":
            # A STMTTRN after </BANKTRANLIST> (issue 11 names the quirk, not the bank; libofx and
            # ofxparse read such files): it belongs to the statement's transaction list.
            stmt = next((i for i in range(top, -1, -1)
                         if self.stack[i].el.tag in ("STMTRS", "CCSTMTRS")), None)
            if stmt is not None:
                self._close_above(stmt, pos, f"<STMTTRN> ends <{self.stack[top].el.tag}>")
                lists = self.stack[stmt].el.findall("BANKTRANLIST")
                tranlist = lists[-1] if lists else ET.SubElement(self.stack[stmt].el, "BANKTRANLIST")
                self.stack.append(_Open(tranlist, reopened=True))
                self.closed_early.pop("BANKTRANLIST", None)
                self.repairs.append(f"line {self.line_of(pos)}: a <STMTTRN> after </BANKTRANLIST> "
                                    "joins the transaction list")
                return len(self.stack) - 1
        if self.stack[top].el.tag not in self.aggregates and not self.stack[top].text:
            return top  # inside a vendor aggregate: its own business
        raise self.fail(pos, f"<{tag}> cannot be inside <{self.stack[top].el.tag}> ({self._path()})")

    def end(self, tag: str, pos: int) -> None:
        index = next((i for i in range(len(self.stack) - 1, -1, -1) if self.stack[i].el.tag == tag), None)
        if index is not None:
            inner = next((f.el.tag for f in reversed(self.stack[index + 1:])
                          if self._is_aggregate_like(f) and not f.reopened), None)
            if inner:
                self._close_above(index, pos, f"</{tag}> closes <{tag}> while <{inner}> is still open")
            del self.stack[index:]
            return
        if tag in self.pending:
            # end tags swapped (American Express: </STMTTRN></MEMO>): nothing came in between,
            # so nothing moved
            del self.pending[tag]
            self.repairs.append(f"line {self.line_of(pos)}: </{tag}> comes after its parent's end tag "
                                "(ignored)")
        elif tag in self.closed_early:
            first, why = self.closed_early[tag]
            raise self.fail(pos, f"</{tag}> closes an element already ended at line {first} ({why}), "
                                  "so which element holds what is ambiguous")
        else:
            # An end tag for nothing open: CBA writes <CCSTMTRS>...</STMTRS>, Amex repeats end tags.
            self.repairs.append(f"line {self.line_of(pos)}: </{tag}> closes nothing that is open (ignored)")

    def data(self, text: str, pos: int) -> None:
        if not text.strip():
            return
        frame = self.stack[-1] if self.stack else None
        if frame is None or len(frame.el) or frame.el.tag in self.aggregates:
            where = f"inside <{frame.el.tag}>" if frame else "outside <OFX>"
            raise self.fail(pos, f"text {text.strip()[:60]!r} {where}, between elements")
        frame.el.text = (frame.el.text or "") + text
        frame.text = True

    def close(self, pos: int) -> ET.Element:
        while len(self.stack) > 1 and self.stack[-1].text:
            self.stack.pop()  # a data element's end tag is optional
        if self.stack:
            top = self.stack[-1]
            raise self.fail(pos, f"the file ends inside <{top.el.tag}> ({self._path()}): truncated?")
        if self.root is None:
            raise _Broken("no <OFX> element")
        return self.root


def read_tree(body: bytes, source: str, repairs: list[str] | None = None) -> ET.Element:
    """The <OFX> element of an OFX/QFX/QBO file; ParseError if it is not one or is broken.

    ``repairs`` collects what was tolerated (a line each), for the log.
    """
    start = _OFX_START.search(body.decode("latin-1"))
    if start is None:
        raise ParseError(
            f"{source}: not an OFX/QFX statement: expected an OFX header "
            f"(OFXHEADER:100 ... or <?OFX OFXHEADER=\"200\" ...?>) and an <OFX> element"
        )
    text = _decode(body, body[:start.start()])
    start = _OFX_START.search(text)
    ends = list(_OFX_END.finditer(text, start.start()))
    stop = ends[-1].end() if ends else len(text)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:
        return bisect.bisect_right(line_starts, pos)

    builder = _TreeBuilder(line_of)
    pos = start.start()
    try:
        for m in _TOKEN.finditer(text, pos, stop):
            if m.start() > pos:
                builder.data(text[pos:m.start()], pos)
            pos = m.end()
            if m.group("start"):
                tag = m.group("start").upper()
                builder.start(tag, m.start())
                if m.group("empty"):  # <BANKID/>, <BALAMT/>: ofxstatement writes these
                    builder.end(tag, m.start())
            elif m.group("end"):
                builder.end(m.group("end").upper(), m.start())
            elif m.group("cdata") is not None:
                builder.data(m.group("cdata"), m.start())
        if stop > pos:
            builder.data(text[pos:stop], pos)
        root = builder.close(stop)
    except _Broken as exc:
        raise ParseError(f"{source}: broken OFX {exc}") from None
    trailing = text[stop:].replace("\x00", "").strip()
    if trailing:
        builder.repairs.append(f"ignored {len(trailing)} characters after </OFX>: {trailing[:40]!r}")
    if repairs is not None:
        repairs.extend(builder.repairs)
    return root


# -- values --------------------------------------------------------------------

_DT = re.compile(
    r"""^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})
        (?:(?P<H>\d{2})(?P<M>\d{2})(?:(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?
        \s*(?:\[\s*(?P<off>[+-]?\d{1,2}(?:\.\d{1,2})?)?\s*(?::\s*(?P<tz>[A-Za-z][\w/+-]*))?\s*\])?$""",
    re.X,
)
_TZ_HOURS = {
    "GMT": 0, "UTC": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7,
    "MDT": -6, "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10,
}


def parse_ofx_datetime(text: str | None) -> tuple[dt.date, dt.datetime] | None:
    """'20090401122017.000[-5:EST]' -> (date(2009,4,1), 2009-04-01 12:20:17-05:00).

    The date is the one written (the institution's local day); a value without
    an offset is GMT, as the OFX specification says.
    """
    if not text:
        return None
    m = _DT.match(text.strip())
    if not m:
        raise ValueError(f"not an OFX date: {text!r}")
    g = m.groupdict()
    offset = dt.timedelta(0)
    if g["off"]:
        hours, _, minutes = g["off"].partition(".")
        sign = -1 if hours.startswith("-") else 1
        offset = sign * dt.timedelta(hours=abs(int(hours)), minutes=int(minutes or 0))
    elif g["tz"] and g["tz"].upper() in _TZ_HOURS:
        offset = dt.timedelta(hours=_TZ_HOURS[g["tz"].upper()])
    tz = dt.timezone(offset, g["tz"]) if g["tz"] else dt.timezone(offset)
    day = dt.date(int(g["y"]), int(g["m"]), int(g["d"]))
    moment = dt.datetime(
        day.year, day.month, day.day, int(g["H"] or 0), int(g["M"] or 0), int(g["S"] or 0),
        int((g["f"] or "0").ljust(6, "0")), tzinfo=tz,
    )
    return day, moment


def ofx_day(text: str) -> dt.date | None:
    """The day of a date whose time part is invalid ('20230115128200': minute 82), else None."""
    m = re.match(r"\s*(\d{4})(\d{2})(\d{2})", text)
    if not m:
        return None
    try:
        return dt.date(*map(int, m.groups()))
    except ValueError:
        return None


def ofx_amount(text: str | None) -> Decimal | None:
    """OFX amounts: '+00000000002571.4500', '-6.60', and '-13,50' from some European banks."""
    if text is None:
        return None
    t = text.strip()
    if "," in t and "." not in t:
        t = t.replace(",", ".")
    return parse_amount(t, thousands=None)


def _text(el: ET.Element | None, path: str) -> str | None:
    if el is None:
        return None
    v = el.findtext(path)
    if v is None:
        return None
    v = html.unescape(v).strip()
    return v or None


def _leaves(el: ET.Element) -> dict:
    """An aggregate as a plain dict (for quarantine)."""
    out: dict = {}
    for child in el:
        value = _leaves(child) if len(child) else (child.text or "").strip()
        if child.tag in out:
            if not isinstance(out[child.tag], list):
                out[child.tag] = [out[child.tag]]
            out[child.tag].append(value)
        else:
            out[child.tag] = value
    return out


class _Bad(ValueError):
    """A value in one aggregate that cannot be read: the row is rejected."""


def _date(el: ET.Element, path: str, required: bool = False) -> tuple[dt.date, dt.datetime] | None:
    raw = _text(el, path)
    if raw is None:
        if required:
            raise _Bad(f"{path} is missing")
        return None
    try:
        return parse_ofx_datetime(raw)
    except ValueError as exc:
        raise _Bad(f"{path}: {exc}") from None


def _amount(el: ET.Element, path: str, required: bool = False) -> Decimal | None:
    raw = _text(el, path)
    if raw is None:
        if required:
            raise _Bad(f"{path} is missing or empty")
        return None
    try:
        return ofx_amount(raw)
    except ValueError as exc:
        raise _Bad(f"{path}: {exc}") from None


# -- the statement -------------------------------------------------------------

_STATEMENTS = {"STMTRS": "BANKACCTFROM", "CCSTMTRS": "CCACCTFROM", "INVSTMTRS": "INVACCTFROM"}
_TRNRS = {"STMTTRNRS", "CCSTMTTRNRS", "INVSTMTTRNRS", "STMTENDTRNRS", "CCSTMTENDTRNRS"}
_SECURITY_TYPES = {
    "STOCKINFO": "stock", "MFINFO": "mutual fund", "OPTINFO": "option",
    "DEBTINFO": "debt", "OTHERINFO": "other",
}
_INV_SUBTYPES = ("BUYTYPE", "SELLTYPE", "INCOMETYPE", "OPTBUYTYPE", "OPTSELLTYPE",
                 "TFERACTION", "OPTACTION", "RELTYPE")
_STMTTRN_DETAILS = ("SRVRTID", "SIC", "PAYEEID", "EXTDNAME", "CORRECTFITID",
                    "CORRECTACTION", "INV401KSOURCE")


def parse_ofx(body: bytes, source: str, account: str | None = None,
              fallback_account: str | None = None) -> list[Record | Rejected]:
    """Every record of one OFX/QFX/QBO file, or ParseError; nothing is yielded half.

    ``account`` (``-a account=``) or else ``fallback_account`` (the file name) names the
    account of a statement that has none (no BANKACCTFROM).
    """
    repairs: list[str] = []
    root = read_tree(body, source, repairs)
    if repairs:
        logger.info("%s: read with %d repair(s): %s", source, len(repairs), "; ".join(repairs[:20]))
    records = _Statement(root, source, account, fallback_account).records()
    mask_in_logs(a.number for a in records if isinstance(a, Account))
    return records


# The meaning of the status codes banks answer with most (OFX 2.2 section 3.1.4.2 and 8.6)
_STATUS_CODES = {
    "2000": "a general error at the institution: try the download again later",
    "2003": "the account was not found: check the account number",
    "2004": "the account is closed",
    "15000": "the institution wants a new password: change it on its website",
    "15500": "the user id or password is wrong",
}
_TRANSFERS = ("INTRARS", "INTERRS", "WIRERS", "RECINTRARS", "RECINTERRS")


class _Statement:
    def __init__(self, root: ET.Element, source: str, account: str | None = None,
                 fallback_account: str | None = None) -> None:
        self.root = root
        self.source = source
        self.account_arg = account
        self.fallback_account = fallback_account
        sonrs = root.find("SIGNONMSGSRSV1/SONRS")
        self.org = _text(sonrs, "FI/ORG")
        self.fid = _text(sonrs, "FI/FID")
        server = _text(sonrs, "DTSERVER")
        try:
            self.server_time = parse_ofx_datetime(server) if server else None
        except ValueError:
            day = ofx_day(server)
            self.server_time = (day, None) if day else None
        self.signon_status = (_text(sonrs, "STATUS/CODE"), _text(sonrs, "STATUS/SEVERITY"),
                              _text(sonrs, "STATUS/MESSAGE"))
        self.out: list[Record | Rejected] = []
        self.institutions: dict[str, Institution] = {}
        self.accounts: dict[str, Account] = {}
        self.securities: dict[str, Security] = {}
        self.keyed: dict[tuple, Record] = {}
        self.transactions: dict[tuple[str, str], Transaction] = {}
        self.keyless: list[Transaction] = []

    # each statement kind
    def records(self) -> list[Record | Rejected]:
        code, severity, message = self.signon_status
        statements = [el for el in self.root.iter() if el.tag in _STATEMENTS]
        seclists = list(self.root.iter("SECLIST"))
        if severity == "ERROR" or (code not in (None, "0") and not statements):
            meaning = _STATUS_CODES.get(code or "")
            raise ParseError(
                f"{self.source}: the institution refused the sign-on (status {code} "
                f"{severity or ''}: {message or 'no message'}"
                f"{'; ' + meaning if meaning else ''}); no statement in this response. "
                "Check the OFX user, password, ORG and FID."
            )
        refusals = []
        for trnrs in self.root.iter():
            if trnrs.tag in _TRNRS and not any(c.tag in _STATEMENTS for c in trnrs):
                status = (_text(trnrs, "STATUS/CODE"), _text(trnrs, "STATUS/SEVERITY"),
                          _text(trnrs, "STATUS/MESSAGE"))
                refusals.append((trnrs.tag, *status))
                logger.warning("%s: %s without a statement: status %s %s %s", self.source, trnrs.tag,
                               *(s or "" for s in status))
                if status[0] not in (None, "0") and (statements or seclists):
                    # the other statements load; this one's absence is said where the user looks
                    self._reject("finance.transactions", trnrs, self._bank_error(trnrs.tag, *status))
        if not statements and not seclists:
            raise ParseError(self._no_statement(refusals))
        for rs in statements:
            account_id, currency = self._account(rs)
            if rs.tag == "INVSTMTRS":
                self._investment(rs, account_id, currency)
            else:
                tranlist = rs.find("BANKTRANLIST")
                for trn in tranlist.iter("STMTTRN") if tranlist is not None else ():
                    self._stmttrn(trn, account_id, currency)
                for tag, kind in (("LEDGERBAL", "ledger"), ("AVAILBAL", "available")):
                    self._balance(rs.find(tag), account_id, kind, currency, "BALAMT",
                                  default=_optional_date(tranlist, "DTEND"))
        for seclist in seclists:
            for info in seclist:
                self._security(info)
        self._finish_keyless()
        return [*self.institutions.values(), *self.accounts.values(), *self.securities.values(),
                *self.out, *self.transactions.values()]

    @staticmethod
    def _bank_error(tag: str, code: str | None, severity: str | None, message: str | None) -> str:
        meaning = _STATUS_CODES.get(code or "", "see the institution's message")
        return (f"the institution answered with an error instead of a statement: {tag} status {code} "
                f"{severity or ''}: {message or 'no message'} ({meaning})")

    def _no_statement(self, refusals: list[tuple]) -> str:
        """Say what the file is instead of a statement: the bank's own error, an account list, ..."""
        errors = [r for r in refusals if r[1] not in (None, "0")]
        if errors:
            return f"{self.source}: {self._bank_error(*errors[0])}. Nothing was loaded from this file."
        kinds = [el.tag for el in self.root.iter() if el.tag in ("ACCTINFORS", *_TRANSFERS)]
        if "ACCTINFORS" in kinds:
            n = len(list(self.root.iter("ACCTINFO")))
            what = f"an account list (ACCTINFORS, {n} accounts), the answer to an account-information request"
        elif kinds:
            what = f"a transfer confirmation ({kinds[0]}), the answer to a transfer request"
        elif not len(self.root):
            what = "an empty OFX file (<OFX></OFX>)"
        elif [c.tag for c in self.root] == ["SIGNONMSGSRSV1"]:
            what = "only a sign-on answer"
        else:
            what = f"an OFX file holding {', '.join(dict.fromkeys(c.tag for c in self.root))}"
        return (f"{self.source}: not a statement but {what}; an OFX file without a statement: expected a "
                "bank (STMTRS), credit card (CCSTMTRS) or investment (INVSTMTRS) statement, or a SECLIST. "
                "Download the account's statement (.ofx, .qfx or .qbo) from the bank's website.")

    def _institution(self, kind: str | None, value: str | None) -> str | None:
        if self.org:
            iid, name = f"ofx:{self.org}", self.org
        elif self.fid:
            iid, name = f"ofx:fid:{self.fid}", None
        elif value:
            iid, name = f"ofx:{kind}:{value}", None
        else:
            return None
        self.institutions.setdefault(iid, Institution(
            institution_id=iid, source=SOURCE, name=name, ofx_org=self.org, ofx_fid=self.fid,
        ))
        return iid

    def _account(self, rs: ET.Element) -> tuple[str, str | None]:
        acct = rs.find(_STATEMENTS[rs.tag])
        currency = _text(rs, "CURDEF")
        if acct is None or not _text(acct, "ACCTID"):
            return self._unnamed_account(rs, currency), currency
        acctid = _text(acct, "ACCTID")
        bank_id, branch_id = _text(acct, "BANKID"), _text(acct, "BRANCHID")
        broker_id = _text(acct, "BROKERID")
        if rs.tag == "STMTRS":
            kind = (_text(acct, "ACCTTYPE") or "bank").lower()
            parts = [bank_id, branch_id, acctid]
            institution_id = self._institution("bankid", bank_id)
        elif rs.tag == "CCSTMTRS":
            kind, parts = "credit card", [acctid]
            institution_id = self._institution(None, None)
        else:
            kind, parts = "investment", [broker_id, acctid]
            institution_id = self._institution("brokerid", broker_id)
        account_id = "ofx:" + ":".join(p for p in parts if p)
        self.accounts.setdefault(account_id, Account(
            account_id=account_id, source=SOURCE, institution_id=institution_id, number=acctid,
            mask=mask(acctid), type=kind, currency=currency, bank_id=bank_id or broker_id,
            branch_id=branch_id,
        ))
        return account_id, currency

    def _unnamed_account(self, rs: ET.Element, currency: str | None) -> str:
        """A statement without its account aggregate (Actual Budget's tracking-number.ofx, some
        credit unions' web exports): the account is -a account= or the file name, as for bank_csv."""
        name = self.account_arg or self.fallback_account
        if not name:
            raise ParseError(f"{self.source}: <{rs.tag}> has no {_STATEMENTS[rs.tag]}/ACCTID: "
                             "pass -a account=NAME to say which account it is")
        has_content = any(next(rs.iter(tag), None) is not None
                          for tag in ("STMTTRN", "BALAMT", "INVTRANLIST", "INVPOSLIST", "INVBAL"))
        if not has_content:
            raise ParseError(f"{self.source}: <{rs.tag}> has no account, no transactions and no balance: "
                             "nothing to load")
        logger.warning(
            "%s: <%s> has no %s (no account number): loading it as account %r (%s)", self.source,
            rs.tag, _STATEMENTS[rs.tag], name,
            "from -a account=" if self.account_arg else "the file name; pass -a account=NAME to choose it",
        )
        kind = {"STMTRS": "bank", "CCSTMTRS": "credit card", "INVSTMTRS": "investment"}[rs.tag]
        account_id = f"ofx:{name}"
        self.accounts.setdefault(account_id, Account(
            account_id=account_id, source=SOURCE, institution_id=self._institution(None, None),
            name=name, type=kind, currency=currency,
        ))
        return account_id

    def _reject(self, table: str, el: ET.Element, reason: str) -> None:
        self.out.append(Rejected(table=table, reason=f"<{el.tag}>: {reason}", raw=_leaves(el),
                                 source_url=self.source))

    def _stmttrn(self, trn: ET.Element, account_id: str, currency: str | None,
                 details: dict | None = None) -> None:
        try:
            posted = self._when(trn, "DTPOSTED", "finance.transactions", required=True)
            amount = _amount(trn, "TRNAMT", required=True)
            user = self._when(trn, "DTUSER", "finance.transactions")
        except _Bad as exc:
            self._reject("finance.transactions", trn, str(exc))
            return
        cur = _text(trn, "CURRENCY/CURSYM") or currency
        if not cur:
            self._reject("finance.transactions", trn, "no currency (neither CURDEF nor CURRENCY)")
            return
        extra = {tag.lower(): _text(trn, tag) for tag in _STMTTRN_DETAILS if _text(trn, tag)}
        if _text(trn, "ORIGCURRENCY/CURSYM"):
            extra["original_currency"] = _text(trn, "ORIGCURRENCY/CURSYM")
            extra["currency_rate"] = _text(trn, "ORIGCURRENCY/CURRATE")
        extra.update(details or {})
        fitid = _text(trn, "FITID")
        record = Transaction(
            account_id=account_id,
            transaction_id=fitid or "",
            source=SOURCE,
            posted_date=posted[0],
            user_date=user[0] if user else None,
            amount=amount,
            currency=cur.upper(),
            payee=_text(trn, "NAME") or _text(trn, "PAYEE/NAME"),
            memo=_text(trn, "MEMO"),
            trn_type=_text(trn, "TRNTYPE"),
            check_number=_text(trn, "CHECKNUM"),
            reference=_text(trn, "REFNUM"),
            details=extra or None,
        )
        correct = (_text(trn, "CORRECTACTION") or "").upper()
        if correct in ("DELETE", "REPLACE") and _text(trn, "CORRECTFITID"):
            self.out.append(RemovedTransaction(
                account_id=account_id, transaction_id=_text(trn, "CORRECTFITID"), source=SOURCE,
                removed_at=self.server_time[1] if self.server_time else None,
            ))
            if correct == "DELETE":
                return
        if not fitid:
            self.keyless.append(record)
            return
        self._add_transaction(record, trn)

    def _add_transaction(self, record: Transaction, el: ET.Element | None) -> None:
        """One row per FITID; a second use of a FITID in the file is set aside, never merged."""
        key = (record.account_id, record.transaction_id)
        earlier = self.transactions.get(key)
        if earlier is None:
            self.transactions[key] = record
            return
        if earlier == record:
            reason = (f"FITID {record.transaction_id} appears twice in this file with the same date, amount "
                      "and text: the first is loaded, this copy is set aside (if they are two real "
                      "transactions, the bank gave both one id)")
        else:
            reason = (f"FITID {record.transaction_id} is used twice in this file with different content: "
                      "the first is loaded, this one is set aside")
        if el is not None:
            self._reject("finance.transactions", el, reason)
        else:
            self.out.append(Rejected(table="finance.transactions", reason=reason,
                                     raw=record.to_json(), source_url=self.source))

    def _emit(self, record: Record, el: ET.Element, what: str) -> None:
        """One record per table key. The same fact twice (a balance repeated by overlapping statements)
        is one row; a second, different record with that key is set aside, never merged."""
        key = (type(record), tuple(getattr(record, k) for k in record.key))
        earlier = self.keyed.setdefault(key, record)
        if earlier is record:
            self.out.append(record)
        elif earlier != record or not isinstance(record, (Balance, Security)):
            self._reject(record.table, el, f"{what} appears twice in this file: the first is loaded, this "
                                           "one is set aside")

    def _number(self, el: ET.Element, path: str, table: str) -> Decimal | None:
        """An optional amount; one that is not a number is set aside (quarantine), the record loads."""
        try:
            return _amount(el, path)
        except _Bad as exc:
            self._reject(table, el, f"{exc}: that value is set aside, the rest is loaded")
            return None

    def _when(self, el: ET.Element, path: str, table: str, required: bool = False,
              keeps_time: bool = False) -> tuple[dt.date, dt.datetime | None] | None:
        """A date element. Only the invalid part of a value is set aside (in quarantine, with the
        reason): a time with minute 82 (Capital One 360 balances) keeps its day."""
        raw = _text(el, path)
        if raw is None:
            if required:
                raise _Bad(f"{path} is missing or empty")
            return None
        try:
            return parse_ofx_datetime(raw)
        except ValueError as exc:
            day = ofx_day(raw)
            if day is None:
                if required:
                    raise _Bad(f"{path}: {exc}") from None
                self._reject(table, el, f"{path} {raw!r} is not a date ({exc}): that value is set aside, "
                                        "the rest is loaded")
                return None
            if keeps_time:
                self._reject(table, el, f"{path} {raw!r} has an invalid time ({exc}): loaded with the "
                                        f"day {day} and no time; only the time is set aside")
            return day, None

    def _finish_keyless(self) -> None:
        """Transactions without FITID get a content id (account, date, amount, text, n)."""
        ids = content_ids(
            [(t.account_id, t.posted_date, t.amount, " ".join(filter(None, (t.payee, t.memo))))
             for t in self.keyless],
            prefix="ofx",
        )
        for record, tid in zip(self.keyless, ids):
            record.transaction_id = tid
            self._add_transaction(record, None)

    def _balance(self, el: ET.Element | None, account_id: str, kind: str, currency: str | None,
                 path: str, asof_path: str | None = "DTASOF", default=None) -> None:
        if el is None:
            return
        try:
            amount = _amount(el, path, required=True)
            when = (self._when(el, asof_path, "finance.balances", keeps_time=True) if asof_path else None) \
                or default or self.server_time
            if when is None:
                raise _Bad("no DTASOF, statement date or DTSERVER to date it")
        except _Bad as exc:
            self._reject("finance.balances", el, str(exc))
            return
        self._emit(Balance(
            account_id=account_id, as_of=when[0], as_of_time=when[1], balance_type=kind,
            amount=amount, currency=_text(el, "CURRENCY/CURSYM") or currency, source=SOURCE,
        ), el, f"a {kind} balance of this account on {when[0]}")

    # investment statements
    def _investment(self, rs: ET.Element, account_id: str, currency: str | None) -> None:
        try:
            asof = _date(rs, "DTASOF") or self.server_time
        except _Bad:
            asof = self.server_time
        tranlist = rs.find("INVTRANLIST")
        for el in tranlist if tranlist is not None else ():
            if el.tag in ("DTSTART", "DTEND"):
                continue
            if el.tag == "INVBANKTRAN":
                trn = el.find("STMTTRN")
                if trn is None:
                    self._reject("finance.transactions", el, "INVBANKTRAN without STMTTRN")
                    continue
                fund = _text(el, "SUBACCTFUND")
                self._stmttrn(trn, account_id, currency, {"subaccount_fund": fund} if fund else None)
            else:
                self._invtran(el, account_id, currency)
        poslist = rs.find("INVPOSLIST")
        for pos in poslist if poslist is not None else ():
            self._position(pos, account_id, currency, asof)
        invbal = rs.find("INVBAL")
        if invbal is not None:
            for tag, kind in (("AVAILCASH", "cash"), ("MARGINBALANCE", "margin"),
                              ("SHORTBALANCE", "short"), ("BUYPOWER", "buying_power")):
                if _text(invbal, tag) is not None:
                    self._balance(invbal, account_id, kind, currency, tag, asof_path=None,
                                  default=asof)
            for bal in invbal.iter("BAL"):
                if (_text(bal, "BALTYPE") or "DOLLAR").upper() != "DOLLAR":
                    continue
                name = _text(bal, "NAME") or _text(bal, "DESC") or "unnamed"
                self._balance(bal, account_id, f"ballist:{name}", currency, "VALUE", default=asof)

    def _security_id(self, el: ET.Element) -> str | None:
        secid = el.find(".//SECID")
        uid, kind = _text(secid, "UNIQUEID"), _text(secid, "UNIQUEIDTYPE")
        return f"{kind or 'ID'}:{uid}" if uid else None

    def _invtran(self, el: ET.Element, account_id: str, currency: str | None) -> None:
        invtran = el.find(".//INVTRAN")
        try:
            if invtran is None:
                raise _Bad("no INVTRAN")
            fitid = _text(invtran, "FITID")
            if not fitid:
                raise _Bad("INVTRAN/FITID is missing")
            trade = self._when(invtran, "DTTRADE", "finance.investment_transactions", required=True)
            settle = self._when(invtran, "DTSETTLE", "finance.investment_transactions")
            values = {name: self._number(el, f".//{tag}", "finance.investment_transactions") for name, tag in (
                ("units", "UNITS"), ("unit_price", "UNITPRICE"), ("commission", "COMMISSION"),
                ("fees", "FEES"), ("total", "TOTAL"))}
        except _Bad as exc:
            self._reject("finance.investment_transactions", el, str(exc))
            return
        subtype = next((_text(el, f".//{t}") for t in _INV_SUBTYPES if _text(el, f".//{t}")), None)
        self._emit(InvestmentTransaction(
            account_id=account_id, transaction_id=fitid, source=SOURCE, trade_date=trade[0],
            settle_date=settle[0] if settle else None, action=el.tag, subtype=subtype,
            security_id=self._security_id(el), currency=_text(el, ".//CURRENCY/CURSYM") or currency,
            memo=_text(invtran, "MEMO"), subaccount_sec=_text(el, ".//SUBACCTSEC"),
            subaccount_fund=_text(el, ".//SUBACCTFUND"), **values,
        ), el, f"FITID {fitid}")

    def _position(self, pos: ET.Element, account_id: str, currency: str | None, asof) -> None:
        invpos = pos.find("INVPOS")
        try:
            if invpos is None:
                raise _Bad("no INVPOS")
            security_id = self._security_id(invpos)
            if not security_id:
                raise _Bad("INVPOS/SECID is missing")
            price_asof = self._when(invpos, "DTPRICEASOF", "finance.holdings", keeps_time=True)
            when = asof or price_asof
            if when is None:
                raise _Bad("neither the statement DTASOF nor DTPRICEASOF is given")
            values = {name: self._number(invpos, tag, "finance.holdings") for name, tag in (
                ("units", "UNITS"), ("unit_price", "UNITPRICE"), ("market_value", "MKTVAL"))}
        except _Bad as exc:
            self._reject("finance.holdings", pos, str(exc))
            return
        held_in = _text(invpos, "HELDINACCT") or "OTHER"
        self._emit(Holding(
            account_id=account_id, security_id=security_id, as_of=when[0],
            held_in=held_in, source=SOURCE,
            position_type=_text(invpos, "POSTYPE"),
            currency=_text(invpos, "CURRENCY/CURSYM") or currency,
            price_as_of=price_asof[1] if price_asof else None, memo=_text(invpos, "MEMO"),
            **values,
        ), pos, f"a position in {security_id} held in {held_in} on {when[0]}")

    def _security(self, info: ET.Element) -> None:
        secinfo = info.find("SECINFO")
        secid = secinfo.find("SECID") if secinfo is not None else None
        uid, kind = _text(secid, "UNIQUEID"), _text(secid, "UNIQUEIDTYPE")
        if not uid or not kind:
            self._reject("finance.securities", info, "SECINFO/SECID is incomplete")
            return
        try:
            price = self._number(secinfo, "UNITPRICE", "finance.securities")
            asof = self._when(secinfo, "DTASOF", "finance.securities", keeps_time=True)
        except _Bad as exc:
            self._reject("finance.securities", info, str(exc))
            return
        security_id = f"{kind}:{uid}"
        record = Security(
            security_id=security_id, id_type=kind, unique_id=uid, source=SOURCE,
            name=_text(secinfo, "SECNAME"), ticker=_text(secinfo, "TICKER"),
            security_type=_SECURITY_TYPES.get(info.tag, info.tag.lower()),
            currency=(_text(secinfo, "CURRENCY/CURSYM") or "").upper() or None,
            unit_price=price, price_as_of=asof[1] if asof else None,
        )
        earlier = self.securities.setdefault(security_id, record)
        if earlier is not record and earlier != record:
            # Vanguard lists two share classes (VFINX, VFIAX) under one CUSIP (ofxparse's vanguard.ofx)
            self._reject("finance.securities", info, f"{security_id} is described twice in this file "
                         f"({earlier.ticker or earlier.name} and {record.ticker or record.name}): the first is "
                         "loaded, this one is set aside")


def _optional_date(el: ET.Element | None, path: str):
    try:
        return _date(el, path) if el is not None else None
    except _Bad:
        return None


# -- Direct Connect ---------------------------------------------------------

#: environment variables read by ``direct_connect_request``
ENV_VARS = ("PDE_OFX_URL", "PDE_OFX_ORG", "PDE_OFX_FID", "PDE_OFX_USER", "PDE_OFX_PASSWORD",
            "PDE_OFX_ACCTID", "PDE_OFX_ACCTTYPE", "PDE_OFX_BANKID", "PDE_OFX_BROKERID",
            "PDE_OFX_VERSION", "PDE_OFX_APPID", "PDE_OFX_APPVER", "PDE_OFX_CLIENTUID")
_BANK_TYPES = {"CHECKING", "SAVINGS", "MONEYMRKT", "CREDITLINE", "CD"}


def direct_connect_request(env=os.environ, days: int = 90,
                           now: dt.datetime | None = None) -> tuple[str, bytes, dict[str, str]]:
    """(url, body, headers) of one OFX statement request for every configured account.

    PDE_OFX_ACCTID is a comma list; an entry may say its type (``CREDITCARD:4111...``,
    ``INVESTMENT:X123``), otherwise PDE_OFX_ACCTTYPE (default CHECKING) applies.
    """
    from ofxtools.Client import CcStmtRq, InvStmtRq, OFXClient, StmtRq  # lazy: ofxtools (see _grammar)

    required = ("PDE_OFX_URL", "PDE_OFX_USER", "PDE_OFX_PASSWORD", "PDE_OFX_ACCTID")
    missing = [name for name in required if not env.get(name)]
    if missing:
        raise ValueError(
            f"OFX Direct Connect needs the environment variables {', '.join(missing)} "
            "(see scrapers/spiders/ofx_statements.py); or crawl downloaded files with -a url=..."
        )
    now = now or dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=days)
    default_type = env.get("PDE_OFX_ACCTTYPE", "CHECKING").upper()
    requests = []
    for entry in (e.strip() for e in env["PDE_OFX_ACCTID"].split(",")):
        if not entry:
            continue
        kind, _, acctid = entry.rpartition(":")
        kind = (kind or default_type).upper()
        if kind in _BANK_TYPES:
            if not env.get("PDE_OFX_BANKID"):
                raise ValueError(f"bank account {acctid[-4:]!r} needs PDE_OFX_BANKID (routing number)")
            requests.append(StmtRq(acctid=acctid, accttype=kind, dtstart=start, dtend=now))
        elif kind in ("CREDITCARD", "CC"):
            requests.append(CcStmtRq(acctid=acctid, dtstart=start, dtend=now))
        elif kind in ("INVESTMENT", "INV"):
            if not env.get("PDE_OFX_BROKERID"):
                raise ValueError(f"investment account {acctid[-4:]!r} needs PDE_OFX_BROKERID")
            requests.append(InvStmtRq(acctid=acctid, dtstart=start, dtend=now, dtasof=now))
        else:
            raise ValueError(f"unknown OFX account type {kind!r} in PDE_OFX_ACCTID "
                             f"(use {', '.join(sorted(_BANK_TYPES))}, CREDITCARD or INVESTMENT)")
    client = OFXClient(
        env["PDE_OFX_URL"], userid=env["PDE_OFX_USER"], org=env.get("PDE_OFX_ORG") or None,
        fid=env.get("PDE_OFX_FID") or None, version=int(env.get("PDE_OFX_VERSION") or 220),
        appid=env.get("PDE_OFX_APPID") or None, appver=env.get("PDE_OFX_APPVER") or None,
        clientuid=env.get("PDE_OFX_CLIENTUID") or None, bankid=env.get("PDE_OFX_BANKID") or None,
        brokerid=env.get("PDE_OFX_BROKERID") or None,
    )
    body = client.request_statements(env["PDE_OFX_PASSWORD"], *requests, dryrun=True).read()
    return env["PDE_OFX_URL"], body, dict(client.http_headers)


class OfxStatementsSpider(PdeSpider):
    name = "ofx_statements"
    area = "finance"
    file_suffixes = (".ofx", ".qfx", ".qbo")

    args = (
        Arg("url", "downloaded statements: a folder (its *.ofx / *.qfx / *.qbo), a file, a glob or a comma list; "
            "default: the folder PDE_OFX_DIR and/or Direct Connect (PDE_OFX_URL)", example="~/Downloads/statements"),
        Arg("account", "the account of a statement that names none", example="everyday-checking"),
        Arg("days", "Direct Connect: how many days of transactions to ask for", type=int, default=90, min=1),
    )

    @classmethod
    def check_ready(cls, values, settings=None):
        super().check_ready(values, settings)
        if not (values.get("url") or os.environ.get("PDE_OFX_DIR") or os.environ.get("PDE_OFX_URL")):
            raise ArgError(
                "ofx_statements needs -a url=<files or folder>, PDE_OFX_DIR (a folder where you "
                "save downloaded statements) or PDE_OFX_URL and the other PDE_OFX_* variables (Direct Connect)")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.url:
            for target in expand_files(self.url, self.file_suffixes):
                yield scrapy.Request(target, callback=self.parse, dont_filter=True)
            return
        for request in self.live_requests():
            yield request

    def live_requests(self) -> Iterable[scrapy.Request]:
        folder, server = os.environ.get("PDE_OFX_DIR"), os.environ.get("PDE_OFX_URL")
        if not (folder or server):
            raise ValueError(
                "ofx_statements needs -a url=<files or folder>, PDE_OFX_DIR (a folder where you "
                "save downloaded statements) or PDE_OFX_URL and the other PDE_OFX_* variables "
                "(Direct Connect)"
            )
        if folder:
            for target in expand_files(folder, self.file_suffixes):
                yield scrapy.Request(target, callback=self.parse, dont_filter=True)
        if server:
            mask_in_logs(e.rpartition(":")[2].strip() for e in os.environ.get("PDE_OFX_ACCTID", "").split(","))
            url, body, headers = direct_connect_request(os.environ, days=self.days)
            yield scrapy.Request(url, method="POST", body=body, headers=headers,
                                 callback=self.parse, dont_filter=True)

    def parse(self, response):
        yield from parse_ofx(response.body, source_name(response.url), account=self.account,
                             fallback_account=file_stem(response.url))
