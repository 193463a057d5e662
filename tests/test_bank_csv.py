"""bank_csv: every real export layout and the synthetic Mint export, field by field.

Expected values were read from the files in fixtures/bank_csv/ (see its PROVENANCE.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from scrapy.http import TextResponse

from pde.records import Rejected, validate
from pde.sources import ArgError, ParseError
from scrapers.finance.bank_csv import (
    PROFILES_PATH,
    BankCsvSpider,
    Profile,
    load_profiles,
    parse_bank_csv,
)
from scrapers.finance.common import parse_amount
from scrapers.finance.records import Account, Balance, Institution, Transaction

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "bank_csv"
PROFILES = load_profiles()


def parse(name: str | None = None, body: bytes | None = None, url: str | None = None, **args) -> list:
    if body is None:
        body = (FIX / name).read_bytes()
    url = url or (FIX / (name or "export.csv")).as_uri()
    return list(BankCsvSpider(**args).parse(TextResponse(url=url, body=body, encoding="utf-8")))


def of(records, cls) -> list:
    return [r for r in records if type(r) is cls]


def csv_id(account_id: str, day: str, amount: str, description: str, n: int) -> str:
    """The documented id scheme, computed independently of the code under test."""
    text = "|".join((account_id, day, amount, " ".join(description.split()).casefold(), str(n)))
    return "csv:" + hashlib.sha1(text.encode()).hexdigest()


def test_every_capture_matches_a_profile_and_gives_valid_records():
    files = sorted(FIX.glob("*.csv"))
    assert len(files) == 6
    for path in files:
        records = parse(path.name)
        assert of(records, Transaction), path.name
        for r in records:
            assert not isinstance(r, Rejected), (path.name, r)
            assert validate(r) is None, (path.name, r)


def test_schwab_checking_withdrawal_deposit_and_running_balance():
    records = parse("schwab-checking.csv", account="schwab-chk")
    [inst] = of(records, Institution)
    assert (inst.institution_id, inst.name) == ("csv:charles-schwab", "Charles Schwab")
    [acct] = of(records, Account)
    assert (acct.account_id, acct.type, acct.currency, acct.institution_id) == (
        "csv:charles-schwab:schwab-chk", "checking", "USD", "csv:charles-schwab")
    t = of(records, Transaction)
    assert [(x.posted_date, x.amount, x.payee) for x in t] == [
        (dt.date(2022, 8, 17), Decimal("20.00"), "Deposit Mobile Banking"),
        (dt.date(2022, 8, 14), Decimal("-103.00"), "BMO HARRIS BANK"),
        (dt.date(2022, 8, 9), Decimal("-75.00"), "Check Paid #558"),
        (dt.date(2022, 8, 4), Decimal("-57.27"), "PAYPAL INST XFER 220803~ Tran: ACHDW"),
    ]
    assert [x.trn_type for x in t] == ["DEPOSIT", "ATM", "CHECK", "ACH"]
    assert [x.check_number for x in t] == [None, None, "558", None]
    assert [x.balance_after for x in t] == [Decimal("878.47"), Decimal("858.47"), Decimal("961.47"), Decimal("1036.47")]
    assert all(x.pending is False and x.currency == "USD" for x in t)
    assert t[0].transaction_id == csv_id("csv:charles-schwab:schwab-chk", "2022-08-17", "20", "Deposit Mobile Banking", 1)
    [bal] = of(records, Balance)  # newest day of a newest-first file
    assert (bal.account_id, bal.as_of, bal.balance_type, bal.amount) == (
        "csv:charles-schwab:schwab-chk", dt.date(2022, 8, 17), "ledger", Decimal("878.47"))


def test_capital_one_debit_credit_columns_and_two_dates():
    records = parse("capitalone.csv", account="venture")
    t = of(records, Transaction)
    assert [(x.posted_date, x.user_date, x.amount, x.payee, x.category_source) for x in t] == [
        (dt.date(2016, 1, 2), dt.date(2015, 12, 31), Decimal("-1000.00"), "Airplanes R Us", "Other Travel"),
        (dt.date(2016, 1, 2), dt.date(2015, 12, 31), Decimal("1000.00"), "CAPITAL ONE AUTOPAY PYMT", "Payment/Credit"),
    ]
    assert t[0].details == {"Card No.": "1234", "profile": "capitalone_card"}
    [acct] = of(records, Account)
    assert (acct.account_id, acct.type) == ("csv:capital-one:venture", "credit card")


def test_pc_financial_positive_purchases_are_money_out():
    records = parse("pcmastercard.csv", account="pc-mc")
    t = of(records, Transaction)
    assert [(x.posted_date, x.amount, x.payee, x.currency) for x in t] == [
        (dt.date(2019, 1, 10), Decimal("-36.33"), "Mobil", "CAD"),
        (dt.date(2018, 12, 15), Decimal("-13.98"), "APL*ITUNES.COM/BILL", "CAD"),
    ]
    assert t[0].details["Card Used For Transaction"] == "**** 1234"
    assert t[0].details["Time"] == "06:50 PM"


def test_outbank_semicolons_decimal_comma_and_iban_account():
    records = parse("outbank.csv")
    [acct] = of(records, Account)
    assert (acct.account_id, acct.number, acct.mask, acct.currency) == (
        "csv:outbank:DE81254326973657190105", "DE81254326973657190105", "0105", "EUR")
    t = of(records, Transaction)
    assert [(x.posted_date, x.amount, x.payee) for x in t] == [
        (dt.date(2019, 2, 20), Decimal("100.00"), "Jane Doe"),
        (dt.date(2019, 2, 8), Decimal("-63.89"), "Shell Gas"),
        (dt.date(2019, 1, 21), Decimal("-47.00"), "Vattenfall Europe Energy"),
        (dt.date(2019, 1, 5), Decimal("-25.00"), "PayPal Europe S.a.r.l. et Cie S.C.A"),
    ]
    shell = t[1]
    assert shell.memo == "Shell Gas purchase MASTER 0123456789"
    assert shell.category_source == "Travel / Gas"
    assert shell.trn_type == "Lastschrifteinzug"
    assert shell.details["Number"] == "DE33674643548447246470"
    assert shell.details["Bank"] == "CHASDEFX"
    assert shell.details["Mandate Identification"] == "0001-200000000000"
    assert t[0].category_source == "Financials & Precautions / Refund"


def test_n26_signed_amounts_and_account_name_column():
    records = parse("n26-fr.csv")
    [acct] = of(records, Account)
    assert (acct.account_id, acct.currency) == ("csv:n26:Coffre fort", "EUR")
    t = of(records, Transaction)
    assert [(x.posted_date, x.amount, x.trn_type, x.payee) for x in t] == [
        (dt.date(2020, 3, 7), Decimal("328.00"), "Credit Transfer", "Compte courant"),
        (dt.date(2020, 3, 7), Decimal("-328.00"), "Debit Transfer", "Compte courant"),
    ]
    assert t[0].details["Partner Iban"] == "DE27100110000000000000"
    assert t[0].transaction_id != t[1].transaction_id


def test_mint_export_sign_from_transaction_type():
    records = parse("mint-export.csv")
    accts = {a.account_id for a in of(records, Account)}
    assert accts == {"csv:mint:Sapphire Card", "csv:mint:Everyday Checking"}
    t = of(records, Transaction)
    assert [(x.posted_date, x.amount, x.payee, x.account_id) for x in t] == [
        (dt.date(2021, 1, 15), Decimal("-4.75"), "Starbucks", "csv:mint:Sapphire Card"),
        (dt.date(2021, 1, 15), Decimal("-4.75"), "Starbucks", "csv:mint:Sapphire Card"),
        (dt.date(2021, 1, 14), Decimal("2450.00"), "Acme Corp Payroll", "csv:mint:Everyday Checking"),
        (dt.date(2021, 1, 12), Decimal("-87.32"), "Whole Foods", "csv:mint:Sapphire Card"),
        (dt.date(2021, 1, 3), Decimal("23.99"), "Amazon", "csv:mint:Sapphire Card"),
        (dt.date(2020, 12, 31), Decimal("-1850.00"), "Rent", "csv:mint:Everyday Checking"),
    ]
    wf = t[3]
    assert (wf.memo, wf.category_source) == ("WHOLEFDS MKT 10234 AUSTIN TX", "Groceries")
    assert wf.details == {"Labels": "Household", "Notes": "split with roommate", "profile": "mint"}


# -- ids ----------------------------------------------------------------------------


def test_identical_same_day_rows_stay_two_and_ids_are_stable():
    first = of(parse("mint-export.csv"), Transaction)
    again = of(parse("mint-export.csv"), Transaction)
    coffee1, coffee2 = first[0], first[1]
    desc = "Starbucks STARBUCKS STORE 00123 SEATTLE WA"
    assert coffee1.transaction_id == csv_id("csv:mint:Sapphire Card", "2021-01-15", "-4.75", desc, 1)
    assert coffee2.transaction_id == csv_id("csv:mint:Sapphire Card", "2021-01-15", "-4.75", desc, 2)
    assert [x.transaction_id for x in first] == [x.transaction_id for x in again]
    assert len({x.transaction_id for x in first}) == 6


def test_overlapping_exports_give_the_same_ids():
    lines = (FIX / "mint-export.csv").read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    older = "".join([header, *rows[2:]]).encode()   # 1/14 back to 12/31
    newer = "".join([header, *rows[:5]]).encode()   # 1/15 back to 1/03
    a = {(t.posted_date, t.payee): t.transaction_id for t in of(parse(body=older), Transaction)}
    b = {(t.posted_date, t.payee): t.transaction_id for t in of(parse(body=newer), Transaction)}
    common = set(a) & set(b)
    assert common == {(dt.date(2021, 1, 14), "Acme Corp Payroll"), (dt.date(2021, 1, 12), "Whole Foods"),
                      (dt.date(2021, 1, 3), "Amazon")}
    assert all(a[k] == b[k] for k in common)


def test_account_from_argument_or_file_name():
    by_arg = of(parse("capitalone.csv", account="venture"), Account)[0].account_id
    by_name = of(parse("capitalone.csv"), Account)[0].account_id
    assert (by_arg, by_name) == ("csv:capital-one:venture", "csv:capital-one:capitalone")
    served = of(parse(body=(FIX / "capitalone.csv").read_bytes(),
                      url="https://downloads.pde.invalid/x/card-2016.csv"), Account)[0]
    assert served.account_id == "csv:capital-one:card-2016"


# -- recognising layouts ---------------------------------------------------------------


def test_header_after_a_preamble_and_with_a_bom():
    body = b"\xef\xbb\xbfAccount statement\r\nExported 2022-08-18\r\n\r\n" + (FIX / "schwab-checking.csv").read_bytes()
    t = of(parse(body=body, account="x"), Transaction)
    assert len(t) == 4 and t[3].amount == Decimal("-57.27")


def test_unknown_header_names_the_closest_profile_and_the_differing_columns():
    body = b"Date,Status,Type,Check Number,Description,Withdrawal,Deposit,Balance\n08/17/2022,Posted,ATM,,X,$1.00,,$2.00\n"
    with pytest.raises(ParseError) as err:
        parse(body=body, url="file:///downloads/statement.csv")
    msg = str(err.value)
    assert msg.startswith("/downloads/statement.csv: the header matches no bank profile")
    assert "Closest is 'schwab_checking' (Charles Schwab)" in msg
    assert "missing columns ['CheckNumber', 'RunningBalance']" in msg
    assert "unexpected columns ['Check Number', 'Balance']" in msg
    assert "bank_profiles.toml" in msg


def test_profile_can_be_forced():
    with pytest.raises(ParseError, match="Closest is 'n26'"):
        parse("schwab-checking.csv", profile="n26")
    with pytest.raises(ParseError, match="no bank profile named 'nope'"):
        parse_bank_csv(b"a,b\n", "x.csv", load_profiles(), profile_name="nope")
    with pytest.raises(ArgError, match=r"-a profile=nope is not allowed: profile takes one of .*n26"):
        parse("schwab-checking.csv", profile="nope")  # the spider refuses it before reading anything


def test_a_new_bank_is_a_profile_not_code(tmp_path):
    toml = PROFILES_PATH.read_text() + '''
[examplebank]
institution = "Example Bank"
columns = ["Buchungstag", "Umsatz", "Text"]
delimiter = ";"
decimal = ","
thousands = "."
date = "Buchungstag"
date_format = "%d.%m.%Y"
amount = "Umsatz"
payee = "Text"
currency = "EUR"
'''
    (tmp_path / "p.toml").write_text(toml)
    profiles = load_profiles(tmp_path / "p.toml")
    body = "Buchungstag;Umsatz;Text\n01.02.2024;-1.234,56 €;Miete Februar\n".encode()
    [t] = [r for r in parse_bank_csv(body, "x.csv", profiles, account="giro") if type(r) is Transaction]
    assert (t.posted_date, t.amount, t.currency, t.payee) == (dt.date(2024, 2, 1), Decimal("-1234.56"), "EUR", "Miete Februar")


def test_profiles_are_checked_when_loaded():
    with pytest.raises(ValueError, match=r"\[bad\]: maps column 'Amt', which is not in `columns`"):
        Profile.from_table("bad", {"institution": "B", "columns": ["Date", "Amount"], "date": "Date",
                                   "date_format": "%Y", "amount": "Amt", "currency": "USD"})
    with pytest.raises(ValueError, match=r"unknown keys \['colums'\]"):
        Profile.from_table("bad", {"institution": "B", "colums": []})


# -- failures -------------------------------------------------------------------------


def test_bad_row_becomes_rejected_with_its_line_and_the_rest_loads():
    body = (FIX / "schwab-checking.csv").read_bytes().replace(b'"08/14/2022"', b'"2022-14-08"')
    records = parse(body=body, account="x")
    [bad] = of(records, Rejected)
    assert bad.table == "finance.transactions"
    assert bad.reason == "line 3: Date '2022-14-08' is not a date like %m/%d/%Y"
    assert bad.raw["Description"] == "BMO HARRIS BANK"
    assert len(of(records, Transaction)) == 3


def test_unreadable_amount_is_rejected():
    body = (FIX / "capitalone.csv").read_bytes().replace(b"1000.00,\n", b"lots,\n", 1)
    [bad] = of(parse(body=body, account="x"), Rejected)
    assert bad.reason == "line 2: Debit 'lots' is not an amount"


def test_cut_file_raises_with_line_number_and_yields_nothing():
    body = (FIX / "schwab-checking.csv").read_bytes()
    body = body[: body.index(b',"$75.00"')]  # the download stopped mid-row
    gen = BankCsvSpider(account="x").parse(TextResponse(url="file:///downloads/cut.csv", body=body, encoding="utf-8"))
    with pytest.raises(ParseError) as err:
        next(gen)
    assert str(err.value).startswith("/downloads/cut.csv: line 4 has 5 fields where the 'schwab_checking' header has 8")


def test_file_cut_inside_quotes_raises():
    body = (FIX / "schwab-checking.csv").read_bytes()
    body = body[: body.index(b'"Check Paid') + 6]
    with pytest.raises(ParseError, match=r"cut.csv: line 4: broken CSV .unexpected end of data.; nothing was loaded"):
        parse(body=body, url="file:///downloads/cut.csv", account="x")


def test_broken_quoting_raises():
    body = (FIX / "capitalone.csv").read_bytes() + b'2016-01-03,2016-01-04,1234,"unterminated,Other,5.00,\n'
    with pytest.raises(ParseError, match=r"line 4: broken CSV"):
        parse(body=body, account="x")


def test_empty_file_raises():
    with pytest.raises(ParseError, match="empty file"):
        parse(body=b"\n\n")


@pytest.mark.parametrize("text, decimal, thousands, value", [
    ("$1,036.47", ".", ",", Decimal("1036.47")),
    ("-63,89", ",", ".", Decimal("-63.89")),
    ("1.234,56 €", ",", ".", Decimal("1234.56")),
    ("(12.00)", ".", ",", Decimal("-12.00")),
    ("12.00-", ".", ",", Decimal("-12.00")),
    ("+0000000000100.00000", ".", None, Decimal("100.00000")),
    ("1 234,50", ",", " ", Decimal("1234.50")),
    ("", ".", ",", None),
])
def test_amounts(text, decimal, thousands, value):
    assert parse_amount(text, decimal=decimal, thousands=thousands) == value


def test_not_an_amount():
    with pytest.raises(ValueError):
        parse_amount("N/A")


def test_cassette_replay_loads_every_export(pg_url, pde_home):
    """The recorded fixture (every export above, served over HTTP) through scrapy and PostgreSQL."""
    import psycopg2

    from pde import cassettes
    from tests.conftest import run_crawl

    cassette = FIX / "bank_csv.json"
    for _ in range(2):  # the same files twice: no duplicate
        p = run_crawl("bank_csv", db=pg_url, cassette=cassette, args=cassettes.metadata(cassette)["args"])
        assert p.returncode == 0, p.stderr[-3000:]
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT account_id, count(*) FROM finance.transactions GROUP BY 1 ORDER BY 1")
        assert cur.fetchall() == [
            ("csv:capital-one:capitalone", 2), ("csv:charles-schwab:schwab-checking", 4),
            ("csv:mint:Everyday Checking", 2), ("csv:mint:Sapphire Card", 4),
            ("csv:n26:Coffre fort", 2), ("csv:outbank:DE81254326973657190105", 4),
            ("csv:pc-financial:pcmastercard", 2)]
        cur.execute("SELECT sum(amount) FROM finance.transactions WHERE account_id = 'csv:mint:Sapphire Card'")
        assert cur.fetchone()[0] == Decimal("-4.75") * 2 - Decimal("87.32") + Decimal("23.99")


def test_without_url_the_export_folder_is_read(monkeypatch, tmp_path):
    import asyncio

    async def start(spider):
        return [r async for r in spider.start()]

    monkeypatch.delenv("PDE_BANK_CSV_DIR", raising=False)
    with pytest.raises(ValueError, match="PDE_BANK_CSV_DIR"):
        asyncio.run(start(BankCsvSpider()))
    (tmp_path / "card.csv").write_bytes((FIX / "capitalone.csv").read_bytes())
    monkeypatch.setenv("PDE_BANK_CSV_DIR", str(tmp_path))
    [req] = asyncio.run(start(BankCsvSpider()))
    assert req.url == (tmp_path / "card.csv").as_uri()
