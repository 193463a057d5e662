"""Records of the finance area (PostgreSQL schema ``finance``, sql/0010_finance.sql).

One sign convention for every source: **negative = money out** of the account
(a purchase, a fee, a withdrawal), positive = money in. OFX and bank CSVs mostly
say so already; Plaid says the opposite and is flipped by the spider. Money is
always ``Decimal`` with its ISO currency code next to it.

Ids are the institution's own wherever it has one (OFX FITID, Plaid
transaction_id); CSV rows get ``csv:<sha1>`` from account, date, amount,
description and the row's occurrence number on that day
(``scrapers.finance.common.content_ids``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from pde.records import Record


@dataclass(kw_only=True)
class Institution(Record):
    """A bank, card issuer or broker."""

    table = "finance.institutions"
    key = ("institution_id",)

    institution_id: str  # ofx:<ORG> / ofx:bankid:<BANKID> / csv:<slug> / plaid:<ins_id>
    source: str  # ofx / csv / plaid
    name: str | None = None
    ofx_org: str | None = None
    ofx_fid: str | None = None


@dataclass(kw_only=True)
class Account(Record):
    """One account at an institution, as a source identifies it."""

    table = "finance.accounts"
    key = ("account_id",)
    history = True

    account_id: str  # ofx:<BANKID>[:<BRANCHID>]:<ACCTID> / csv:<institution>:<account> / plaid:<account_id>
    source: str
    institution_id: str | None = None
    number: str | None = None  # the account number as the source gives it
    mask: str | None = None  # last 4 characters
    name: str | None = None
    official_name: str | None = None
    type: str | None = None  # checking, savings, credit card, investment, depository, credit, loan...
    subtype: str | None = None
    currency: str | None = None
    bank_id: str | None = None
    branch_id: str | None = None


@dataclass(kw_only=True)
class Balance(Record):
    """A balance of one kind on one day (one row per account, day and kind)."""

    table = "finance.balances"
    key = ("account_id", "as_of", "balance_type")

    account_id: str
    as_of: dt.date
    balance_type: str  # ledger, available, current, limit, cash, margin, short, buying_power, ballist:<name>
    amount: Decimal
    source: str
    currency: str | None = None
    as_of_time: dt.datetime | None = None


@dataclass(kw_only=True)
class Transaction(Record):
    """A cash movement on an account. ``amount`` < 0 = money out."""

    table = "finance.transactions"
    key = ("account_id", "transaction_id")
    history = True

    account_id: str
    transaction_id: str  # FITID / Plaid transaction_id / csv:<sha1>
    source: str
    posted_date: dt.date
    amount: Decimal
    currency: str
    user_date: dt.date | None = None  # when the card was swiped (DTUSER, authorized_date)
    payee: str | None = None
    memo: str | None = None
    merchant_name: str | None = None
    trn_type: str | None = None
    check_number: str | None = None
    reference: str | None = None
    pending: bool | None = None
    pending_transaction_id: str | None = None
    balance_after: Decimal | None = None
    category_source: str | None = None  # the institution's own category
    details: dict | None = None  # source fields without a column of their own
    # Owned by pde.finance.categorize and the user; spiders leave them None.
    category_user: str | None = None
    category_rule: str | None = None
    category_predicted: str | None = None
    category_confidence: float | None = None


@dataclass(kw_only=True)
class RemovedTransaction(Record):
    """A transaction the institution withdrew (Plaid ``removed``)."""

    table = "finance.removed_transactions"
    key = ("account_id", "transaction_id")

    account_id: str
    transaction_id: str
    source: str
    removed_at: dt.datetime | None = None


@dataclass(kw_only=True)
class Security(Record):
    table = "finance.securities"
    key = ("security_id",)

    security_id: str  # <UNIQUEIDTYPE>:<UNIQUEID>, e.g. CUSIP:458140100
    id_type: str
    unique_id: str
    source: str
    name: str | None = None
    ticker: str | None = None
    security_type: str | None = None  # stock, mutual fund, option, debt, other
    currency: str | None = None
    unit_price: Decimal | None = None
    price_as_of: dt.datetime | None = None


@dataclass(kw_only=True)
class Holding(Record):
    """A position in a security on the statement date."""

    table = "finance.holdings"
    key = ("account_id", "security_id", "as_of", "held_in")

    account_id: str
    security_id: str
    as_of: dt.date
    held_in: str  # CASH, MARGIN, SHORT, OTHER
    source: str
    position_type: str | None = None  # LONG / SHORT
    units: Decimal | None = None
    unit_price: Decimal | None = None
    market_value: Decimal | None = None
    currency: str | None = None
    price_as_of: dt.datetime | None = None
    memo: str | None = None


@dataclass(kw_only=True)
class InvestmentTransaction(Record):
    """A trade, income, reinvestment or transfer in an investment account."""

    table = "finance.investment_transactions"
    key = ("account_id", "transaction_id")

    account_id: str
    transaction_id: str  # FITID
    source: str
    trade_date: dt.date
    action: str  # the OFX aggregate: BUYSTOCK, SELLMF, INCOME, REINVEST, ...
    subtype: str | None = None  # BUYTYPE / SELLTYPE / INCOMETYPE / ...
    settle_date: dt.date | None = None
    security_id: str | None = None
    units: Decimal | None = None
    unit_price: Decimal | None = None
    commission: Decimal | None = None
    fees: Decimal | None = None
    total: Decimal | None = None  # cash effect, negative = money out
    currency: str | None = None
    memo: str | None = None
    subaccount_sec: str | None = None
    subaccount_fund: str | None = None


@dataclass(kw_only=True)
class PlaidCursor(Record):
    """Where the last complete /transactions/sync of one Plaid Item stopped."""

    table = "finance.plaid_cursors"
    key = ("access_token_hash",)

    access_token_hash: str  # sha256 of the access token; the token itself is never stored
    cursor: str
    synced_at: dt.datetime
    item_id: str | None = None
    added: int | None = None
    modified: int | None = None
    removed: int | None = None
