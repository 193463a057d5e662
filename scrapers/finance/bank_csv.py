"""Bank CSV exports (Schwab, Capital One, PC Financial, N26, Outbank, Mint...) into finance.*.

Reads CSV files downloaded from a bank's website. Which bank a file comes from
is recognised from its header line against the profiles in
scrapers/finance/bank_profiles.toml; a new bank is a new profile there, not
code. Rows carry no bank id, so each gets ``csv:<sha1 of account|date|amount|
description|n>``: the same file twice never duplicates, two identical coffees
on one day stay two.

Arguments:
- ``-a url=~/Downloads/bank`` a folder (its *.csv files), a file, a glob or a comma list;
  without it (scheduled runs) the folder ``PDE_BANK_CSV_DIR``. Loading a file again
  changes nothing.
- ``-a account=everyday-checking`` the account, for files that have no account
  column (default: the file name without extension, which changes with every
  download, so pass it).
- ``-a profile=schwab_checking`` force a profile instead of recognising it.

Credentials: none (files only).

Parsing
-------
Bank CSV exports to finance records, driven by profiles kept as data.

Each bank's layout is a table in ``bank_profiles.toml`` (columns, date format,
sign convention, debit/credit columns, decimal comma, delimiter, currency). The
profile is recognised from the header; a file whose header matches none is
refused with the closest profile and the columns that differ.

A whole file is read before any record is returned: a structural break (a row
with the wrong number of fields, broken quoting) raises ParseError with the
line number and nothing is loaded. A row whose date or amount cannot be read is
returned as Rejected with its line number; the other rows load.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import re
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path

import scrapy

from pde.records import Record, Rejected
from pde.sources import Arg, ArgError, ParseError, suggest
from scrapers.finance.common import (
    content_ids,
    expand_files,
    file_stem,
    mask,
    parse_amount,
    slug,
    source_name,
)
from scrapers.finance.records import Account, Balance, Institution, Transaction
from scrapers.spider import PdeSpider

logger = logging.getLogger(__name__)

PROFILES_PATH = Path(__file__).with_name("bank_profiles.toml")
SOURCE = "csv"
HEADER_SEARCH_LINES = 15


@dataclass
class Profile:
    name: str
    institution: str
    columns: list[str]
    date: str
    date_format: str
    delimiter: str = ","
    decimal: str = "."
    thousands: str = ","
    encoding: str = "utf-8-sig"
    user_date: str | None = None
    amount: str | None = None
    sign: str = "normal"
    debit: str | None = None
    credit: str | None = None
    direction: str | None = None
    debit_values: list[str] = field(default_factory=list)
    payee: str | None = None
    memo: str | list[str] | None = None
    category: str | list[str] | None = None
    account: str | None = None
    currency: str | None = None
    currency_column: str | None = None
    balance: str | None = None
    check_number: str | None = None
    type: str | None = None
    reference: str | None = None
    status: str | None = None
    pending_values: list[str] = field(default_factory=list)
    account_type: str | None = None
    skip_rows_matching: str | None = None

    @classmethod
    def from_table(cls, name: str, table: dict) -> Profile:
        known = {f.name for f in fields(cls)} - {"name"}
        unknown = sorted(set(table) - known)
        where = f"{PROFILES_PATH.name} [{name}]"
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
        try:
            profile = cls(name=name, **table)
        except TypeError as exc:
            raise ValueError(f"{where}: {exc}") from None
        profile.check(where)
        return profile

    def check(self, where: str) -> None:
        modes = [bool(self.amount and not self.direction), bool(self.debit and self.credit),
                 bool(self.amount and self.direction)]
        if sum(modes) != 1:
            raise ValueError(f"{where}: give `amount`, or `debit` and `credit`, or `amount` "
                             "with `direction` and `debit_values`")
        if self.sign not in ("normal", "inverted"):
            raise ValueError(f"{where}: sign must be 'normal' or 'inverted'")
        if not (self.currency or self.currency_column):
            raise ValueError(f"{where}: give `currency` or `currency_column`")
        cols = {c.casefold() for c in self.columns}
        for col in self.mapped():
            if col.casefold() not in cols:
                raise ValueError(f"{where}: maps column {col!r}, which is not in `columns`")

    def mapped(self) -> list[str]:
        out = []
        for name in ("date", "user_date", "amount", "debit", "credit", "direction", "payee",
                     "account", "currency_column", "balance", "check_number", "type",
                     "reference", "status"):
            if getattr(self, name):
                out.append(getattr(self, name))
        for name in ("memo", "category"):
            value = getattr(self, name)
            out.extend([value] if isinstance(value, str) else value or [])
        return out


def load_profiles(path: Path = PROFILES_PATH) -> dict[str, Profile]:
    with open(path, "rb") as f:
        data = tomllib.load(f)
    return {name: Profile.from_table(name, table) for name, table in data.items()}


def _norm(column: str) -> str:
    return " ".join(column.replace("\ufeff", "").split()).casefold()


def _header_cells(cells: list[str]) -> list[str]:
    cells = [c.replace("\ufeff", "").strip() for c in cells]
    while cells and not cells[-1]:
        cells.pop()  # a trailing delimiter
    return cells


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def decode(body: bytes, encoding: str = "utf-8-sig") -> str:
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def recognise(text: str, profiles: dict[str, Profile], source: str,
              only: str | None = None) -> tuple[Profile, int, list[str]]:
    """(profile, index of the header line, header cells) or ParseError naming the closest."""
    if only:
        if only not in profiles:
            raise ParseError(f"{source}: no bank profile named {only!r}; known: {sorted(profiles)}")
        profiles = {only: profiles[only]}
    lines = _lines(text)
    candidates = [(i, line) for i, line in enumerate(lines[:HEADER_SEARCH_LINES]) if line.strip()]
    if not candidates:
        raise ParseError(f"{source}: empty file: expected a bank CSV export with a header line")
    best = None  # (overlap, -differences, profile, header)
    for index, line in candidates:
        for profile in profiles.values():
            cells = _header_cells(next(csv.reader([line], delimiter=profile.delimiter)))
            header = {_norm(c) for c in cells}
            expected = {_norm(c) for c in profile.columns}
            if header == expected and len(cells) == len(profile.columns):
                return profile, index, cells
            overlap = len(header & expected)
            score = (overlap, -len(header ^ expected))
            if best is None or score > best[0]:
                best = (score, profile, cells)
    _, profile, cells = best
    header = {_norm(c) for c in cells}
    missing = [c for c in profile.columns if _norm(c) not in header]
    expected = {_norm(c) for c in profile.columns}
    extra = [c for c in cells if _norm(c) not in expected]
    raise ParseError(
        f"{source}: the header matches no bank profile in {PROFILES_PATH.name}. Closest is "
        f"{profile.name!r} ({profile.institution}): missing columns {missing}, unexpected "
        f"columns {extra}. Add a profile for this layout (a new table in "
        f"scrapers/finance/{PROFILES_PATH.name})."
    )


def parse_bank_csv(body: bytes, source: str, profiles: dict[str, Profile], *,
                   account: str | None = None, fallback_account: str | None = None,
                   profile_name: str | None = None) -> list[Record | Rejected]:
    """Every record of one CSV export, or ParseError; nothing is returned half."""
    text = decode(body)
    profile, header_index, header = recognise(text, profiles, source, profile_name)
    if profile.encoding.lower() not in ("utf-8-sig", "utf-8", "utf8"):
        text = decode(body, profile.encoding)
    return _Parser(profile, header, source, account, fallback_account).parse(text, header_index)


class _Bad(ValueError):
    pass


class _Parser:
    def __init__(self, profile: Profile, header: list[str], source: str,
                 account: str | None, fallback_account: str | None) -> None:
        self.p = profile
        self.header = header
        self.index = {_norm(c): i for i, c in enumerate(header)}
        self.source = source
        self.account_arg = account
        self.fallback_account = fallback_account
        self.institution_id = f"csv:{slug(profile.institution)}"
        self.skip = re.compile(profile.skip_rows_matching) if profile.skip_rows_matching else None
        self.mapped = {_norm(c) for c in profile.mapped()}

    def cell(self, row: list[str], column: str | None) -> str | None:
        if not column:
            return None
        value = row[self.index[_norm(column)]].strip()
        return value or None

    def cells(self, row: list[str], columns: str | list[str] | None, sep: str) -> str | None:
        if not columns:
            return None
        columns = [columns] if isinstance(columns, str) else columns
        values = [v for v in (self.cell(row, c) for c in columns) if v]
        return sep.join(values) or None

    def date(self, row: list[str], column: str | None, required: bool) -> dt.date | None:
        raw = self.cell(row, column)
        if raw is None:
            if required:
                raise _Bad(f"{column} is empty")
            return None
        try:
            return dt.datetime.strptime(raw, self.p.date_format).date()
        except ValueError:
            raise _Bad(f"{column} {raw!r} is not a date like {self.p.date_format}") from None

    def money(self, row: list[str], column: str | None) -> Decimal | None:
        raw = self.cell(row, column)
        try:
            return parse_amount(raw, decimal=self.p.decimal, thousands=self.p.thousands or None)
        except ValueError:
            raise _Bad(f"{column} {raw!r} is not an amount") from None

    def amount(self, row: list[str]) -> Decimal:
        p = self.p
        if p.debit and p.credit:
            debit, credit = self.money(row, p.debit), self.money(row, p.credit)
            if debit is None and credit is None:
                raise _Bad(f"both {p.debit} and {p.credit} are empty")
            return (credit or Decimal(0)) - abs(debit or Decimal(0))
        value = self.money(row, p.amount)
        if value is None:
            raise _Bad(f"{p.amount} is empty")
        if p.direction:
            way = (self.cell(row, p.direction) or "").casefold()
            if not way:
                raise _Bad(f"{p.direction} is empty")
            out = way in {v.casefold() for v in p.debit_values}
            return -abs(value) if out else abs(value)
        return -value if p.sign == "inverted" else value

    def rows(self, text: str, header_index: int):
        body = "\n".join(_lines(text)[header_index + 1:])
        reader = csv.reader(io.StringIO(body), delimiter=self.p.delimiter, strict=True)
        width = len(self.header)
        try:
            for row in reader:
                line = header_index + 1 + reader.line_num
                if not any(c.strip() for c in row):
                    continue
                if self.skip and self.skip.search(row[0]):
                    continue
                while len(row) > width and not row[-1].strip():
                    row = row[:-1]  # trailing delimiters
                if len(row) != width:
                    raise ParseError(
                        f"{self.source}: line {line} has {len(row)} fields where the "
                        f"{self.p.name!r} header has {width}: the file is cut or damaged; "
                        "nothing was loaded from it"
                    )
                yield line, row
        except csv.Error as exc:
            raise ParseError(f"{self.source}: line {header_index + 1 + reader.line_num}: "
                             f"broken CSV ({exc}); nothing was loaded from it") from None

    def parse(self, text: str, header_index: int) -> list[Record | Rejected]:
        p = self.p
        good: list[tuple[int, Transaction]] = []
        rejected: list[Rejected] = []
        accounts: dict[str, Account] = {}
        for line, row in self.rows(text, header_index):
            try:
                account = self.cell(row, p.account) or self.account_arg or self.fallback_account
                if not account:
                    raise _Bad("no account: the file has no account column; pass -a account=...")
                currency = p.currency or self.cell(row, p.currency_column)
                if not currency:
                    raise _Bad(f"{p.currency_column} is empty")
                posted = self.date(row, p.date, required=True)
                user = self.date(row, p.user_date, required=False)
                amount = self.amount(row)
                balance = self.money(row, p.balance)
            except _Bad as exc:
                rejected.append(Rejected(
                    table="finance.transactions", reason=f"line {line}: {exc}",
                    raw=dict(zip(self.header, row)), source_url=self.source,
                ))
                continue
            account_id = f"csv:{slug(p.institution)}:{account}"
            accounts.setdefault(account_id, Account(
                account_id=account_id, source=SOURCE, institution_id=self.institution_id,
                number=account, mask=mask(account), name=account, type=p.account_type,
                currency=currency.upper(),
            ))
            status = self.cell(row, p.status)
            details = {c: v.strip() for c, v in zip(self.header, row)
                       if v.strip() and _norm(c) not in self.mapped}
            details["profile"] = p.name
            good.append((line, Transaction(
                account_id=account_id, transaction_id="", source=SOURCE, posted_date=posted,
                user_date=user, amount=amount, currency=currency.upper(),
                payee=self.cell(row, p.payee), memo=self.cells(row, p.memo, " | "),
                trn_type=self.cell(row, p.type), check_number=self.cell(row, p.check_number),
                reference=self.cell(row, p.reference),
                pending=(status in p.pending_values) if p.status else None,
                balance_after=balance, category_source=self.cells(row, p.category, " / "),
                details=details,
            )))
        if not p.account and not self.account_arg and good:
            logger.warning("%s: no account column and no -a account=: the account is the file "
                           "name %r", self.source, self.fallback_account)
        transactions = [t for _, t in good]
        ids = content_ids([(t.account_id, t.posted_date, t.amount,
                            " ".join(filter(None, (t.payee, t.memo)))) for t in transactions])
        for t, tid in zip(transactions, ids):
            t.transaction_id = tid
        institution = Institution(institution_id=self.institution_id, source=SOURCE,
                                  name=p.institution)
        return [institution, *accounts.values(), *transactions,
                *self.balances(good), *rejected]

    def balances(self, good: list[tuple[int, Transaction]]) -> list[Balance]:
        """The running balance at the end of the newest day of each account."""
        out = []
        by_account: dict[str, list[tuple[int, Transaction]]] = {}
        for line, t in good:
            if t.balance_after is not None:
                by_account.setdefault(t.account_id, []).append((line, t))
        for account_id, rows in by_account.items():
            dates = [t.posted_date for _, t in rows]
            newest_first = dates == sorted(dates, reverse=True) and dates != sorted(dates)
            last_day = max(dates)
            same_day = [t for _, t in rows if t.posted_date == last_day]
            t = same_day[0] if newest_first else same_day[-1]
            out.append(Balance(account_id=account_id, as_of=last_day, balance_type="ledger",
                               amount=t.balance_after, currency=t.currency, source=SOURCE))
        return out


class BankCsvSpider(PdeSpider):
    name = "bank_csv"
    area = "finance"
    file_suffixes = (".csv",)

    args = (
        Arg("url", "downloaded CSV files: a folder (its *.csv), a file, a glob or a comma list; "
            "default: the folder PDE_BANK_CSV_DIR", example="~/Downloads/bank"),
        Arg("account", "the account, for files with no account column (default: the file name, "
            "which changes with every download, so pass it)", example="everyday-checking"),
        Arg("profile", "a bank profile of bank_profiles.toml, instead of recognising the file's header",
            example="schwab_checking"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.profiles = load_profiles()

    @classmethod
    def check_args(cls, values):
        profiles = load_profiles()
        if values.get("profile") and values["profile"] not in profiles:
            raise ArgError(f"-a profile={values['profile']} is not allowed{suggest(values['profile'], profiles) or ':'} "
                           f"profile takes one of {', '.join(sorted(profiles))} (scrapers/finance/bank_profiles.toml)")

    @classmethod
    def check_ready(cls, values, settings=None):
        super().check_ready(values, settings)
        if not values.get("url") and not os.environ.get("PDE_BANK_CSV_DIR"):
            raise ArgError("bank_csv reads downloaded files: pass -a url=<file, folder or glob> "
                           "or set PDE_BANK_CSV_DIR to the folder where you save exports")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        spec = self.url or os.environ.get("PDE_BANK_CSV_DIR")
        if not spec:
            raise ValueError("bank_csv reads downloaded files: pass -a url=<file, folder or glob> "
                             "or set PDE_BANK_CSV_DIR to the folder where you save exports")
        for target in expand_files(spec, self.file_suffixes):
            yield scrapy.Request(target, callback=self.parse, dont_filter=True)

    def parse(self, response):
        yield from parse_bank_csv(
            response.body, source_name(response.url), self.profiles, account=self.account,
            fallback_account=file_stem(response.url), profile_name=self.profile,
        )
