"""OFX / QFX statements: bank, credit-card and investment accounts into finance.*.

Reads downloaded statements (Quicken ``.qfx``, Money/MS ``.ofx``, OFX 1.x SGML
or 2.x XML) or asks the institution's OFX server directly (Direct Connect).
Yields institutions, accounts, balances, transactions, investment transactions,
holdings and securities (scrapers/finance/records.py). A file is parsed whole
before anything is yielded; a broken one raises ParseError and loads nothing.

Arguments:
- ``-a url=~/Downloads/statements`` a folder (its *.ofx / *.qfx files), a file,
  a glob or a comma list. Without it (scheduled runs) the spider reads the folder
  ``PDE_OFX_DIR`` and/or uses Direct Connect when ``PDE_OFX_URL`` is set. Loading
  the same statement again changes nothing (transactions are keyed by FITID).
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
OFX / QFX statements to finance records, and OFX Direct Connect requests.

Reads OFX 1.x (SGML: end tags optional, one tag per line or the whole file on
one line, mixed closed/unclosed) and OFX 2.x (XML) with bank (STMTRS), credit
card (CCSTMTRS) and investment (INVSTMTRS + SECLIST) statements.

ofxtools reads the header (CHARSET:1252 etc.) and tokenises the body; its tree
builder accepts truncated or mis-nested files without a word, so ours checks
every end tag and refuses a file that stops inside an element. A whole file is
parsed before any record is returned: a broken file raises ParseError naming
the file, the line and the tag, and yields nothing.

Dates are kept as the institution wrote them: ``20090401122017.000[-5:EST]`` is
posted on 2009-04-01 (the local date), with the time in its own offset.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import io
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal

import scrapy

from pde.records import Record, Rejected
from pde.sources import Arg, ArgError, ParseError
from scrapers.finance.common import (
    content_ids,
    expand_files,
    mask,
    parse_amount,
    source_name,
)
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

SOURCE = "ofx"

# -- reading the file --------------------------------------------------------


def read_tree(body: bytes, source: str) -> ET.Element:
    """The <OFX> element of an OFX/QFX file; ParseError if it is not one or is broken."""
    from ofxtools.header import OFXHeaderError, parse_header
    from ofxtools.Parser import ParseError as OfxToolsError

    text = None
    try:
        _, message = parse_header(io.BytesIO(body))
    except UnicodeDecodeError:
        # Declared UTF-8/ASCII but written in Windows-1252 (common in QFX).
        _, message = parse_header(io.BytesIO(body.decode("cp1252", errors="replace").encode("utf-8")))
    except (OFXHeaderError, ValueError):
        # No (or a non-standard) header: take the body from <OFX> on.
        start = body.upper().find(b"<OFX>")
        if start < 0:
            raise ParseError(
                f"{source}: not an OFX/QFX statement: expected an OFX header "
                f"(OFXHEADER:100 ... or <?OFX OFXHEADER=\"200\" ...?>) and an <OFX> element"
            ) from None
        text = _decode(body)
        message = text[text.upper().find("<OFX>"):]
    if text is None:
        text = _decode(body)

    builder = _new_builder()
    try:
        builder.feed(message)
        root = builder.close()
    except OfxToolsError as exc:
        raise ParseError(f"{source}: broken OFX {_where(exc, text, message)}") from None
    if root is None or root.tag != "OFX":
        raise ParseError(f"{source}: not an OFX statement: the top element is not <OFX>")
    return root


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def _where(exc: Exception, text: str, message: str) -> str:
    """'at line 57: </BANKTRANLIST> closes <STMTTRN>, ...' from an ofxtools error."""
    msg = str(exc)
    pos = re.search(r" - position=\[(\d+):\d+\]$", msg)
    msg = msg[: pos.start()] if pos else msg
    tail = re.match(r"Tail text '(.*?)' in ", msg, re.S)
    if tail:
        msg = f"unexpected text {tail.group(1)[:60]!r} after a closing tag"
    msg = msg[:300]
    if not pos:
        return f"at the end (line {text.rstrip().count(chr(10)) + 1}): {msg}"
    offset = text.find(message[:200])
    line = text.count("\n", 0, max(offset, 0)) + message.count("\n", 0, int(pos.group(1))) + 1
    return f"at line {line}: {msg}"


@functools.cache
def _strict_builder_class():
    from ofxtools.Parser import ParseError as OfxToolsError
    from ofxtools.Parser import TreeBuilder

    class StrictTreeBuilder(TreeBuilder):
        """ofxtools' OFX tokeniser with end tags checked against what is open."""

        def __init__(self) -> None:
            super().__init__()
            self._open: list[list] = []  # [tag, has_children]

        def start(self, tag, attrs):
            if self._open:
                self._open[-1][1] = True
            self._open.append([tag, False])
            return super().start(tag, attrs)

        def end(self, tag):
            open_tags = [t for t, _ in self._open]
            if tag not in open_tags:
                where = f"<{open_tags[-1]}> is open" if open_tags else "nothing is open"
                raise OfxToolsError(f"</{tag}> closes an element that is not open ({where})")
            while self._open[-1][0] != tag:
                inner, has_children = self._open[-1]
                if has_children:
                    raise OfxToolsError(f"</{tag}> closes <{tag}> while <{inner}> is still open")
                # An empty SGML element left unclosed (e.g. a bare <MEMO>): close it.
                self._open.pop()
                super().end(inner)
            self._open.pop()
            return super().end(tag)

        def close(self):
            if self._open:
                path = "/".join(t for t, _ in self._open)
                raise OfxToolsError(f"the file ends inside <{self._open[-1][0]}> ({path}): truncated?")
            return super().close()

    return StrictTreeBuilder


def _new_builder():
    return _strict_builder_class()()


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
            raise _Bad(f"{path} is missing")
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


def parse_ofx(body: bytes, source: str) -> list[Record | Rejected]:
    """Every record of one OFX/QFX file, or ParseError; nothing is yielded half."""
    root = read_tree(body, source)
    return _Statement(root, source).records()


class _Statement:
    def __init__(self, root: ET.Element, source: str) -> None:
        self.root = root
        self.source = source
        sonrs = root.find("SIGNONMSGSRSV1/SONRS")
        self.org = _text(sonrs, "FI/ORG")
        self.fid = _text(sonrs, "FI/FID")
        server = _text(sonrs, "DTSERVER")
        try:
            self.server_time = parse_ofx_datetime(server) if server else None
        except ValueError:
            self.server_time = None
        self.signon_status = (_text(sonrs, "STATUS/CODE"), _text(sonrs, "STATUS/SEVERITY"),
                              _text(sonrs, "STATUS/MESSAGE"))
        self.out: list[Record | Rejected] = []
        self.institutions: dict[str, Institution] = {}
        self.accounts: dict[str, Account] = {}
        self.securities: dict[str, Security] = {}
        self.transactions: dict[tuple[str, str], Transaction] = {}
        self.keyless: list[Transaction] = []

    # each statement kind
    def records(self) -> list[Record | Rejected]:
        code, severity, message = self.signon_status
        statements = [el for el in self.root.iter() if el.tag in _STATEMENTS]
        seclists = list(self.root.iter("SECLIST"))
        if severity == "ERROR" or (code not in (None, "0") and not statements):
            raise ParseError(
                f"{self.source}: the institution refused the sign-on (status {code} "
                f"{severity or ''}: {message or 'no message'}); no statement in this response. "
                "Check the OFX user, password, ORG and FID."
            )
        for trnrs in self.root.iter():
            if trnrs.tag in _TRNRS and not any(c.tag in _STATEMENTS for c in trnrs):
                logger.warning(
                    "%s: %s without a statement: status %s %s", self.source, trnrs.tag,
                    _text(trnrs, "STATUS/CODE"), _text(trnrs, "STATUS/MESSAGE") or "",
                )
        if not statements and not seclists:
            raise ParseError(
                f"{self.source}: an OFX file without a statement: expected a bank (STMTRS), "
                "credit card (CCSTMTRS) or investment (INVSTMTRS) statement, or a SECLIST"
            )
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
            raise ParseError(f"{self.source}: <{rs.tag}> has no {_STATEMENTS[rs.tag]}/ACCTID")
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

    def _reject(self, table: str, el: ET.Element, reason: str) -> None:
        self.out.append(Rejected(table=table, reason=f"<{el.tag}>: {reason}", raw=_leaves(el),
                                 source_url=self.source))

    def _stmttrn(self, trn: ET.Element, account_id: str, currency: str | None,
                 details: dict | None = None) -> None:
        try:
            posted = _date(trn, "DTPOSTED", required=True)
            amount = _amount(trn, "TRNAMT", required=True)
            user = _date(trn, "DTUSER")
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
        key = (record.account_id, record.transaction_id)
        earlier = self.transactions.get(key)
        if earlier is None:
            self.transactions[key] = record
        elif earlier != record:
            reason = f"FITID {record.transaction_id} is used twice in this file with different content"
            if el is not None:
                self._reject("finance.transactions", el, reason)
            else:
                self.out.append(Rejected(table="finance.transactions", reason=reason,
                                         raw=record.to_json(), source_url=self.source))
        # the same transaction twice (overlapping statements in one file): keep one

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
            when = (_date(el, asof_path) if asof_path else None) or default or self.server_time
            if when is None:
                raise _Bad("no DTASOF, statement date or DTSERVER to date it")
        except _Bad as exc:
            self._reject("finance.balances", el, str(exc))
            return
        self.out.append(Balance(
            account_id=account_id, as_of=when[0], as_of_time=when[1], balance_type=kind,
            amount=amount, currency=_text(el, "CURRENCY/CURSYM") or currency, source=SOURCE,
        ))

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
            trade = _date(invtran, "DTTRADE", required=True)
            settle = _date(invtran, "DTSETTLE")
            values = {name: _amount(el, f".//{tag}") for name, tag in (
                ("units", "UNITS"), ("unit_price", "UNITPRICE"), ("commission", "COMMISSION"),
                ("fees", "FEES"), ("total", "TOTAL"))}
        except _Bad as exc:
            self._reject("finance.investment_transactions", el, str(exc))
            return
        subtype = next((_text(el, f".//{t}") for t in _INV_SUBTYPES if _text(el, f".//{t}")), None)
        self.out.append(InvestmentTransaction(
            account_id=account_id, transaction_id=fitid, source=SOURCE, trade_date=trade[0],
            settle_date=settle[0] if settle else None, action=el.tag, subtype=subtype,
            security_id=self._security_id(el), currency=_text(el, ".//CURRENCY/CURSYM") or currency,
            memo=_text(invtran, "MEMO"), subaccount_sec=_text(el, ".//SUBACCTSEC"),
            subaccount_fund=_text(el, ".//SUBACCTFUND"), **values,
        ))

    def _position(self, pos: ET.Element, account_id: str, currency: str | None, asof) -> None:
        invpos = pos.find("INVPOS")
        try:
            if invpos is None:
                raise _Bad("no INVPOS")
            security_id = self._security_id(invpos)
            if not security_id:
                raise _Bad("INVPOS/SECID is missing")
            price_asof = _date(invpos, "DTPRICEASOF")
            when = asof or price_asof
            if when is None:
                raise _Bad("neither the statement DTASOF nor DTPRICEASOF is given")
            values = {name: _amount(invpos, tag) for name, tag in (
                ("units", "UNITS"), ("unit_price", "UNITPRICE"), ("market_value", "MKTVAL"))}
        except _Bad as exc:
            self._reject("finance.holdings", pos, str(exc))
            return
        self.out.append(Holding(
            account_id=account_id, security_id=security_id, as_of=when[0],
            held_in=_text(invpos, "HELDINACCT") or "OTHER", source=SOURCE,
            position_type=_text(invpos, "POSTYPE"),
            currency=_text(invpos, "CURRENCY/CURSYM") or currency,
            price_as_of=price_asof[1] if price_asof else None, memo=_text(invpos, "MEMO"),
            **values,
        ))

    def _security(self, info: ET.Element) -> None:
        secinfo = info.find("SECINFO")
        secid = secinfo.find("SECID") if secinfo is not None else None
        uid, kind = _text(secid, "UNIQUEID"), _text(secid, "UNIQUEIDTYPE")
        if not uid or not kind:
            self._reject("finance.securities", info, "SECINFO/SECID is incomplete")
            return
        try:
            price = _amount(secinfo, "UNITPRICE")
            asof = _date(secinfo, "DTASOF")
        except _Bad as exc:
            self._reject("finance.securities", info, str(exc))
            return
        security_id = f"{kind}:{uid}"
        self.securities[security_id] = Security(
            security_id=security_id, id_type=kind, unique_id=uid, source=SOURCE,
            name=_text(secinfo, "SECNAME"), ticker=_text(secinfo, "TICKER"),
            security_type=_SECURITY_TYPES.get(info.tag, info.tag.lower()),
            currency=(_text(secinfo, "CURRENCY/CURSYM") or "").upper() or None,
            unit_price=price, price_as_of=asof[1] if asof else None,
        )


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
    from ofxtools.Client import CcStmtRq, InvStmtRq, OFXClient, StmtRq

    required = ("PDE_OFX_URL", "PDE_OFX_USER", "PDE_OFX_PASSWORD", "PDE_OFX_ACCTID")
    missing = [name for name in required if not env.get(name)]
    if missing:
        raise ValueError(
            f"OFX Direct Connect needs the environment variables {', '.join(missing)} "
            "(see scrapers/finance/ofx_statements.py); or crawl downloaded files with -a url=..."
        )
    now = now or dt.datetime.now(dt.timezone.utc)
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
    file_suffixes = (".ofx", ".qfx")

    args = (
        Arg("url", "downloaded statements: a folder (its *.ofx / *.qfx), a file, a glob or a comma list; "
            "default: the folder PDE_OFX_DIR and/or Direct Connect (PDE_OFX_URL)", example="~/Downloads/statements"),
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
            url, body, headers = direct_connect_request(os.environ, days=self.days)
            yield scrapy.Request(url, method="POST", body=body, headers=headers,
                                 callback=self.parse, dont_filter=True)

    def parse(self, response):
        yield from parse_ofx(response.body, source_name(response.url))
