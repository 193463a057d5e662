"""Bank CSV exports (Chase, Bank of America, Schwab, Fidelity, Venmo, N26, ING...) into finance.*.

Reads CSV files downloaded from a bank's website. Which bank a file comes from
is recognised from its header line against the profiles in
scrapers/finance/bank_profiles.toml and the user's own $PDE_HOME/bank_profiles.toml;
a new bank is a new profile there, not code. A layout no profile knows loads
with a guessed mapping when its columns are clear (said in the run's message and
saved as a user profile), else the run fails with the `pde csv-profile` command
that writes one. Rows carry no bank id, so each gets ``csv:<sha1 of account|date|amount|
description|n>``: the same file twice never duplicates, two identical coffees
on one day stay two.

Arguments:
- ``-a url=~/Downloads/bank`` a folder (its *.csv files), a file, a glob or a comma list;
  without it (scheduled runs) the folder ``PDE_BANK_CSV_DIR``. Loading a file again
  changes nothing.
- ``-a account=everyday-checking`` the account, for files that have no account
  column (default: the file name without extension, which changes with every
  download, so pass it).
- ``-a profile=schwab_checking`` force a profile (the project's or your own) instead of
  recognising it.

Credentials: none (files only).

Parsing
-------
Bank CSV exports to finance records, driven by profiles kept as data.

Each bank's layout is a table in ``bank_profiles.toml`` (columns, date format,
sign convention, debit/credit columns, decimal comma, delimiter, currency); the
user's own layouts live in ``$PDE_HOME/bank_profiles.toml`` (same keys, never a
tracked file). A file is recognised by its header line, which may follow
preamble lines, or, for header-less exports, by the shape of its rows.

A file no profile knows is read with a guessed mapping when its columns can be
recognised with confidence (a date, an amount or a debit/credit pair, a
description, and a sign that is not in doubt); the guess is said in the run and
saved as a user profile. An ambiguous file is refused with the exact
``pde csv-profile`` command that writes a mapping for it. Files that are not
statements (an Amazon order history, a Stripe export) are refused as such.

A structural break (a row with the wrong number of fields in the middle, broken
quoting) raises ParseError with the line number and nothing is loaded. A row
whose date or amount cannot be read is returned as Rejected with its line
number; the other rows load. Title, section and total lines are skipped and
logged, never read as transactions.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import sys
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path

import scrapy

from pde.db import pde_home
from pde.records import Record, Rejected
from pde.sources import Arg, ArgError, ParseError, suggest
from scrapers.finance.common import content_ids, expand_files, file_stem, mask, parse_amount, slug, source_name
from scrapers.finance.records import Account, Balance, Institution, Transaction
from scrapers.spider import PdeSpider

logger = logging.getLogger(__name__)

PROFILES_PATH = Path(__file__).with_name("bank_profiles.toml")
USER_PROFILES_NAME = "bank_profiles.toml"
SOURCE = "csv"
HEADER_SEARCH_LINES = 200  # Vanguard puts a whole holdings table before its transactions
DELIMITERS = (",", ";", "\t", "|")
CLOSE_ENOUGH = 0.6  # share of columns two headers must have in common to call a profile "close"
NOT_A_STATEMENT = "not_a_statement"


def user_profiles_path() -> Path:
    """The user's own profiles (guessed or written by `pde csv-profile`): under PDE_HOME."""
    return pde_home() / USER_PROFILES_NAME


@dataclass
class Profile:
    name: str
    institution: str
    columns: list[str]
    date: str
    date_format: str | list[str]
    sample: str | None = None
    unverified: bool = False
    notes: str | None = None
    guessed: str | None = None
    match: str = "exact"
    headerless: bool = False
    row_patterns: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","
    decimal: str = "."
    thousands: str = ","
    encoding: str = "utf-8-sig"
    date_strip: str | None = None
    user_date: str | None = None
    amount: str | None = None
    sign: str = "normal"
    fee: str | None = None
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
    skip_if_empty: list[str] = field(default_factory=list)
    #: "project" or "user" (from $PDE_HOME): not a TOML key; a user's profile wins a tie
    origin: str = field(default="project", compare=False)

    @classmethod
    def from_table(cls, name: str, table: dict, where: str | None = None) -> Profile:
        known = {f.name for f in fields(cls)} - {"name", "origin"}
        unknown = sorted(set(table) - known)
        where = where or f"{PROFILES_PATH.name} [{name}]"
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
        if self.match not in ("exact", "contains"):
            raise ValueError(f"{where}: match must be 'exact' or 'contains'")
        if not (self.currency or self.currency_column):
            raise ValueError(f"{where}: give `currency` or `currency_column`")
        if self.sample and (self.unverified or self.guessed):
            raise ValueError(f"{where}: a profile with a `sample` is verified; drop `unverified`/`guessed`")
        cols = {_norm(c) for c in self.columns}
        for col in [*self.mapped(), *self.row_patterns, *self.skip_if_empty]:
            if _norm(col) not in cols:
                raise ValueError(f"{where}: maps column {col!r}, which is not in `columns`")

    @property
    def formats(self) -> list[str]:
        return [self.date_format] if isinstance(self.date_format, str) else list(self.date_format)

    @property
    def verified(self) -> bool:
        return bool(self.sample)

    def mapped(self) -> list[str]:
        out = []
        for name in ("date", "user_date", "amount", "fee", "debit", "credit", "direction", "payee",
                     "account", "currency_column", "balance", "check_number", "type",
                     "reference", "status"):
            if getattr(self, name):
                out.append(getattr(self, name))
        for name in ("memo", "category"):
            value = getattr(self, name)
            out.extend([value] if isinstance(value, str) else value or [])
        return out

    def to_toml(self) -> str:
        """This profile as a TOML table (for the user's profile file)."""
        lines = [f"[{self.name}]"]
        defaults = {f.name: f.default for f in fields(self) if f.default is not dataclasses.MISSING}
        for f in fields(self):
            if f.name in ("name", "origin"):
                continue
            value = getattr(self, f.name)
            if value is None or value == [] or value == {} or (f.name in defaults and value == defaults[f.name]):
                continue
            lines.append(f"{f.name} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} to TOML")


@dataclass
class NotStatement:
    """A kind of CSV that is not a bank, card or brokerage statement."""

    name: str
    what: str
    columns: list[str]


def _read_toml(path: Path) -> dict:
    with open(path, "rb") as f:
        try:
            return tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML ({exc})") from None


def load_profiles(path: Path = PROFILES_PATH) -> dict[str, Profile]:
    """The profiles of one file (the project's, or a user's) by name."""
    data = _read_toml(path)
    where = (lambda n: f"{PROFILES_PATH.name} [{n}]") if path == PROFILES_PATH else (lambda n: f"{path} [{n}]")
    profiles = {name: Profile.from_table(name, table, where(name))
                for name, table in data.items() if name != NOT_A_STATEMENT}
    if path == PROFILES_PATH:  # the project's own: each says what it was checked against
        for p in profiles.values():
            if not (p.sample or p.unverified):
                raise ValueError(f"{where(p.name)}: name the real export it was checked against "
                                 "(`sample = \"...\"`) or mark it `unverified = true`")
    return profiles


def load_not_statements(path: Path = PROFILES_PATH) -> list[NotStatement]:
    data = _read_toml(path).get(NOT_A_STATEMENT, {})
    return [NotStatement(name=name, what=t["what"], columns=t["columns"]) for name, t in data.items()]


def load_all_profiles(user_path: Path | None = None) -> dict[str, Profile]:
    """The project's profiles plus the user's own ($PDE_HOME/bank_profiles.toml), the user's winning."""
    profiles = load_profiles()
    user_path = user_path or user_profiles_path()
    if user_path.exists():
        for name, profile in load_profiles(user_path).items():
            profile.origin = "user"
            profiles[name] = profile
    return profiles


def save_user_profile(profile: Profile, path: Path | None = None) -> Path:
    """Write (or replace) one table in the user's profile file, keeping the others as written."""
    path = path or user_profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else (
        "# Your own bank CSV layouts for pde (same keys as scrapers/finance/bank_profiles.toml).\n"
        "# Written by `pde csv-profile` and by crawls that guessed a layout; edit freely.\n")
    blocks = re.split(r"(?m)^(?=\[)", text)
    kept = [b for b in blocks if not b.startswith(f"[{profile.name}]\n")]
    new = "".join(kept).rstrip("\n") + "\n\n" + profile.to_toml()
    Profile.from_table(profile.name, tomllib.loads(profile.to_toml())[profile.name], f"{path} [{profile.name}]")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)
    return path


# -- text helpers ----------------------------------------------------------------------------------


def _norm(column: str) -> str:
    return " ".join(column.replace("\ufeff", "").split()).casefold()


def _header_cells(cells: list[str]) -> list[str]:
    cells = [c.replace("\ufeff", "").strip() for c in cells]
    while cells and not cells[-1]:
        cells.pop()  # a trailing delimiter
    return cells


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def decode(body: bytes, encoding: str = "utf-8-sig") -> str:
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


_TIME = re.compile(r"[T ,]*\d{1,2}:\d{2}(:\d{2})?.*$")
DATE_SHAPE = re.compile(r"\s*(\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{8}\b|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}"
                        r"|\d{1,2}[ -][A-Za-z]{3,9}\.?[ -]\d{2,4})")
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y", "%d.%m.%y",
                "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%d %b %Y", "%d %B %Y", "%d-%b-%y", "%d-%b-%Y",
                "%Y%m%d", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d")


def _date_text(raw: str, strip: re.Pattern | None = None) -> str:
    text = raw.strip()
    if strip:
        text = strip.sub("", text)
    return _TIME.sub("", text).strip() if _TIME.search(text) and text[:1].isalnum() else text


def parse_date(raw: str, formats: list[str], strip: re.Pattern | None = None) -> dt.date:
    text = _date_text(raw, strip)
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(raw)


def formats_reading_all(values: list[str], formats=DATE_FORMATS, strip: re.Pattern | None = None) -> list[str]:
    """The formats that read every value (in the order given)."""
    out = []
    for fmt in formats:
        try:
            for v in values:
                parse_date(v, [fmt], strip)
        except ValueError:
            continue
        out.append(fmt)
    return out


# -- recognising a file ----------------------------------------------------------------------------


@dataclass
class Detected:
    profile: Profile
    header_index: int  # -1: no header line (rows start at the first non-empty line)
    header: list[str]
    guess: Guess | None = None  # set when the profile was guessed for this file


def _similarity(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def closest_profile(header: list[str], profiles: dict[str, Profile]) -> tuple[Profile, float] | None:
    """The profile sharing the most columns with this header, if it is really close (>= 60%)."""
    cells = {_norm(c) for c in header}
    scored = [(_similarity(cells, {_norm(c) for c in p.columns}), p) for p in profiles.values() if not p.headerless]
    if not scored:
        return None
    score, profile = max(scored, key=lambda s: s[0])
    return (profile, score) if score >= CLOSE_ENOUGH else None


def _differences(profile: Profile, header: list[str]) -> str:
    cells = {_norm(c) for c in header}
    expected = {_norm(c) for c in profile.columns}
    missing = [c for c in profile.columns if _norm(c) not in cells]
    extra = [c for c in header if _norm(c) not in expected]
    return f"missing columns {missing}, unexpected columns {extra}"


def _header_matches(profile: Profile, cells: list[str]) -> bool:
    header = [_norm(c) for c in cells]
    expected = [_norm(c) for c in profile.columns]
    if profile.match == "contains":
        return set(expected) <= set(header)
    return set(header) == set(expected) and len(header) == len(expected)


def _find_header(lines: list[str], profiles: list[Profile]) -> tuple[Profile, int, list[str]] | None:
    """The first line that is the header of a profile: (profile, line index, cells)."""
    by_delimiter: dict[str, list[Profile]] = {}
    for p in profiles:
        if not p.headerless:
            by_delimiter.setdefault(p.delimiter, []).append(p)
    for index, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        if not line.strip():
            continue
        hits = []
        for delimiter, group in by_delimiter.items():
            if delimiter not in line:
                continue
            cells = _header_cells(_split(line, delimiter))
            for p in group:
                if _header_matches(p, cells):
                    hits.append((p.origin == "user", p.match == "exact", len(p.columns), p, cells))
        if hits:
            *_, profile, cells = max(hits, key=lambda h: h[:3])
            return profile, index, cells
    return None


def _headerless_match(lines: list[str], profile: Profile) -> bool:
    rows = [_split(line, profile.delimiter) for line in lines if line.strip()][:5]
    if not rows:
        return False
    patterns = {profile.columns.index(next(c for c in profile.columns if _norm(c) == _norm(k))): re.compile(v)
                for k, v in profile.row_patterns.items()}
    date_at = [_norm(c) for c in profile.columns].index(_norm(profile.date))
    strip = re.compile(profile.date_strip) if profile.date_strip else None
    for row in rows:
        row = _header_cells(row) if len(row) > len(profile.columns) else row
        if len(row) != len(profile.columns):
            return False
        if any(not rx.fullmatch(row[i].strip()) for i, rx in patterns.items()):
            return False
        try:
            parse_date(row[date_at], profile.formats, strip)
        except ValueError:
            return False
    return True


def _not_a_statement(lines: list[str], kinds: list[NotStatement]) -> NotStatement | None:
    for line in lines[:HEADER_SEARCH_LINES]:
        if not line.strip():
            continue
        for delimiter in DELIMITERS:
            if delimiter not in line:
                continue
            cells = {_norm(c) for c in _split(line, delimiter)}
            for kind in kinds:
                if {_norm(c) for c in kind.columns} <= cells:
                    return kind
    return None


def recognise(text: str, profiles: dict[str, Profile], source: str, only: str | None = None,
              not_statements: list[NotStatement] | None = None) -> Detected:
    """Which layout this file has: a profile, a confident guess, or ParseError saying what to do."""
    lines = _lines(text)
    if not any(line.strip() for line in lines):
        raise ParseError(f"{source}: empty file: expected a bank CSV export with a header line")
    if only:
        if only not in profiles:
            raise ParseError(f"{source}: no bank profile named {only!r}; known: {sorted(profiles)}")
        forced = profiles[only]
        if forced.headerless:
            if _headerless_match(lines, forced):
                return Detected(forced, -1, list(forced.columns))
            raise ParseError(f"{source}: the rows do not have the shape of profile {only!r} "
                             f"({len(forced.columns)} columns: {forced.columns})")
        found = _find_header(lines, [forced])
        if found:
            return Detected(found[0], found[1], found[2])
        header = _likely_header(lines)
        raise ParseError(f"{source}: the header does not match the forced profile. Closest is {only!r} "
                         f"({forced.institution}): {_differences(forced, header)}")
    found = _find_header(lines, list(profiles.values()))
    if found:
        return Detected(found[0], found[1], found[2])
    kind = _not_a_statement(lines, load_not_statements() if not_statements is None else not_statements)
    if kind:
        raise ParseError(f"{source}: this is {kind.what}, not a bank, card or brokerage statement; "
                         "pde loads statements only, so nothing was loaded from it. Download the "
                         "account's transactions (CSV or OFX) from the bank instead.")
    for profile in profiles.values():
        if profile.headerless and _headerless_match(lines, profile):
            return Detected(profile, -1, list(profile.columns))
    guess = guess_layout(text)
    if guess.confident:
        profile = guess.profile()
        return Detected(profile, guess.header_index, guess.header, guess)
    raise ParseError(refusal_message(source, guess, profiles))


def _likely_header(lines: list[str]) -> list[str]:
    for line in lines[:HEADER_SEARCH_LINES]:
        if line.strip():
            delimiter = max(DELIMITERS, key=line.count)
            return _header_cells(_split(line, delimiter))
    return []


def refusal_message(source: str, guess: Guess, profiles: dict[str, Profile]) -> str:
    header = guess.header or []
    close = closest_profile(header, profiles) if header else None
    if close:
        profile, score = close
        nearest = (f"The closest known layout is {profile.name!r} ({profile.institution}, {score:.0%} of columns "
                   f"shared): {_differences(profile, header)}. ")
    else:
        nearest = "No bank profile in pde is close to this layout. "
    shown = f"columns {header}" if header else "no header line pde could find"
    return (f"{source}: the header matches no bank profile ({shown}). {nearest}"
            f"pde cannot read it with confidence: {'; '.join(guess.problems)}. "
            f"Write a mapping for it (it previews three parsed rows, then saves it in your own "
            f"{user_profiles_path()}): {guess.command(source)}")


# -- guessing an unknown layout --------------------------------------------------------------------

NAMES = {
    # posted-date names first: the first present wins, a transaction-date name then becomes user_date
    "date": ["posting date", "posted date", "post date", "booking date", "buchungstag", "buchung", "date",
             "datum", "fecha", "fecha operación", "date opération", "data", "completed date", "run date",
             "trade date", "transaction date", "trans. date", "trans date", "datetime", "created"],
    "user_date": ["transaction date", "trans. date", "trans date", "started date"],
    "amount": ["amount", "transaction amount", "betrag", "umsatz", "importe", "montant", "bedrag", "net amount",
               "net", "amount ($)", "amount (total)", "value", "sum", "belopp", "beløb", "kwota"],
    "debit": ["debit", "debit amount", "withdrawal", "withdrawals", "money out", "paid out", "soll", "débit",
              "outflow", "withdrawal (-)", "charges", "debits", "ausgang", "cargo", "af"],
    "credit": ["credit", "credit amount", "deposit", "deposits", "money in", "paid in", "haben", "crédit",
               "inflow", "deposit (+)", "payments", "credits", "eingang", "abono", "bij"],
    "payee": ["payee", "description", "name", "merchant", "merchant name", "transaction description",
              "partner name", "counterparty", "auftraggeber/empfänger", "empfänger",
              "beguenstigter/zahlungspflichtiger",
              "naam / omschrijving", "libellé", "concepto", "descripción", "desc", "narrative", "details", "text",
              "buchungstext", "verwendungszweck", "memo", "particulars", "reference", "note", "notes"],
    "balance": ["balance", "running balance", "runningbalance", "running bal.", "saldo", "kontostand", "solde",
                "balance after", "saldo na mutatie", "available balance"],
    "category": ["category", "kategorie", "categoría", "catégorie", "categorie"],
    "currency": ["currency", "währung", "waehrung", "moneda", "devise", "monn.", "ccy", "valuta"],
    "account": ["account", "account name", "account number", "kontonummer", "konto", "iban", "rekening"],
    "check_number": ["check number", "check #", "check or slip #", "checknumber", "check no.", "cheque number"],
    "direction": ["credit/debit", "debit/credit", "af bij", "dr/cr", "transaction type", "type", "direction",
                  "details"],
}
DEBIT_WORDS = {"debit", "dr", "af", "withdrawal", "out", "-", "d", "soll", "s", "débit"}
CREDIT_WORDS = {"credit", "cr", "bij", "deposit", "in", "+", "c", "haben", "h", "crédit"}
SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
ISO_IN_NAME = re.compile(r"\(([A-Z]{3})\)")
AMOUNT_WITH_UNIT = re.compile(r"(amount|betrag|montant|importe|bedrag|umsatz)\s*\(([a-z]{3}|[$€£])\)$")


def _decimal_of(values: list[str]) -> str | None:
    """'.' or ',' as the decimal mark of these amounts; None when they do not say."""
    comma = sum(1 for v in values if re.search(r"\d,\d{1,2}\s*\D*$", v) and not re.search(r"\d\.\d{1,2}\s*\D*$", v))
    dot = sum(1 for v in values if re.search(r"\d\.\d{1,2}\s*\D*$", v))
    if comma and not dot:
        return ","
    if dot and not comma:
        return "."
    return None if comma or any(re.search(r"\d[.,]\d{3}\s*\D*$", v) for v in values) else "."


def _amounts(values: list[str], decimal: str) -> list[Decimal] | None:
    thousands = "," if decimal == "." else "."
    try:
        return [parse_amount(v, decimal=decimal, thousands=thousands) for v in values]
    except ValueError:
        return None


@dataclass
class Guess:
    """What pde could tell about an unknown layout; `problems` empty = confident."""

    header_index: int = -1
    header: list[str] = field(default_factory=list)
    delimiter: str = ","
    choices: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    alternatives: dict = field(default_factory=dict)

    @property
    def confident(self) -> bool:
        return bool(self.header) and not self.problems

    def name(self) -> str:
        key = self.delimiter + "|".join(_norm(c) for c in self.header)
        return "guessed_" + hashlib.sha1(key.encode()).hexdigest()[:8]

    def profile(self, name: str | None = None, institution: str | None = None, origin: str | None = None) -> Profile:
        c = self.choices
        table = {k: v for k, v in c.items() if v not in (None, [], "")}
        table.update(institution=institution or c.get("institution") or "Unknown bank", columns=list(self.header),
                     delimiter=self.delimiter, guessed=origin or "guessed by pde from the file's columns",
                     thousands=c.get("thousands", "," if c.get("decimal", ".") == "." else "."))
        table.pop("name", None)
        return Profile.from_table(name or c.get("name") or self.name(), table, "guessed mapping")

    def command(self, path: str) -> str:
        c = self.choices
        parts = ["pde", "csv-profile", _quote(path)]
        if c.get("headerless"):
            parts += ["--columns", _quote(",".join(self.header))]
        for key, flag in (("date", "--date"), ("date_format", "--date-format"), ("amount", "--amount"),
                          ("debit", "--debit"), ("credit", "--credit"), ("direction", "--direction"),
                          ("sign", "--sign"), ("payee", "--description"), ("currency", "--currency"),
                          ("currency_column", "--currency-column")):
            value = c.get(key)
            if isinstance(value, list):
                value = value[0] if value else None
            if value and not (key == "sign" and value == "normal" and "sign" not in self.alternatives):
                parts += [flag, _quote(value)]
        if c.get("direction") and c.get("debit_values"):
            parts += ["--debit-values", _quote(",".join(c["debit_values"]))]
        if self.delimiter != ",":
            parts += ["--delimiter", _quote(self.delimiter)]
        text = " ".join(parts)
        if self.alternatives:
            text += " (" + "; ".join(f"{k}: one of {v}" for k, v in self.alternatives.items()) + ")"
        return text


def _quote(value: str) -> str:
    return value if re.fullmatch(r"[\w./%:@+-]+", value) else "'" + value.replace("'", "'\\''") + "'"


def _rows_after(lines: list[str], index: int, delimiter: str, width: int) -> list[list[str]]:
    body = "\n".join(lines[index + 1:])
    header = [_norm(c) for c in _header_cells(_split(lines[index], delimiter))]
    out = []
    try:
        for row in csv.reader(io.StringIO(body), delimiter=delimiter):
            if not any(c.strip() for c in row) or [_norm(c) for c in _header_cells(row)] == header:
                continue
            if len(row) > width and not any(c.strip() for c in row[width:]):
                row = row[:width]
            if len(row) == width:
                out.append(row)
    except csv.Error:
        return []
    return out


def _find_guess_header(lines: list[str]) -> tuple[int, str, list[str], list[list[str]]] | None:
    best = None
    for delimiter in DELIMITERS:
        for index, line in enumerate(lines[:HEADER_SEARCH_LINES]):
            if delimiter not in line:
                continue
            cells = _header_cells(_split(line, delimiter))
            named = [c for c in cells if c]
            if len(cells) < 3 or len(named) < 0.7 * len(cells):
                continue
            if any(DATE_SHAPE.match(c) or re.fullmatch(r"[-+($]*[\d.,' ]+\)?", c) for c in named):
                continue  # a data row, not a header
            rows = _rows_after(lines, index, delimiter, len(cells))
            dated = sum(1 for r in rows if any(DATE_SHAPE.match(c) for c in r))
            score = (dated, len(cells), index)  # the last of equal candidates: a title line is not the header
            if dated and (best is None or score > best[0]):
                best = (score, index, delimiter, cells, rows)
    return None if best is None else best[1:]


def guess_layout(text: str, overrides: dict | None = None) -> Guess:
    """Recognise date, amount(s), description... by their names and values; say what is in doubt."""
    o = {k: v for k, v in (overrides or {}).items() if v not in (None, "")}
    lines = _lines(text)
    g = Guess()
    found = _find_guess_header(lines)
    if o.get("delimiter") and (found is None or found[1] != o["delimiter"]):
        found = None
        for index, line in enumerate(lines[:HEADER_SEARCH_LINES]):
            cells = _header_cells(_split(line, o["delimiter"])) if line.strip() else []
            rows = _rows_after(lines, index, o["delimiter"], len(cells)) if len(cells) >= 2 else []
            if rows:
                found = (index, o["delimiter"], cells, rows)
                break
    if o.get("columns"):  # a file without a header line: the user names its columns
        first = next((line for line in lines if line.strip()), "")
        delimiter = o.get("delimiter") or max(DELIMITERS, key=first.count)
        width = len(o["columns"])
        rows = _rows_after(["", *lines], 0, delimiter, width)
        found = (-1, delimiter, list(o["columns"]), rows) if rows else None
        g.choices["headerless"] = True
        if not rows:
            g.problems.append(f"no row has the {width} fields that --columns names")
            return g
    if found is None:
        first = next((line for line in lines if line.strip()), "")
        fields_ = len(_split(first, max(DELIMITERS, key=first.count)))
        g.problems.append("no header line followed by rows of the same width was found: if the file has no "
                          f"header, name its {fields_} columns with --columns (e.g. "
                          f"--columns '{','.join(['Date', 'Amount', 'Description', 'Other'][:fields_])}')")
        return g
    g.header_index, g.delimiter, g.header, rows = found
    names = [_norm(c) for c in g.header]
    columns = {n: i for i, n in reversed(list(enumerate(names)))}

    def values(col: str) -> list[str]:
        i = columns[_norm(col)]
        return [r[i].strip() for r in rows if r[i].strip()]

    def named(role: str) -> list[str]:
        out = [g.header[columns[n]] for n in NAMES[role] if n in columns]
        if role == "amount":  # "Amount (EUR)", "Betrag (EUR)", "Amount ($)"
            out += [h for h in g.header if AMOUNT_WITH_UNIT.match(_norm(h)) and h not in out]
        return out

    def given(key: str) -> str | None:
        value = o.get(key)
        if value and _norm(value) not in columns:
            g.problems.append(f"--{key.replace('_', '-')} {value!r} is not a column of this file "
                              f"(columns: {g.header})")
            return None
        return value

    c = g.choices
    # -- dates
    date = given("date")
    date_cols = [col for col in named("date") if values(col) and formats_reading_all(values(col)[:200])]
    if not date:
        content = [g.header[i] for i in range(len(g.header))
                   if g.header[i] not in date_cols and values(g.header[i])
                   and len(values(g.header[i])) >= 0.9 * len(rows) and formats_reading_all(values(g.header[i])[:200])]
        candidates = date_cols or content
        if not candidates:
            g.problems.append("no column holds dates")
        else:
            date = candidates[0]
            if not date_cols and len(content) > 1:
                g.problems.append(f"several columns hold dates and none is named like a booking date: {content}")
                g.alternatives["date"] = content
    if date:
        c["date"] = date
        user = given("user_date") or next((u for u in named("user_date") if u != date and u in date_cols), None)
        c["user_date"] = user
        fmt = o.get("date_format")
        readable = formats_reading_all(values(date))
        if fmt:
            if fmt not in readable:
                g.problems.append(f"--date-format {fmt!r} does not read every value of {date!r}")
            c["date_format"] = fmt
        elif not readable:
            g.problems.append(f"the values of {date!r} are not dates in one format")
        else:
            samples = values(date)
            meanings = {fmt: tuple(parse_date(v, [fmt]) for v in samples) for fmt in readable}
            distinct = list(dict.fromkeys(meanings.values()))
            c["date_format"] = readable[0]
            if len(distinct) > 1:
                g.problems.append(f"the dates of {date!r} can be read more than one way ({samples[0]!r}: "
                                  f"{' or '.join(readable[:3])})")
                g.alternatives["date-format"] = readable[:3]
    # -- amounts
    amount_values: list[str] = []
    for key in ("amount", "debit", "credit", "direction"):
        given(key)
    if o.get("amount") or (o.get("debit") and o.get("credit")):
        if o.get("amount"):
            c["amount"] = o["amount"]
            amount_values = values(o["amount"])
        else:
            c["debit"], c["credit"] = o["debit"], o["credit"]
            amount_values = values(o["debit"]) + values(o["credit"])
    else:
        amounts = [a for a in named("amount") if values(a)]
        debits = [d for d in named("debit") if d not in amounts]
        credits = [x for x in named("credit") if x not in amounts]
        if len(debits) == 1 and len(credits) == 1 and not (len(amounts) == 1 and _norm(amounts[0]) == "amount"):
            c["debit"], c["credit"] = debits[0], credits[0]
            amount_values = values(debits[0]) + values(credits[0])
        elif amounts:
            full = [a for a in amounts if len(values(a)) >= 0.9 * len(rows)]
            exact = [a for a in amounts if _norm(a) == "amount"]
            pick = (exact or full or amounts)[0]
            c["amount"] = pick
            amount_values = values(pick)
            if len(amounts) > 1 and not exact and len(full) != 1:
                g.problems.append(f"several columns could be the amount: {amounts}")
                g.alternatives["amount"] = amounts
        else:
            g.problems.append("no column is named like an amount (Amount, Betrag, Montant...) "
                              "or a debit/credit pair (Withdrawal/Deposit, Debit/Credit...)")
    decimal = o.get("decimal") or _decimal_of(amount_values)
    if decimal is None:
        g.problems.append("the amounts do not say whether ',' or '.' is the decimal mark")
        g.alternatives["decimal"] = [",", "."]
        decimal = "."
    c["decimal"] = decimal
    c["thousands"] = "," if decimal == "." else "."
    numbers = _amounts(amount_values, decimal) if amount_values else []
    if amount_values and numbers is None:
        g.problems.append("the amount column holds values that are not amounts")
        numbers = []
    # -- sign
    if c.get("amount"):
        _guess_sign(g, o, values, named, numbers, lambda col: [r[columns[_norm(col)]].strip() for r in rows
                                                               if r[columns[_norm(c["amount"])]].strip()])
    # -- description, balance, currency, account, category...
    payee = given("payee") or next((x for x in named("payee") if values(x)), None)
    if not payee:
        g.problems.append("no column is named like a description (Description, Payee, Name, Memo...)")
    c["payee"] = payee
    used = {c.get(k) for k in ("date", "user_date", "amount", "debit", "credit", "direction", "payee")}
    c["memo"] = [m for m in named("payee") if m not in used][:3]
    c["balance"] = next((b for b in named("balance") if b not in used and values(b)), None)
    c["category"] = next(iter(named("category")), None)
    c["account"] = given("account") or next((a for a in named("account") if values(a)), None)
    c["check_number"] = next(iter(named("check_number")), None)
    _guess_currency(g, o, named, values, amount_values, decimal)
    for k in ("name", "institution", "account_type"):
        if o.get(k):
            c[k] = o[k]
    return g


def _guess_sign(g: Guess, o: dict, values, named, numbers, pairs_of) -> None:
    """Negative = money out when most rows are negative (spending accounts, most cards); else ask.

    A running balance cannot settle it: a card's balance is the debt, which moves with its
    positive purchases exactly as a checking balance moves with negative spending.
    """
    c = g.choices
    if o.get("direction"):
        c["direction"] = o["direction"]
        c["debit_values"] = o.get("debit_values") or sorted(
            {v for v in values(o["direction"]) if v.casefold() in DEBIT_WORDS})
        if not c["debit_values"]:
            g.problems.append(f"say which values of {o['direction']!r} mean money out (--debit-values)")
        return
    if o.get("sign"):
        c["sign"] = o["sign"]
        return
    negatives = sum(1 for n in numbers if n is not None and n < 0)
    nonzero = sum(1 for n in numbers if n)
    if not negatives:
        for col in named("direction"):
            words = {v.casefold() for v in values(col)}
            if words and words <= DEBIT_WORDS | CREDIT_WORDS and words & DEBIT_WORDS and words & CREDIT_WORDS:
                c["direction"] = col
                c["debit_values"] = sorted({v for v in values(col) if v.casefold() in DEBIT_WORDS})
                return
    else:
        for col in named("direction"):  # a Debit/Credit column beside signed amounts says which sign is out
            if col == c.get("amount"):
                continue
            pairs = [(w.casefold(), n) for w, n in zip(pairs_of(col), numbers) if n and w]
            if len(pairs) < 2 or not all(w in DEBIT_WORDS | CREDIT_WORDS for w, _ in pairs):
                continue
            for sign, out in (("normal", lambda n: n < 0), ("inverted", lambda n: n > 0)):
                if all((w in DEBIT_WORDS) == out(n) for w, n in pairs):
                    c["sign"] = sign
                    way = "negative" if sign == "normal" else "positive"
                    g.assumptions.append(f"sign read from {col!r} (its debit rows are {way})")
                    return
    if negatives and negatives >= 0.5 * nonzero:
        c["sign"] = "normal"
        g.assumptions.append("negative amounts read as money out (most rows are negative)")
        return
    why = ("every amount is positive" if not negatives else
           f"only {negatives} of {nonzero} amounts are negative (a card export that shows purchases as positive?)")
    g.problems.append(f"{why}, so pde cannot tell money out from money in")
    c["sign"] = "normal"
    g.alternatives["sign"] = ["normal (negative = money out)", "inverted (positive = money out)"]


def _guess_currency(g: Guess, o: dict, named, values, amount_values, decimal) -> None:
    c = g.choices
    if o.get("currency") or o.get("currency_column"):
        c["currency"], c["currency_column"] = o.get("currency"), o.get("currency_column")
        return
    column = next((x for x in named("currency") if values(x) and all(re.fullmatch(r"[A-Za-z]{3}", v)
                                                                      for v in values(x))), None)
    if column:
        c["currency_column"] = column
        return
    for col in (c.get("amount"), c.get("debit"), c.get("credit")):
        m = ISO_IN_NAME.search(col or "")
        if m:
            c["currency"] = m.group(1)
            return
    symbols = {SYMBOLS[s] for v in amount_values for s in SYMBOLS if s in v}
    if len(symbols) == 1:
        c["currency"] = symbols.pop()
        return
    if decimal == "." and re.match(r"%m|%b %d|%B %d", str(c.get("date_format", ""))):
        c["currency"] = "USD"
        g.assumptions.append("currency USD assumed (US-style dates, the file does not name a currency)")
        return
    g.problems.append("the file does not say its currency")
    g.alternatives["currency"] = ["EUR", "GBP", "CHF", "..."]


# -- reading rows ----------------------------------------------------------------------------------


@dataclass
class Parsed:
    """What one file gave: its records, the profile used, and what to tell the user."""

    records: list
    profile: Profile
    guess: Guess | None = None
    skipped: list[str] = field(default_factory=list)


def parse_bank_csv(body: bytes, source: str, profiles: dict[str, Profile], *,
                   account: str | None = None, fallback_account: str | None = None,
                   profile_name: str | None = None) -> list[Record | Rejected]:
    """Every record of one CSV export, or ParseError; nothing is returned half."""
    return read_bank_csv(body, source, profiles, account=account, fallback_account=fallback_account,
                         profile_name=profile_name).records


def read_bank_csv(body: bytes, source: str, profiles: dict[str, Profile], *,
                  account: str | None = None, fallback_account: str | None = None,
                  profile_name: str | None = None, not_statements: list[NotStatement] | None = None) -> Parsed:
    text = decode(body)
    found = recognise(text, profiles, source, profile_name, not_statements)
    if found.profile.encoding.lower() not in ("utf-8-sig", "utf-8", "utf8"):
        text = decode(body, found.profile.encoding)
    parser = _Parser(found.profile, found.header, source, account, fallback_account)
    records = parser.parse(text, found.header_index)
    return Parsed(records, found.profile, found.guess, parser.skipped)


class _Bad(ValueError):
    pass


class _Parser:
    def __init__(self, profile: Profile, header: list[str], source: str,
                 account: str | None, fallback_account: str | None) -> None:
        self.p = profile
        self.header = header
        self.index: dict[str, int] = {}
        for i, c in enumerate(header):
            self.index.setdefault(_norm(c), i)
        self.source = source
        self.account_arg = account
        self.fallback_account = fallback_account
        self.institution_id = f"csv:{slug(profile.institution)}"
        self.skip = re.compile(profile.skip_rows_matching) if profile.skip_rows_matching else None
        self.strip = re.compile(profile.date_strip) if profile.date_strip else None
        self.mapped = {_norm(c) for c in profile.mapped()}
        self.formats = profile.formats
        self.skipped: list[str] = []

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
            return parse_date(raw, self.formats, self.strip)
        except ValueError:
            raise _Bad(f"{column} {raw!r} is not a date like {' or '.join(self.formats)}") from None

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
            # unsigned by definition; some banks (Citi) still write credits with a minus
            return abs(credit or Decimal(0)) - abs(debit or Decimal(0))
        value = self.money(row, p.amount)
        if value is None:
            raise _Bad(f"{p.amount} is empty")
        if p.direction:
            way = (self.cell(row, p.direction) or "").casefold()
            if not way:
                raise _Bad(f"{p.direction} is empty")
            out = way in {v.casefold() for v in p.debit_values}
            value = -abs(value) if out else abs(value)
        elif p.sign == "inverted":
            value = -value
        if p.fee:
            value -= abs(self.money(row, p.fee) or Decimal(0))
        return value

    def _looks_dated(self, row: list[str]) -> bool:
        i = self.index[_norm(self.p.date)]
        return i < len(row) and bool(DATE_SHAPE.match(_date_text(row[i], self.strip)))

    def _amount_cells_empty(self, row: list[str]) -> bool:
        cols = [c for c in (self.p.amount, self.p.debit, self.p.credit) if c]
        idx = [self.index[_norm(c)] for c in cols]
        return all(i >= len(row) or not row[i].strip() for i in idx)

    def _skip(self, line: int, row: list[str], why: str) -> None:
        text = self.p.delimiter.join(c for c in row if c.strip())[:120]
        self.skipped.append(f"line {line} ({why}): {text!r}")
        logger.info("%s: line %d skipped, %s: %r", self.source, line, why, text)

    def rows(self, text: str, header_index: int):
        """(line, cells) of each transaction row; title, section, total and repeated header lines are skipped."""
        lines = _lines(text)
        start = header_index + 1
        if header_index < 0:
            start = next((i for i, line in enumerate(lines) if line.strip()), 0)
        reader = csv.reader(io.StringIO("\n".join(lines[start:])), delimiter=self.p.delimiter, strict=True)
        width = len(self.header)
        header = [_norm(c) for c in self.header]
        raw: list[tuple[int, list[str]]] = []
        try:
            for row in reader:
                if any(c.strip() for c in row):
                    raw.append((start + reader.line_num, row))
        except csv.Error as exc:
            raise ParseError(f"{self.source}: line {start + reader.line_num}: "
                             f"broken CSV ({exc}); nothing was loaded from it") from None
        last_dated = max((k for k, (_, row) in enumerate(raw) if self._looks_dated(row)), default=-1)
        for k, (line, row) in enumerate(raw):
            while len(row) > width and not row[-1].strip():
                row = row[:-1]  # trailing delimiters
            if [_norm(c) for c in _header_cells(row)] == header:
                self._skip(line, row, "the header again")
                continue
            dated = self._looks_dated(row)
            filled = [c for c in row if c.strip()]
            if not dated and (k > last_dated or len(filled) == 1 or
                              (len(row) == width and self._amount_cells_empty(row))):
                self._skip(line, row, "a title, section, balance or total line, not a transaction")
                continue
            if len(row) != width:
                raise ParseError(
                    f"{self.source}: line {line} has {len(row)} fields where the "
                    f"{self.p.name!r} header has {width}: the file is cut or damaged; "
                    "nothing was loaded from it"
                )
            if self.skip and any(self.skip.search(c) for c in row):
                self._skip(line, row, f"matches the profile's skip_rows_matching {self.p.skip_rows_matching!r}")
                continue
            empty = [c for c in self.p.skip_if_empty if not self.cell(row, c)]
            if empty:
                self._skip(line, row, f"no {empty[0]}: a balance or summary line")
                continue
            yield line, row

    def parse(self, text: str, header_index: int) -> list[Record | Rejected]:
        p = self.p
        good: list[tuple[int, Transaction]] = []
        rejected: list[Rejected] = []
        accounts: dict[str, Account] = {}
        rows = list(self.rows(text, header_index))
        if len(self.formats) > 1:  # the format that reads every row of this file
            i = self.index[_norm(p.date)]
            dates = [r[i] for _, r in rows if r[i].strip()]
            readable = formats_reading_all(dates, self.formats, self.strip)
            meanings = {tuple(parse_date(d, [f], self.strip) for d in dates) for f in readable}
            if len(meanings) > 1:
                raise ParseError(
                    f"{self.source}: the dates in {p.date!r} read as {' or '.join(readable)} (e.g. {dates[0]!r}) and "
                    f"profile {p.name!r} cannot tell which; nothing was loaded. Write a mapping with: "
                    f"pde csv-profile {_quote(self.source)} --date {_quote(p.date)} --date-format <one of them>")
            self.formats = readable[:1] or self.formats
        for line, row in rows:
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
            details = {c or f"column {i + 1}": v.strip() for i, (c, v) in enumerate(zip(self.header, row))
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


# -- pde csv-profile -------------------------------------------------------------------------------


def _csv_profile_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pde csv-profile",
        description="Write a mapping (a profile) for a bank CSV layout pde does not know, into your own "
                    "$PDE_HOME/bank_profiles.toml. pde guesses each column; give the ones it could not tell. "
                    "It shows three parsed rows before saving.")
    p.add_argument("file", help="the CSV export")
    p.add_argument("--name", help="profile name (default: one derived from the header)")
    p.add_argument("--institution", help="the bank's name (default: Unknown bank)")
    p.add_argument("--date", help="column of the posting date")
    p.add_argument("--user-date", dest="user_date", help="column of the transaction (swipe) date")
    p.add_argument("--date-format", dest="date_format", help="strptime format, e.g. %%d/%%m/%%Y")
    p.add_argument("--amount", help="column of the signed amount")
    p.add_argument("--sign", choices=["normal", "inverted"],
                   help="normal: negative = money out; inverted: positive = money out (most card exports)")
    p.add_argument("--debit", help="column of money out (with --credit)")
    p.add_argument("--credit", help="column of money in (with --debit)")
    p.add_argument("--direction", help="column saying debit/credit for an unsigned --amount")
    p.add_argument("--debit-values", dest="debit_values", help="comma list: values of --direction meaning money out")
    p.add_argument("--description", dest="payee", help="column of the payee / description")
    p.add_argument("--account", help="column naming the account")
    p.add_argument("--currency", help="ISO code, e.g. EUR")
    p.add_argument("--currency-column", dest="currency_column", help="column holding the currency")
    p.add_argument("--decimal", choices=[".", ","], help="decimal mark of the amounts")
    p.add_argument("--delimiter", help="field separator (default: recognised)")
    p.add_argument("--columns", help="comma list naming the columns of a file that has no header line")
    p.add_argument("--dry-run", action="store_true", help="show the mapping and the preview, save nothing")
    return p


def csv_profile_main(argv: list[str] | None = None) -> int:
    """`pde csv-profile FILE [choices]`: exit 0 saved (or previewed), 2 still ambiguous, 1 unreadable."""
    args = _csv_profile_parser().parse_args(argv)
    path = Path(args.file).expanduser()
    try:
        body = path.read_bytes()
    except OSError as exc:
        print(f"pde csv-profile: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    if args.name and not re.fullmatch(r"[A-Za-z0-9_-]+", args.name):
        print(f"pde csv-profile: --name {args.name!r}: use letters, digits, '_' and '-' only", file=sys.stderr)
        return 2
    overrides = {k: v for k, v in vars(args).items() if k not in ("file", "dry_run")}
    if overrides.get("delimiter") == "\\t":
        overrides["delimiter"] = "\t"
    if overrides.get("columns"):
        overrides["columns"] = [v.strip() for v in overrides["columns"].split(",")]
    if overrides.get("debit_values"):
        overrides["debit_values"] = [v.strip() for v in overrides["debit_values"].split(",") if v.strip()]
    text = decode(body)
    kind = _not_a_statement(_lines(text), load_not_statements())
    if kind:
        print(f"{path}: this is {kind.what}, not a bank, card or brokerage statement; pde does not load it.",
              file=sys.stderr)
        return 2
    guess = guess_layout(text, overrides)
    print(f"{path}: columns {guess.header}")
    for key in ("date", "user_date", "date_format", "amount", "sign", "debit", "credit", "direction", "debit_values",
                "payee", "memo", "balance", "category", "account", "currency", "currency_column", "decimal"):
        value = guess.choices.get(key)
        if value not in (None, "", []):
            print(f"  {key:<16} {value}")
    for note in guess.assumptions:
        print(f"  assumed: {note}")
    if not guess.confident:
        print(f"\nStill ambiguous: {'; '.join(guess.problems)}.\nGive the missing choices, e.g.\n  "
              f"{guess.command(str(path))}", file=sys.stderr)
        return 2
    try:
        profile = guess.profile(origin=f"written by pde csv-profile from {path.name} on {dt.date.today()}")
    except ValueError as exc:
        print(f"pde csv-profile: {exc}", file=sys.stderr)
        return 2
    known = _find_header(_lines(text), list(load_profiles().values()))
    if known:
        print(f"note: pde already reads this layout with its profile {known[0].name!r} ({known[0].institution}); "
              "the profile saved here takes precedence for you.")
    try:
        records = _Parser(profile, guess.header, str(path), path.stem, None).parse(text, guess.header_index)
    except ParseError as exc:
        print(f"pde csv-profile: {exc}", file=sys.stderr)
        return 2
    transactions = [r for r in records if isinstance(r, Transaction)]
    rejected = [r for r in records if isinstance(r, Rejected)]
    print(f"\nPreview ({len(transactions)} transactions, {len(rejected)} rows that would be quarantined):")
    for t in transactions[:3]:
        print(f"  {t.posted_date}  {t.amount:>12} {t.currency}  {t.payee or ''}"
              + (f"  [{t.category_source}]" if t.category_source else ""))
    for r in rejected[:3]:
        print(f"  quarantined: {r.reason}")
    if not transactions:
        print("\nNo row could be read with this mapping; nothing saved.", file=sys.stderr)
        return 2
    if args.dry_run:
        print("\n(dry run: nothing saved)")
        return 0
    saved = save_user_profile(profile)
    print(f"\nSaved profile {profile.name!r} in {saved}.\nLoad the file with: "
          f"scrapy crawl bank_csv -a url={_quote(str(path))}")
    return 0


class BankCsvSpider(PdeSpider):
    name = "bank_csv"
    area = "finance"
    file_suffixes = (".csv", ".tsv")

    args = (
        Arg("url", "downloaded CSV files: a folder (its *.csv), a file, a glob or a comma list; "
            "default: the folder PDE_BANK_CSV_DIR", example="~/Downloads/bank"),
        Arg("account", "the account, for files with no account column (default: the file name, "
            "which changes with every download, so pass it)", example="everyday-checking"),
        Arg("profile", "a bank profile (bank_profiles.toml or $PDE_HOME/bank_profiles.toml), instead of "
            "recognising the file's header", example="schwab_checking"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.profiles = load_all_profiles()
        #: said in the run's message when the crawl succeeds (guessed layouts)
        self.run_notes: list[str] = []

    @classmethod
    def check_args(cls, values):
        profiles = load_all_profiles()
        if values.get("profile") and values["profile"] not in profiles:
            raise ArgError(f"-a profile={values['profile']} is not "
                           f"allowed{suggest(values['profile'], profiles) or ':'} "
                           f"profile takes one of {', '.join(sorted(profiles))} (bank_profiles.toml)")

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
        source = source_name(response.url)
        parsed = read_bank_csv(
            response.body, source, self.profiles, account=self.account,
            fallback_account=file_stem(response.url), profile_name=self.profile,
        )
        if parsed.guess is not None:
            self.remember_guess(source, parsed)
        yield from parsed.records

    def remember_guess(self, source: str, parsed) -> None:
        """Save a guessed layout as the user's profile and say so in the log and the run."""
        profile, guess = parsed.profile, parsed.guess
        profile.guessed = f"guessed from {source}"
        path = save_user_profile(profile)
        self.profiles[profile.name] = profile
        amount = (f"amount={profile.amount!r} ({profile.sign} sign)" if profile.amount and not profile.direction
                  else f"amount={profile.amount!r} by {profile.direction!r}" if profile.direction
                  else f"debit={profile.debit!r} credit={profile.credit!r}")
        note = (f"{source}: no bank profile knows this layout; loaded with a guessed mapping "
                f"(date={profile.date!r} as {profile.date_format}, {amount}, description={profile.payee!r}, "
                f"currency {profile.currency or profile.currency_column}"
                + (f"; {'; '.join(guess.assumptions)}" if guess.assumptions else "")
                + f"), saved as profile {profile.name!r} in {path}. If a value is wrong, fix it there or "
                f"run: {guess.command(source)}")
        self.logger.warning(note)
        self.run_notes.append(note)
