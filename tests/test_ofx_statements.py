"""ofx_statements: every real OFX/QFX capture and the synthetic OFX 2.x sample, field by field.

Expected values were read from the files in fixtures/ofx_statements/ (see its PROVENANCE.md).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import shutil
import subprocess
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from scrapy.http import TextResponse

from pde.records import Rejected, validate
from pde.sources import ParseError
from scrapers.finance.common import expand_files
from scrapers.finance.ofx_statements import OfxStatementsSpider, direct_connect_request, parse_ofx, parse_ofx_datetime
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
from tests.helpers import FIXTURES, of

FIX = FIXTURES / "ofx_statements"
UTC = dt.UTC


def response(name: str | None = None, body: bytes | None = None, url: str | None = None) -> TextResponse:
    if body is None:
        body = (FIX / name).read_bytes()
    return TextResponse(url=url or (FIX / (name or "x.ofx")).as_uri(), body=body, encoding="cp1252")


def parse(name: str | None = None, body: bytes | None = None, url: str | None = None) -> list:
    return list(OfxStatementsSpider().parse(response(name, body, url)))


def by_id(records) -> dict:
    return {t.transaction_id: t for t in of(records, Transaction)}


def balances(records) -> dict:
    return {(b.account_id, b.balance_type): b for b in of(records, Balance)}


def test_every_capture_gives_only_valid_records():
    for path in sorted(FIX.glob("*.ofx")):
        records = parse(path.name)
        assert records, path.name
        for r in records:
            assert not isinstance(r, Rejected), (path.name, r)
            assert validate(r) is None, (path.name, r)


# -- bank statements ---------------------------------------------------------------


def test_checking_sgml_tab_indented():
    records = parse("checking.ofx")
    [inst] = of(records, Institution)
    assert (inst.institution_id, inst.name, inst.ofx_org, inst.ofx_fid) == ("ofx:FAKE", "FAKE", "FAKE", "1101")
    [acct] = of(records, Account)
    assert acct.account_id == "ofx:5472369148:1452687~7"
    assert (acct.number, acct.bank_id, acct.type, acct.currency) == ("1452687~7", "5472369148", "checking", "USD")
    assert acct.institution_id == "ofx:FAKE"
    t = by_id(records)
    assert set(t) == {"0000486", "0000487", "0000488"}
    div = t["0000486"]
    assert div.account_id == acct.account_id
    assert div.posted_date == dt.date(2011, 3, 31)
    assert div.amount == Decimal("0.01")
    assert div.currency == "USD"
    assert div.trn_type == "CREDIT"
    assert div.payee == "DIVIDEND EARNED FOR PERIOD OF 03"
    assert div.memo == ("DIVIDEND EARNED FOR PERIOD OF 03/01/2011 THROUGH 03/31/2011 "
                        "ANNUAL PERCENTAGE YIELD EARNED IS 0.05%")
    bill = t["0000487"]
    assert (bill.posted_date, bill.amount, bill.trn_type) == (dt.date(2011, 4, 5), Decimal("-34.51"), "DEBIT")
    assert bill.payee == "AUTOMATIC WITHDRAWAL, ELECTRIC BILL"
    assert bill.memo == "AUTOMATIC WITHDRAWAL, ELECTRIC BILL WEB(S )"
    fee = t["0000488"]
    assert (fee.posted_date, fee.amount, fee.trn_type, fee.check_number) == (
        dt.date(2011, 4, 7), Decimal("-25.00"), "CHECK", "319")
    assert fee.memo == "RETURNED CHECK FEE, CHECK # 319 FOR $45.33 ON 04/07/11"
    bal = balances(records)
    ledger = bal[(acct.account_id, "ledger")]
    assert (ledger.amount, ledger.as_of, ledger.currency) == (Decimal("100.99"), dt.date(2013, 5, 25), "USD")
    assert ledger.as_of_time == dt.datetime(2013, 5, 25, 22, 57, 31, 258000, tzinfo=UTC)
    assert bal[(acct.account_id, "available")].amount == Decimal("75.99")


def test_bank_medium_one_long_line_qfx_with_timezone_dates():
    records = parse("bank_medium.ofx")
    [acct] = of(records, Account)
    assert acct.account_id == "ofx:160000100:00:12300 000012345678"
    assert (acct.currency, acct.bank_id, acct.branch_id, acct.mask) == ("CAD", "160000100", "00", "5678")
    # no FI/ORG in the sign-on: the institution is named by its BANKID
    [inst] = of(records, Institution)
    assert inst.institution_id == "ofx:bankid:160000100" and inst.name is None
    t = by_id(records)
    assert len(t) == 3
    mc = t["0000123456782009040100001"]
    assert (mc.trn_type, mc.posted_date, mc.amount, mc.currency) == ("POS", dt.date(2009, 4, 1), Decimal("-6.60"),
                                                                     "CAD")
    assert mc.payee == "MCDONALD'S #112"
    assert mc.memo == "POS MERCHANDISE;MCDONALD'S #112"
    check = t["0000123456782009040200004"]
    assert (check.trn_type, check.amount, check.check_number) == ("CHECK", Decimal("-316.67"), "0")
    assert check.payee == "Joe's Bald Hairstyles"
    assert check.memo == "MISCELLANEOUS PAYMENTS;Joe's Bald Hairstyles"
    hair = t["0000123456782009040300005"]
    assert (hair.posted_date, hair.amount, hair.payee) == (dt.date(2009, 4, 3), Decimal("-22.00"), "CONNIE'S HAIR D")
    bal = balances(records)
    assert bal[(acct.account_id, "ledger")].amount == Decimal("382.34")
    assert bal[(acct.account_id, "available")].amount == Decimal("682.34")
    assert bal[(acct.account_id, "ledger")].as_of == dt.date(2009, 5, 23)


def test_suncorp_xml_with_cdata_and_short_dates():
    records = parse("suncorp.ofx")
    [inst] = of(records, Institution)
    assert (inst.institution_id, inst.ofx_fid) == ("ofx:SUNCORP", "484-799")
    [acct] = of(records, Account)
    assert (acct.account_id, acct.currency, acct.type) == ("ofx:SUNCORP:123456789", "AUD", "checking")
    [t] = of(records, Transaction)
    assert (t.transaction_id, t.posted_date, t.amount, t.trn_type) == ("1", dt.date(2013, 12, 15), Decimal("-16.85"),
                                                                       "DEBIT")
    assert t.payee == "EFTPOS WDL HANDYWAY ALDI STORE"
    assert t.memo == "EFTPOS WDL HANDYWAY ALDI STORE   GEELONG WEST VICAU"
    assert t.check_number == "0"
    bal = balances(records)
    assert bal[(acct.account_id, "ledger")].amount == Decimal("1234.12")
    assert bal[(acct.account_id, "ledger")].as_of == dt.date(2013, 12, 15)


def test_anz_credit_card_xml_header_with_unclosed_tags():
    records = parse("anzcc.ofx")
    assert of(records, Institution) == []  # no FI in the file
    [acct] = of(records, Account)
    assert (acct.account_id, acct.type, acct.currency, acct.mask) == (
        "ofx:1234123412341234", "credit card", "AUD", "1234")
    [t] = of(records, Transaction)
    assert (t.transaction_id, t.trn_type, t.amount) == ("201705080001", "DEBIT", Decimal("-5.50"))
    assert (t.posted_date, t.user_date) == (dt.date(2017, 5, 8), dt.date(2017, 5, 8))
    assert (t.payee, t.memo) == (None, "SOME MEMO")
    bal = balances(records)
    assert bal[(acct.account_id, "ledger")].amount == Decimal("-123.45")
    assert bal[(acct.account_id, "available")].amount == Decimal("123.45")
    assert bal[(acct.account_id, "ledger")].as_of == dt.date(2017, 5, 10)


def test_multiple_accounts_balances_only():
    records = parse("multiple_accounts.ofx")
    assert [(a.account_id, a.type) for a in of(records, Account)] == [
        ("ofx:123:00:9100", "checking"), ("ofx:123:00:9200", "savings")]
    assert of(records, Transaction) == []
    bal = balances(records)
    assert bal[("ofx:123:00:9100", "ledger")].amount == Decimal("111")
    assert bal[("ofx:123:00:9200", "ledger")].amount == Decimal("222")
    assert bal[("ofx:123:00:9200", "ledger")].as_of == dt.date(2012, 6, 3)
    assert bal[("ofx:123:00:9200", "ledger")].as_of_time.utcoffset() == dt.timedelta(hours=-7)
    [inst] = of(records, Institution)
    assert (inst.institution_id, inst.ofx_fid) == ("ofx:blah", "1000")


def test_banque_populaire_mixed_closed_and_unclosed_tags():
    records = parse("ofxdata-bpbfc.ofx")
    [acct] = of(records, Account)
    assert (acct.account_id, acct.currency) == ("ofx:XXXXX:XXXXX:XXXXXXXXXXX", "EUR")
    t = by_id(records)
    assert list(t) == ["201600400034BD27", "201600400033BD27", "201600400032BD27",
                       "201600400031BD27", "201600400030BD27", "201600400029BD27"]
    first = t["201600400034BD27"]
    assert (first.posted_date, first.amount, first.check_number) == (dt.date(2016, 4, 29), Decimal("-13.50"), "5IIWR0X")
    assert (first.payee, first.memo) == ("OPERATION NAME DISCLOSED", "OPERATION MEMO DISCLOSED")
    last = t["201600400029BD27"]
    assert (last.posted_date, last.amount, last.check_number) == (dt.date(2016, 4, 22), Decimal("-9.99"), "56YPG4O")
    bal = balances(records)
    assert bal[(acct.account_id, "ledger")].amount == Decimal("10000.00")
    assert bal[(acct.account_id, "ledger")].as_of == dt.date(2016, 7, 20)


def test_credit_mutuel_42_transactions_match_the_raw_file():
    raw = (FIX / "ofxdata-cmfr.ofx").read_text("cp1252")
    expected = dict(zip(re.findall(r"<FITID>(\S+)", raw), re.findall(r"<TRNAMT>(\S+)", raw)))
    assert len(expected) == 42
    t = by_id(parse("ofxdata-cmfr.ofx"))
    assert {k: v.amount for k, v in t.items()} == {k: Decimal(v) for k, v in expected.items()}
    assert t["LLDT4L5OCF"].posted_date == dt.date(2016, 6, 1)
    assert t["LLDT4L5OCF"].amount == Decimal("-1978.78")
    assert t["LLDT4L5OC@"].amount == Decimal("4325.00") and t["LLDT4L5OC@"].trn_type == "CREDIT"
    assert {x.currency for x in t.values()} == {"EUR"}


def test_credit_card_with_refnum():
    records = parse("ofxdata-credit-card.ofx")
    [acct] = of(records, Account)
    assert (acct.account_id, acct.currency) == ("ofx:1234567891234567", "GBP")
    [t] = of(records, Transaction)
    assert (t.transaction_id, t.trn_type, t.posted_date, t.amount) == (
        "ABCDEFGHIJ", "POS", dt.date(2016, 8, 23), Decimal("-100.00"))
    assert (t.reference, t.payee) == ("VENDOR", "VENDOR")
    bal = balances(records)
    assert bal[(acct.account_id, "ledger")].amount == Decimal("-500.00")
    assert bal[(acct.account_id, "available")].amount == Decimal("500.00")


# -- investments -----------------------------------------------------------------


def test_fidelity_investment_statement():
    records = parse("fidelity.ofx")
    [inst] = of(records, Institution)
    assert (inst.institution_id, inst.ofx_fid) == ("ofx:fidelity.com", "7776")
    [acct] = of(records, Account)
    assert (acct.account_id, acct.type, acct.currency, acct.bank_id) == (
        "ofx:fidelity.com:01234567890", "investment", "USD", "fidelity.com")

    inv = {t.transaction_id: t for t in of(records, InvestmentTransaction)}
    assert [t.action for t in inv.values()].count("BUYSTOCK") == 8
    assert [t.action for t in inv.values()].count("INCOME") == 4
    assert [t.action for t in inv.values()].count("SELLSTOCK") == 2
    buy = inv["0123456789020201120120720"]
    assert (buy.trade_date, buy.security_id, buy.subtype, buy.memo) == (
        dt.date(2012, 7, 20), "CUSIP:458140100", "BUY", "YOU BOUGHT")
    assert (buy.units, buy.unit_price, buy.commission, buy.fees, buy.total) == (
        Decimal("100"), Decimal("25.635"), Decimal("7.95"), Decimal("0"), Decimal("-2571.45"))
    assert (buy.currency, buy.subaccount_sec, buy.subaccount_fund) == ("USD", "CASH", "CASH")
    div = inv["0123456789021301520120731"]
    assert (div.action, div.subtype, div.total, div.security_id) == (
        "INCOME", "DIV", Decimal("5.53"), "CUSIP:78462F103")
    sell = inv["0123456789020901320120727"]
    assert (sell.action, sell.subtype, sell.units, sell.unit_price, sell.total) == (
        "SELLSTOCK", "SELL", Decimal("-8"), Decimal("137.16"), Decimal("1089.30"))
    reinvest = inv["0123456789023501220120820"]
    assert (reinvest.memo, reinvest.units, reinvest.total) == ("REINVESTMENT", Decimal("4.909"), Decimal("-14.47"))

    cash = by_id(records)  # INVBANKTRAN: cash movements of the investment account
    assert set(cash) == {"0123456789021301320120731", "0123456789023501120120820", "0123456789024401420120831"}
    fee = cash["0123456789023501120120820"]
    assert (fee.account_id, fee.amount, fee.payee, fee.trn_type, fee.posted_date) == (
        acct.account_id, Decimal("-0.97"), "LATE SETTLEMENT FEE", "OTHER", dt.date(2012, 8, 20))
    assert fee.details == {"subaccount_fund": "CASH"}
    assert cash["0123456789021301320120731"].amount == Decimal("0.24")

    holdings = {h.security_id: h for h in of(records, Holding)}
    assert len(holdings) == 6
    sdrl = holdings["CUSIP:G7945E105"]
    assert (sdrl.as_of, sdrl.held_in, sdrl.position_type) == (dt.date(2012, 9, 8), "CASH", "LONG")
    assert (sdrl.units, sdrl.unit_price, sdrl.market_value) == (Decimal("128"), Decimal("40.87"), Decimal("5231.36"))
    assert holdings["CUSIP:98417P105"].units == Decimal("390.909")

    secs = {s.security_id: s for s in of(records, Security)}
    assert len(secs) == 7
    spy = secs["CUSIP:78462F103"]
    assert (spy.name, spy.ticker, spy.security_type, spy.currency) == (
        "SPDR S&P 500 ETF TRUST UNIT SER 1 S&P", "SPY", "stock", "USD")
    assert (spy.id_type, spy.unique_id) == ("CUSIP", "78462F103")
    assert secs["CUSIP:G7945E105"].name == "SEADRILL LTD USD2"

    bal = balances(records)
    assert bal[(acct.account_id, "cash")].amount == Decimal("18073.98")
    assert bal[(acct.account_id, "cash")].as_of == dt.date(2012, 9, 8)
    assert bal[(acct.account_id, "ballist:Networth")].amount == Decimal("32993.79")
    assert bal[(acct.account_id, "ballist:Total Money Markets")].amount == Decimal("18073.98")
    assert (acct.account_id, "ballist:Margin Equity Percentage") not in bal  # a percentage, not money


def test_synthetic_ofx2_xml():
    records = parse("synthetic-ofx2.ofx")
    [inst] = of(records, Institution)
    assert (inst.institution_id, inst.name, inst.ofx_fid) == (
        "ofx:Example Bank & Brokerage", "Example Bank & Brokerage", "99999")
    accts = {a.account_id: a for a in of(records, Account)}
    assert set(accts) == {"ofx:4000123412341234", "ofx:example.com:X12345678"}
    t = by_id(records)
    assert t["CC-0001"].posted_date == dt.date(2024, 3, 23)
    # 09:30 at +10:00 is the previous day in UTC: the institution's local day is kept
    assert t["CC-0002"].posted_date == dt.date(2024, 3, 2)
    assert (t["CC-0002"].amount, t["CC-0002"].currency) == (Decimal("-25.00"), "USD")
    assert (t["CC-0003"].amount, t["CC-0003"].currency) == (Decimal("500.00"), "AUD")
    assert t["CC-0004"].details == {"correctfitid": "CC-0000", "correctaction": "REPLACE"}
    [removed] = of(records, RemovedTransaction)
    assert (removed.account_id, removed.transaction_id) == ("ofx:4000123412341234", "CC-0000")
    assert t["CASH-1"].account_id == "ofx:example.com:X12345678"
    inv = {x.transaction_id: x for x in of(records, InvestmentTransaction)}
    assert (inv["INV-1"].action, inv["INV-1"].subtype, inv["INV-1"].settle_date) == ("BUYMF", "BUY",
                                                                                     dt.date(2024, 1, 16))
    assert (inv["INV-2"].action, inv["INV-2"].subtype, inv["INV-2"].units) == ("REINVEST", "DIV", Decimal("0.0285"))
    assert (inv["INV-3"].action, inv["INV-3"].total) == ("INCOME", Decimal("12.34"))
    [h] = of(records, Holding)
    assert (h.security_id, h.as_of, h.units, h.market_value) == (
        "CUSIP:922908769", dt.date(2024, 3, 22), Decimal("2.5285"), Decimal("1100.15"))
    [s] = of(records, Security)
    assert (s.ticker, s.security_type, s.unit_price) == ("VTI", "mutual fund", Decimal("435.10"))
    bal = balances(records)
    assert bal[("ofx:4000123412341234", "ledger")].amount == Decimal("-1523.45")


# -- values ------------------------------------------------------------------------


@pytest.mark.parametrize("text, day, moment", [
    ("20090401122017.000[-5:EST]", dt.date(2009, 4, 1), dt.datetime(2009, 4, 1, 17, 20, 17, tzinfo=UTC)),
    ("20240323000000[-3:GMT]", dt.date(2024, 3, 23), dt.datetime(2024, 3, 23, 3, tzinfo=UTC)),
    ("20120908190849.317[-4:EDT]", dt.date(2012, 9, 8), dt.datetime(2012, 9, 8, 23, 8, 49, 317000, tzinfo=UTC)),
    ("20160601", dt.date(2016, 6, 1), dt.datetime(2016, 6, 1, tzinfo=UTC)),
    ("20130525225731.258", dt.date(2013, 5, 25), dt.datetime(2013, 5, 25, 22, 57, 31, 258000, tzinfo=UTC)),
    ("20240101120000[+5.30:IST]", dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 6, 30, tzinfo=UTC)),
])
def test_ofx_dates(text, day, moment):
    got_day, got_moment = parse_ofx_datetime(text)
    assert got_day == day
    assert got_moment == moment
    assert got_moment.utcoffset() is not None


def test_charset_1252_is_decoded():
    body = (FIX / "checking.ofx").read_bytes().replace(b"ELECTRIC BILL WEB", "ÉLECTRIC BILL WEB".encode("cp1252"))
    assert by_id(parse(body=body))["0000487"].memo == "AUTOMATIC WITHDRAWAL, ÉLECTRIC BILL WEB(S )"


def test_file_without_header_still_parses_from_ofx_element():
    body = (FIX / "checking.ofx").read_bytes()
    assert set(by_id(parse(body=body[body.index(b"<OFX>"):]))) == {"0000486", "0000487", "0000488"}


# -- ids ---------------------------------------------------------------------------


def test_overlapping_statements_give_the_same_ids():
    full = (FIX / "checking.ofx").read_bytes()
    # a later download: the first transaction has dropped out of the window
    start = full.index(b"<STMTTRN>")
    later = full[:start] + full[full.index(b"</STMTTRN>", start) + len(b"</STMTTRN>"):]
    a, b = by_id(parse(body=full)), by_id(parse(body=later))
    assert set(b) == {"0000487", "0000488"}
    for tid in b:
        assert a[tid] == b[tid]
        assert (a[tid].account_id, a[tid].transaction_id) == (b[tid].account_id, b[tid].transaction_id)


def test_rows_without_fitid_get_stable_content_ids_and_same_day_twins_stay_two():
    body = (FIX / "checking.ofx").read_bytes()
    body = re.sub(rb"\t*<FITID>[^\r\n]*\r?\n", b"", body)
    # the electric bill twice on the same day: two real debits
    start = body.index(b"<STMTTRN>", body.index(b"<TRNAMT>0.01"))
    end = body.index(b"</STMTTRN>", start) + len(b"</STMTTRN>")
    body = body[:end] + b"\n" + body[start:end] + body[end:]
    first = of(parse(body=body), Transaction)
    again = of(parse(body=body), Transaction)
    assert len(first) == 4
    ids = [t.transaction_id for t in first]
    assert all(i.startswith("ofx:") and len(i) == 4 + 40 for i in ids)
    assert len(set(ids)) == 4
    assert ids == [t.transaction_id for t in again]


def test_same_fitid_twice_with_different_content_is_rejected_not_merged():
    body = (FIX / "checking.ofx").read_bytes().replace(b"<FITID>0000488", b"<FITID>0000487")
    records = parse(body=body)
    assert set(by_id(records)) == {"0000486", "0000487"}
    [bad] = of(records, Rejected)
    assert "0000487" in bad.reason and bad.table == "finance.transactions"


# -- failures ----------------------------------------------------------------------


def test_bad_amount_becomes_rejected_and_the_rest_loads():
    body = (FIX / "checking.ofx").read_bytes().replace(b"<TRNAMT>-34.51", b"<TRNAMT>abc")
    records = parse(body=body)
    [bad] = of(records, Rejected)
    assert bad.table == "finance.transactions"
    assert "TRNAMT" in bad.reason and "'abc'" in bad.reason
    assert bad.raw["FITID"] == "0000487" and bad.raw["TRNAMT"] == "abc"
    assert bad.source_url.endswith("x.ofx")
    assert set(by_id(records)) == {"0000486", "0000488"}


def test_missing_date_becomes_rejected():
    body = (FIX / "bank_medium.ofx").read_bytes().replace(b"<DTPOSTED>20090402122017.000[-5:EST]", b"")
    [bad] = of(parse(body=body), Rejected)
    assert "DTPOSTED is missing" in bad.reason


def test_truncated_file_raises_and_yields_nothing():
    body = (FIX / "checking.ofx").read_bytes()[:1200]
    gen = OfxStatementsSpider().parse(response(body=body, url="file:///downloads/cut.qfx"))
    with pytest.raises(ParseError) as err:
        next(gen)
    msg = str(err.value)
    assert "/downloads/cut.qfx" in msg
    assert "ends inside <MEMO>" in msg and "STMTTRN" in msg


def test_mismatched_end_tag_names_line_and_tags():
    body = (FIX / "checking.ofx").read_bytes().replace(b"</BANKTRANLIST>", b"</BANKMSGSRSV1>")
    with pytest.raises(ParseError, match=r"x\.ofx: broken OFX at line 71: </BANKMSGSRSV1> closes "
                                         r"<BANKMSGSRSV1> while <BANKTRANLIST> is still open"):
        parse(body=body)


def test_truncated_one_line_file_raises():
    body = (FIX / "bank_medium.ofx").read_bytes()[:900]
    with pytest.raises(ParseError, match="ends inside <STMTTRN>"):
        parse(body=body)


def test_not_ofx_raises_with_what_was_expected():
    with pytest.raises(ParseError, match=r"page\.html: not an OFX/QFX statement: expected an OFX header"):
        parse(body=b"<html><body>Please log in</body></html>", url="file:///tmp/page.html")


def test_signon_refusal_is_reported():
    body = (FIX / "suncorp.ofx").read_bytes()
    body = body.replace(b"<CODE>0</CODE>\r\n        <SEVERITY>INFO</SEVERITY>\r\n      </STATUS>\r\n      <DTSERVER>",
                        b"<CODE>15500</CODE>\r\n        <SEVERITY>ERROR</SEVERITY>\r\n"
                        b"        <MESSAGE>Invalid user or password</MESSAGE>\r\n      </STATUS>\r\n      <DTSERVER>",
                        1)
    with pytest.raises(ParseError, match="refused the sign-on .status 15500 ERROR: Invalid user or password"):
        parse(body=body)


def test_statement_less_ofx_raises():
    body = b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n" \
           b"COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n<OFX><SIGNONMSGSRSV1><SONRS><STATUS>" \
           b"<CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20240101</SONRS></SIGNONMSGSRSV1></OFX>"
    with pytest.raises(ParseError, match="without a statement: expected a bank .STMTRS."):
        parse(body=body)


# -- files and Direct Connect --------------------------------------------------------


def test_a_folder_stands_for_its_ofx_and_qfx_files(tmp_path):
    (tmp_path / "a.ofx").write_bytes(b"x")
    (tmp_path / "b.QFX").write_bytes(b"x")
    (tmp_path / "notes.txt").write_bytes(b"x")
    urls = expand_files(str(tmp_path), OfxStatementsSpider.file_suffixes)
    assert urls == [(tmp_path / "a.ofx").as_uri(), (tmp_path / "b.QFX").as_uri()]
    assert expand_files(f"{tmp_path}/*.txt", (".ofx",)) == [(tmp_path / "notes.txt").as_uri()]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="No .ofx/.qfx/.qbo files in folder"):
        expand_files(str(empty), OfxStatementsSpider.file_suffixes)


ENV = {
    "PDE_OFX_URL": "https://ofx.bank.test/ofx", "PDE_OFX_ORG": "BANK", "PDE_OFX_FID": "1234",
    "PDE_OFX_USER": "alice", "PDE_OFX_PASSWORD": "hunter2-secret", "PDE_OFX_BANKID": "123456789",
    "PDE_OFX_ACCTID": "1111,CREDITCARD:4111222233334444", "PDE_OFX_VERSION": "102",
}


def test_direct_connect_request_from_environment():
    now = dt.datetime(2024, 3, 23, 12, tzinfo=UTC)
    url, body, headers = direct_connect_request(ENV, days=30, now=now)
    assert url == "https://ofx.bank.test/ofx"
    assert headers["Content-Type"] == "application/x-ofx"
    text = body.decode()
    assert text.startswith("OFXHEADER:100")
    for fragment in ("<USERID>alice", "<USERPASS>hunter2-secret", "<ORG>BANK", "<FID>1234",
                     "<BANKID>123456789", "<ACCTID>1111", "<ACCTTYPE>CHECKING",
                     "<CCACCTFROM><ACCTID>4111222233334444", "<DTSTART>20240222120000",
                     "<DTEND>20240323120000"):
        assert fragment in text, fragment


def test_direct_connect_needs_its_variables():
    with pytest.raises(ValueError, match="PDE_OFX_URL, PDE_OFX_USER, PDE_OFX_PASSWORD, PDE_OFX_ACCTID"):
        direct_connect_request({})
    with pytest.raises(ValueError, match="needs PDE_OFX_BANKID"):
        direct_connect_request({**ENV, "PDE_OFX_BANKID": ""})


def test_live_request_is_a_post_without_url_argument(monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    [req] = list(OfxStatementsSpider(days="7").live_requests())
    assert (req.method, req.url) == ("POST", "https://ofx.bank.test/ofx")
    assert req.headers[b"Content-Type"] == b"application/x-ofx"
    assert b"<USERID>alice" in req.body


def test_cassette_replay_loads_every_statement(pg_url, pde_home):
    """The recorded fixture (every file above, served over HTTP) through scrapy and PostgreSQL."""
    import psycopg2

    from pde import cassettes
    from tests.conftest import run_crawl

    cassette = FIX / "ofx_statements.json"
    p = run_crawl("ofx_statements", db=pg_url, cassette=cassette, args=cassettes.metadata(cassette)["args"])
    assert p.returncode == 0, p.stderr[-3000:]
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM finance.transactions")
        assert cur.fetchone()[0] == 3 + 3 + 1 + 1 + 0 + 3 + 42 + 6 + 1 + 5  # one per STMTTRN in the 10 files
        cur.execute("SELECT amount, currency FROM finance.transactions WHERE transaction_id = '0000487'")
        assert cur.fetchall() == [(Decimal("-34.51"), "USD")]
        cur.execute("SELECT count(*) FROM finance.holdings")
        assert cur.fetchone()[0] == 7
        cur.execute("SELECT count(*) FROM finance.investment_transactions")
        assert cur.fetchone()[0] == 14 + 3
        cur.execute("SELECT count(*) FROM platform.quarantine")
        assert cur.fetchone()[0] == 0


def test_scheduled_run_reads_the_statement_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("PDE_OFX_URL", raising=False)
    monkeypatch.delenv("PDE_OFX_DIR", raising=False)
    with pytest.raises(ValueError, match="needs -a url=<files or folder>, PDE_OFX_DIR"):
        list(OfxStatementsSpider().live_requests())
    (tmp_path / "june.qfx").write_bytes((FIX / "bank_medium.ofx").read_bytes())
    monkeypatch.setenv("PDE_OFX_DIR", str(tmp_path))
    [req] = list(OfxStatementsSpider().live_requests())
    assert req.url == (tmp_path / "june.qfx").as_uri()


# -- real files from other projects, and the quirks real banks write (issue 11) ---------------
#
# "Right" is checked independently of the parser: the counts and sums below come from a few
# regular expressions over the raw file, and from GnuCash's libofx where it is installed.

PEER = FIX / "peer"
QUIRKS = FIX / "quirks"
LIBOFX = FIX / "libofx"
STATEMENT_SUFFIXES = (".ofx", ".qfx", ".qbo")
PEER_FILES = sorted(p for p in PEER.rglob("*") if p.suffix.lower() in STATEMENT_SUFFIXES)
QUIRK_FILES = sorted(p for p in QUIRKS.iterdir() if p.suffix.lower() in STATEMENT_SUFFIXES)


def raw_text(path: Path) -> str:
    return path.read_bytes().decode("latin-1")


def raw_tag(block: str, tag: str) -> str | None:
    m = re.search(rf"<{tag}>([^<\r\n]*)", block, re.I)
    return m.group(1).strip() if m else None


def raw_stmttrns(raw: str) -> list[dict]:
    """Every <STMTTRN> block of the raw file: FITID, TRNAMT, DTPOSTED as written."""
    blocks = re.findall(r"<STMTTRN>(.*?)(?=</STMTTRN>|<STMTTRN>|</BANKTRANLIST>|</INVBANKTRAN>)", raw, re.S | re.I)
    return [{"fitid": raw_tag(b, "FITID"), "amount": raw_tag(b, "TRNAMT"), "posted": raw_tag(b, "DTPOSTED")}
            for b in blocks]


def raw_is_valid(trn: dict) -> bool:
    """What a careful reader loads: a real calendar date and a plain number."""
    m = re.match(r"(\d{4})(\d{2})(\d{2})", trn["posted"] or "")
    try:
        dt.date(*map(int, m.groups())) if m else None
    except ValueError:
        return False
    return bool(m) and re.fullmatch(r"[-+]?\d+([.,]\d+)?", trn["amount"] or "") is not None


def expected_transactions(raw: str) -> tuple[list[dict], int]:
    """(the transactions that must load, how many must go to quarantine): a second use of a
    FITID is set aside, never merged."""
    trns = raw_stmttrns(raw)
    seen, load = set(), []
    for t in trns:
        if raw_is_valid(t) and (not t["fitid"] or t["fitid"] not in seen):
            load.append(t)
            seen.add(t["fitid"])
    return load, len(trns) - len(load)


def raw_amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def refusal_reason(raw: str) -> str:
    """What a file without a statement is, read from the raw text: the words the refusal must use."""
    if re.search(r"<SONRS>(?:(?!</SONRS>).)*<SEVERITY>\s*ERROR", raw, re.S | re.I):
        return "refused the sign-on"
    if re.search(r"<CODE>\s*[1-9]", raw):
        return "answered with an error instead of a statement"
    if "<ACCTINFORS>" in raw:
        return "an account list"
    if "<INTRARS>" in raw:
        return "a transfer confirmation"
    if re.search(r"<OFX>\s*</OFX>", raw):
        return "an empty OFX file"
    return "only a sign-on answer"


def parse_file(path: Path, **kwargs) -> list:
    return parse_ofx(path.read_bytes(), str(path), **kwargs)


@pytest.mark.parametrize("path", PEER_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_peer_file_loads_right_or_is_refused_clearly(path):
    raw = raw_text(path)
    if not re.search(r"<(STMTRS|CCSTMTRS|INVSTMTRS)>", raw):
        with pytest.raises(ParseError) as err:
            parse_file(path)
        assert str(path) in str(err.value)
        assert refusal_reason(raw) in str(err.value)
        return
    records = parse_file(path, fallback_account=path.stem)
    for r in records:
        assert isinstance(r, Rejected) or validate(r) is None, r
    quarantined = Counter(r.table for r in records if isinstance(r, Rejected))

    load, set_aside = expected_transactions(raw)
    loaded = of(records, Transaction)
    assert len(loaded) == len(load)
    assert sum(t.amount for t in loaded) == sum(raw_amount(t["amount"]) for t in load)
    # each transaction's id, amount and day, as written
    assert Counter((t.transaction_id if t.transaction_id[:4] != "ofx:" else None, t.amount, t.posted_date)
                   for t in loaded) == \
        Counter((t["fitid"] or None, raw_amount(t["amount"]), dt.datetime.strptime(t["posted"][:8], "%Y%m%d").date())
                for t in load)
    assert quarantined["finance.transactions"] == set_aside

    invtran = re.findall(r"<INVTRAN>\s*<FITID>([^<\s]+)", raw)
    inv = of(records, InvestmentTransaction)
    assert len(inv) + quarantined["finance.investment_transactions"] == len(invtran)
    assert {i.transaction_id for i in inv} <= set(invtran)
    positions = len(re.findall(r"<INVPOS>", raw))
    holdings = of(records, Holding)
    assert len(holdings) + quarantined["finance.holdings"] == positions
    # the holdings table keeps one row per account, security, day and sub-account: the values add up
    # with what was set aside
    aside = sum(Decimal(r.raw["INVPOS"]["MKTVAL"]) for r in records
                if isinstance(r, Rejected) and r.table == "finance.holdings")
    assert sum(h.market_value or 0 for h in holdings) + aside == \
        sum(raw_amount(v) for v in re.findall(r"<MKTVAL>([^<\s]+)", raw))
    secids = re.findall(r"<SECINFO>\s*<SECID>\s*<UNIQUEID>([^<\s]+)", raw)
    securities = {s.security_id.split(":", 1)[1]: s for s in of(records, Security)}
    assert set(securities) == set(secids)
    assert len(securities) + quarantined["finance.securities"] == len(secids)  # one CUSIP twice: set aside
    assert {s.name for s in securities.values() if s.name} <= \
        {html.unescape(n.strip()) for n in re.findall(r"<SECNAME>([^<\r\n]+)", raw)}
    for tag, kind in (("LEDGERBAL", "ledger"), ("AVAILBAL", "available")):
        amounts = [raw_tag(b, "BALAMT") for b in re.findall(rf"<{tag}>(.*?)</{tag}>", raw, re.S)]
        got = [b.amount for b in of(records, Balance) if b.balance_type == kind]
        assert sorted(got) == sorted(raw_amount(a) for a in amounts if a)


# -- a second reader: GnuCash's libofx -----------------------------------------------------------


@pytest.fixture(scope="module")
def libofx_reader(tmp_path_factory):
    """tests/tools/libofx_transactions.c built against libofx (scripts/system-deps.sh installs libofx-dev)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc or not Path("/usr/include/libofx/libofx.h").exists():
        pytest.skip("libofx is not installed (Debian: libofx-dev, see scripts/system-deps.sh); no cross-check")
    exe = tmp_path_factory.mktemp("libofx") / "libofx_transactions"
    src = Path(__file__).parent / "tools" / "libofx_transactions.c"
    subprocess.run([cc, str(src), "-lofx", "-o", str(exe)], check=True, capture_output=True)
    return exe


def libofx_transactions(exe: Path, path: Path) -> list[tuple[str, Decimal]]:
    out = subprocess.run([str(exe), str(path)], capture_output=True, text=True, timeout=60, check=False).stdout
    return [(fitid, Decimal(amount)) for fitid, amount, _ in
            (line.split(" ")[1:] for line in out.splitlines() if line.startswith("TRN "))]


# bank and card statements (libofx reports an investment account's cash rows differently)
CROSS_CHECKED = [p for p in [*PEER_FILES, *QUIRK_FILES, *sorted(FIX.glob("*.ofx"))]
                 if re.search(r"<(STMTRS|CCSTMTRS)>", raw_text(p)) and "<INVSTMTRS>" not in raw_text(p)]


@pytest.mark.parametrize("path", CROSS_CHECKED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_libofx_reads_the_same_transactions(libofx_reader, path):
    raw = raw_text(path)
    if not re.search(r"<ACCTID>", raw):
        pytest.skip("libofx reports no transactions for a statement without an account")
    theirs = libofx_transactions(libofx_reader, path)
    records = parse_file(path, fallback_account=path.stem)
    ours = of(records, Transaction)
    set_aside = [r for r in records if isinstance(r, Rejected) and r.table == "finance.transactions"]
    # libofx keeps what pde sets aside (bad dates, a repeated FITID): together they are the same rows
    assert len(theirs) == len(ours) + len(set_aside)
    for t in ours:
        fitid = t.transaction_id if not t.transaction_id.startswith("ofx:") else "-"
        if fitid != "-":
            assert (fitid, t.amount) in theirs


# -- each tolerance ------------------------------------------------------------------------------


def checking_ids() -> dict:
    return by_id(parse("checking.ofx"))


def test_nul_bytes_and_blank_lines_after_the_end_are_ignored():
    body = (QUIRKS / "nul-after-ofx.qfx").read_bytes()
    assert body.rstrip(b"\x00\n ").endswith(b"</OFX>") and b"\x00" in body  # the quirk is there
    assert by_id(parse_file(QUIRKS / "nul-after-ofx.qfx")) == checking_ids()


def test_text_after_the_end_is_ignored_and_logged(caplog):
    body = (FIX / "checking.ofx").read_bytes() + b"\r\n<!-- end -->\r\nDownloaded from online banking\r\n"
    with caplog.at_level(logging.INFO, logger="scrapers.finance.ofx_statements"):
        assert by_id(parse(body=body)) == checking_ids()
    assert "after </OFX>" in caplog.text


def test_headerless_file_loads():
    # ofxparse's empty_balance.ofx has no OFX header at all (its authors' bank download, trimmed)
    path = PEER / "jseutter__ofxparse" / "empty_balance.ofx"
    assert not raw_text(path).lstrip().startswith("OFXHEADER")
    [t] = of(parse_file(path), Transaction)
    assert (t.transaction_id, t.amount, t.currency, t.posted_date) == (
        "2000957249", Decimal("120"), "CAD", dt.date(2011, 3, 8))


def test_qbo_files_are_found_in_folders_and_globs(tmp_path):
    shutil.copy(QUIRKS / "checking.qbo", tmp_path / "March.QBO")
    shutil.copy(FIX / "checking.ofx", tmp_path / "april.ofx")
    (tmp_path / "notes.txt").write_text("x")
    sub = tmp_path / "2024"
    sub.mkdir()
    shutil.copy(QUIRKS / "checking.qbo", sub / "may.qbo")
    folder = expand_files(str(tmp_path), OfxStatementsSpider.file_suffixes)
    assert folder == [(tmp_path / "March.QBO").as_uri(), (tmp_path / "april.ofx").as_uri()]
    assert expand_files(f"{tmp_path}/*.QBO", OfxStatementsSpider.file_suffixes) == [(tmp_path / "March.QBO").as_uri()]
    # a glob that matches folders stands for their statement files
    assert expand_files(f"{tmp_path}/20*", OfxStatementsSpider.file_suffixes) == [(sub / "may.qbo").as_uri()]
    assert by_id(parse_file(QUIRKS / "checking.qbo")) == checking_ids()


def test_self_closing_and_empty_elements():
    # ofxstatement writes <BANKID/> and <BALAMT/>; ofxparse's ofx-v102-empty-tags.ofx (an Australian
    # bank, CBA) and empty_balance.ofx have empty <BALAMT></BALAMT>: the balance is set aside, the rest loads
    records = parse_file(QUIRKS / "self-closing.ofx")
    [acct] = of(records, Account)
    assert (acct.account_id, acct.bank_id) == ("ofx:1452687~7", None)
    t = by_id(records)
    assert set(t) == {"0000486", "0000487", "0000488"} and t["0000487"].memo is None
    assert balances(records)[(acct.account_id, "ledger")].amount == Decimal("100.99")
    [bad] = of(records, Rejected)
    assert (bad.table, bad.raw["BALAMT"]) == ("finance.balances", "") and "BALAMT is missing or empty" in bad.reason
    records = parse_file(PEER / "jseutter__ofxparse" / "ofx-v102-empty-tags.ofx")
    [t] = of(records, Transaction)
    assert (t.amount, t.currency, t.memo) == (Decimal("12.34"), "AUD", "CBA:Transfer")
    assert [r.table for r in of(records, Rejected)] == ["finance.balances"]


def test_missing_banktranlist_end_tag_nubank():
    # Nubank (Brazil) leaves </BANKTRANLIST> out; the balance after it must still be the statement's
    records = parse_file(QUIRKS / "nubank-banktranlist-not-closed.ofx")
    raw = raw_text(QUIRKS / "nubank-banktranlist-not-closed.ofx")
    assert "</BANKTRANLIST>" not in raw
    loaded = of(records, Transaction)
    assert [t.amount for t in loaded] == [raw_amount(a) for a in re.findall(r"<TRNAMT>([^<]+)", raw)]
    [acct] = of(records, Account)
    assert (acct.account_id, acct.currency) == ("ofx:0260:1:99887766-5", "BRL")
    assert balances(records)[(acct.account_id, "ledger")].amount == Decimal("1207.10")
    assert not of(records, Rejected)
    # the same with nothing between the last </STMTTRN> and </STMTRS>
    body = re.sub(rb"<LEDGERBAL>.*?</LEDGERBAL>\n", b"", (QUIRKS / "nubank-banktranlist-not-closed.ofx").read_bytes(),
                  flags=re.S)
    assert len(of(parse(body=body), Transaction)) == 3


def test_missing_yeartodate_end_tag_in_the_specifications_own_example():
    path = LIBOFX / "ofx-2.1.1-sect-13.13.ofx"
    raw = raw_text(path)
    assert raw.count("<YEARTODATE>") == 1 and "</YEARTODATE>" not in raw
    records = parse_file(path)
    inv = of(records, InvestmentTransaction)
    assert sorted(i.transaction_id for i in inv) == sorted(re.findall(r"<FITID>([^<]+)</FITID>", raw))
    assert sum(i.total for i in inv) == sum(Decimal(x) for x in re.findall(r"<INVBUY>.*?<TOTAL>([^<]+)", raw, re.S))
    assert {i.action for i in inv} == {"BUYMF"} and not of(records, Rejected)


def test_stray_and_swapped_end_tags_amex():
    # American Express QFX: one line, unclosed elements, end tags repeated or after their parent's
    path = QUIRKS / "amex-stray-end-tags.qfx"
    raw = raw_text(path)
    records = parse_file(path)
    t = by_id(records)
    assert sorted(t) == sorted(re.findall(r"<FITID>(\d+)", raw))
    assert sum(x.amount for x in t.values()) == sum(raw_amount(a) for a in re.findall(r"<TRNAMT>([-\d.]+)", raw))
    assert t["320240340123456789"].memo == "OAKLAND CA" and t["320240340123456789"].payee == "BLUE BOTTLE COFFEE"
    [acct] = of(records, Account)
    assert balances(records)[(acct.account_id, "ledger")].amount == Decimal("-402.49")


def test_credit_card_statement_closed_as_bank_statement_cba():
    # Commonwealth Bank of Australia: <CCSTMTRS> ... </STMTRS>
    records = parse_file(QUIRKS / "cba-ccstmtrs-closed-as-stmtrs.ofx")
    assert [t.amount for t in of(records, Transaction)] == [Decimal("-64.20"), Decimal("500.00")]
    [acct] = of(records, Account)
    assert acct.type == "credit card"
    assert balances(records)[(acct.account_id, "ledger")].amount == Decimal("-1234.56")


def test_stmttrn_after_the_transaction_list():
    records = parse_file(QUIRKS / "stmttrn-after-banktranlist.ofx")
    assert by_id(records) == checking_ids()
    assert balances(records) == balances(parse("checking.ofx"))


def test_end_tags_that_leave_the_structure_ambiguous_are_refused():
    # an early end tag, then content, then the end tag of what it closed: did the MEMO belong to
    # the transaction or not? Refused, naming both places.
    body = (FIX / "checking.ofx").read_bytes()
    assert body.count(b"<MEMO>AUTOMATIC WITHDRAWAL") == 1
    body = body.replace(b"<MEMO>AUTOMATIC WITHDRAWAL", b"</BANKTRANLIST><MEMO>AUTOMATIC WITHDRAWAL")
    early = body[:body.index(b"</BANKTRANLIST><MEMO>")].count(b"\n") + 1
    with pytest.raises(ParseError, match=rf"broken OFX at line {early}: </BANKTRANLIST> closes <BANKTRANLIST> while "
                                         rf"<STMTTRN> is still open; then at line {early + 1}: </STMTTRN> closes an "
                                         rf"element already ended at line {early}"):
        parse(body=body)


def test_invalid_time_sets_aside_only_that_value_capital_one_360():
    records = parse_file(QUIRKS / "capitalone360-minute-82.qfx")
    assert len(of(records, Transaction)) == 2
    [acct] = of(records, Account)
    bal = balances(records)
    ledger, available = bal[(acct.account_id, "ledger")], bal[(acct.account_id, "available")]
    assert (ledger.amount, ledger.as_of, ledger.as_of_time) == (Decimal("12018.42"), dt.date(2023, 10, 15), None)
    assert available.as_of_time == dt.datetime(2023, 10, 15, 12, tzinfo=UTC)
    [aside] = of(records, Rejected)
    assert aside.table == "finance.balances" and aside.raw["DTASOF"] == "20231015128200.000"
    assert "minute must be in 0..59" in aside.reason and "only the time is set aside" in aside.reason


def test_statement_without_account_takes_the_argument_or_the_file_name(caplog):
    # Actual Budget's tracking-number.ofx: a STMTRS with no BANKACCTFROM
    path = PEER / "actualbudget__actual" / "tracking-number.ofx"
    with caplog.at_level(logging.WARNING, logger="scrapers.finance.ofx_statements"):
        records = parse_file(path, account="joint-checking", fallback_account="tracking-number")
    [acct] = of(records, Account)
    assert (acct.account_id, acct.name, acct.number) == ("ofx:joint-checking", "joint-checking", None)
    assert {t.account_id for t in of(records, Transaction)} == {"ofx:joint-checking"}
    assert "has no BANKACCTFROM" in caplog.text and "'joint-checking' (from -a account=)" in caplog.text
    [acct] = of(parse_file(path, fallback_account="tracking-number"), Account)
    assert acct.account_id == "ofx:tracking-number"
    with pytest.raises(ParseError, match="pass -a account=NAME"):
        parse_file(path)


def test_the_banks_own_error_is_reported():
    # Silicon Valley Bank answered a statement request with STATUS 2000 (ofxparse's error_message.ofx)
    with pytest.raises(ParseError) as err:
        parse_file(PEER / "jseutter__ofxparse" / "error_message.ofx")
    msg = str(err.value)
    assert "answered with an error instead of a statement: STMTTRNRS status 2000 ERROR: General Server Error" in msg
    assert "try the download again later" in msg
    with pytest.raises(ParseError, match="refused the sign-on .status 15500 ERROR: Your request could not be"):
        parse_file(PEER / "jseutter__ofxparse" / "signon_fail.ofx")


def test_same_fitid_twice_identical_is_set_aside_not_merged():
    records = parse_file(QUIRKS / "duplicate-fitid.ofx")
    assert by_id(records) == checking_ids()
    [aside] = of(records, Rejected)
    assert aside.raw["FITID"] == "0000486" and "appears twice in this file" in aside.reason


def test_transactions_without_date_or_amount_are_quarantined_and_the_rest_loads():
    # ofxparse's date_missing.ofx: no DTPOSTED, an empty one, and 2012-02-31
    records = parse_file(PEER / "jseutter__ofxparse" / "date_missing.ofx")
    assert of(records, Transaction) == []
    reasons = [r.reason for r in of(records, Rejected)]
    assert len(reasons) == 3 and sum("DTPOSTED is missing or empty" in r for r in reasons) == 2
    assert "day is out of range" in reasons[2]
    assert of(records, Account) and of(records, Balance)
    body = (FIX / "checking.ofx").read_bytes().replace(b"<TRNAMT>-34.51\n", b"")
    records = parse(body=body)
    assert set(by_id(records)) == {"0000486", "0000488"}
    assert "TRNAMT is missing or empty" in of(records, Rejected)[0].reason


FUZZED = sorted(p for p in LIBOFX.iterdir() if p.suffix in (".ofx", ".xml") and "sect" not in p.name)


@pytest.mark.parametrize("path", FUZZED, ids=lambda p: p.name)
def test_libofx_fuzzing_files_are_refused_with_line_and_reason(path):
    with pytest.raises(ParseError) as err:
        parse_file(path)
    msg = str(err.value)
    assert msg.startswith(str(path))
    assert re.search(r"broken OFX at line \d+: .*(cannot be inside|ends inside)", msg) or \
        "not an OFX/QFX statement" in msg


# -- through scrapy and PostgreSQL ------------------------------------------------------------------


def crawl(pg_url, *paths, args=None, settings=None):
    from tests.conftest import run_crawl

    url = ",".join(str(p) for p in paths)
    return run_crawl("ofx_statements", db=pg_url, args={"url": url, **(args or {})}, settings=settings)


def query(pg_url, sql, *params):
    import psycopg2

    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(sql, params or None)
        return cur.fetchall()


def last_run(pg_url):
    return query(pg_url, "SELECT status, items_quarantined, coalesce(message, '') FROM platform.runs "
                         "ORDER BY run_id DESC LIMIT 1")[0]


def test_crawl_folder_with_qbo_headerless_and_padded_files(pg_url, pde_home, tmp_path):
    headerless = PEER / "jseutter__ofxparse" / "empty_balance.ofx"
    for path in (QUIRKS / "checking.qbo", QUIRKS / "nul-after-ofx.qfx", headerless):
        shutil.copy(path, tmp_path / path.name)
    p = crawl(pg_url, tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    fitids = {t["fitid"] for f in tmp_path.iterdir() for t in raw_stmttrns(raw_text(f))}
    assert {r[0] for r in query(pg_url, "SELECT transaction_id FROM finance.transactions")} == fitids
    assert query(pg_url, "SELECT count(*) FROM platform.quarantine "
                         "WHERE reason LIKE '%BALAMT is missing or empty%'") == [(2,)]
    status, quarantined, message = last_run(pg_url)
    assert (status, quarantined) == ("succeeded", 2) and "2 of" in message and "quarantined" in message


def test_crawl_structural_quirks(pg_url, pde_home):
    files = [QUIRKS / n for n in ("nubank-banktranlist-not-closed.ofx", "amex-stray-end-tags.qfx",
                                  "cba-ccstmtrs-closed-as-stmtrs.ofx", "stmttrn-after-banktranlist.ofx",
                                  "self-closing.ofx")] + [LIBOFX / "ofx-2.1.1-sect-13.13.ofx"]
    p = crawl(pg_url, *files)
    assert p.returncode == 0, p.stderr[-3000:]
    expected = {(t["fitid"], raw_amount(t["amount"])) for f in files for t in raw_stmttrns(raw_text(f))}
    assert set(query(pg_url, "SELECT transaction_id, amount FROM finance.transactions")) == expected
    assert query(pg_url, "SELECT count(*) FROM finance.investment_transactions") == [(3,)]
    assert query(pg_url, "SELECT amount FROM finance.balances WHERE account_id = 'ofx:0260:1:99887766-5'") == \
        [(Decimal("1207.10"),)]
    assert query(pg_url, "SELECT table_name FROM platform.quarantine") == [("finance.balances",)]  # self-closing BALAMT
    assert "repair(s)" in p.stderr and "whose end tag is missing" in p.stderr


def test_crawl_value_quirks_go_to_quarantine_with_reasons(pg_url, pde_home):
    files = [QUIRKS / "capitalone360-minute-82.qfx", QUIRKS / "duplicate-fitid.ofx",
             PEER / "jseutter__ofxparse" / "date_missing.ofx"]
    p = crawl(pg_url, *files)
    assert p.returncode == 0, p.stderr[-3000:]
    assert query(pg_url, "SELECT as_of, as_of_time FROM finance.balances WHERE amount = 12018.42 "
                         "AND balance_type = 'ledger'") == [(dt.date(2023, 10, 15), None)]
    reasons = sorted(r[0] for r in query(pg_url, "SELECT reason FROM platform.quarantine"))
    assert len(reasons) == 1 + 1 + 3
    assert sum("only the time is set aside" in r for r in reasons) == 1
    assert sum("appears twice in this file" in r for r in reasons) == 1
    assert sum("DTPOSTED" in r for r in reasons) == 3
    loaded, _ = zip(*[expected_transactions(raw_text(f)) for f in files])
    fitids = {t["fitid"] for ts in loaded for t in ts}
    assert query(pg_url, "SELECT count(*) FROM finance.transactions") == [(len(fitids),)]
    status, quarantined, message = last_run(pg_url)
    assert (status, quarantined) == ("succeeded", 5) and "platform.quarantine" in message


def test_crawl_statement_without_account(pg_url, pde_home):
    path = PEER / "actualbudget__actual" / "tracking-number.ofx"
    p = crawl(pg_url, path, args={"account": "joint-checking"})
    assert p.returncode == 0, p.stderr[-3000:]
    assert query(pg_url, "SELECT account_id, name FROM finance.accounts") == [("ofx:joint-checking", "joint-checking")]
    amounts = [raw_amount(a) for a in re.findall(r"<TRNAMT>([^\s<]+)", raw_text(path))]
    assert query(pg_url, "SELECT count(*), sum(amount) FROM finance.transactions "
                         "WHERE account_id = 'ofx:joint-checking'") == [(len(amounts), sum(amounts))]
    assert "has no BANKACCTFROM" in p.stderr and "from -a account=" in p.stderr


@pytest.mark.parametrize("path, words", [
    (PEER / "jseutter__ofxparse" / "error_message.ofx", "STMTTRNRS status 2000 ERROR: General Server Error"),
    (LIBOFX / "heap-buffer-overflow-1.ofx", "broken OFX at line 5: <CCACCTINFO> cannot be inside <CCSTMTRS>"),
])
def test_crawl_refusals_fail_the_run_with_the_reason(pg_url, pde_home, path, words):
    p = crawl(pg_url, path)
    assert p.returncode != 0
    assert words in p.stderr
    status, _, message = last_run(pg_url)
    assert status == "failed" and words in message
    assert query(pg_url, "SELECT count(*) FROM finance.transactions") == [(0,)]


def test_crawl_where_every_item_is_quarantined_fails(pg_url, pde_home, tmp_path):
    from tests.conftest import run_crawl

    page = tmp_path / "things.json"
    page.write_text('{"things": [{"name": "no id"}, {"name": "no id either"}], "next": null}')
    p = run_crawl("selftest_things", db=pg_url, args={"url": str(page)})
    assert p.returncode != 0
    status, quarantined, message = last_run(pg_url)
    assert (status, quarantined) == ("failed", 2) and "Every one of the 2 items was quarantined" in message


def test_account_numbers_are_never_logged_whole(pg_url, pde_home):
    p = crawl(pg_url, FIX / "checking.ofx", FIX / "bank_medium.ofx", settings={"LOG_LEVEL": "DEBUG"})
    assert p.returncode == 0, p.stderr[-3000:]
    assert "Scraped from" in p.stderr  # items are dumped at DEBUG...
    for number in ("1452687~7", "12300 000012345678"):
        assert number not in p.stderr  # ...with their account numbers masked
        last_four = {number[-4:], "".join(c for c in number if c.isdigit())[-4:]}  # characters or digits
        assert any("…" + tail in p.stderr for tail in last_four)
    assert query(pg_url, "SELECT number FROM finance.accounts ORDER BY number") == [
        ("12300 000012345678",), ("1452687~7",)]


@pytest.mark.parametrize("name, payee", [
    ("1252.qfx", "Café Métro €uro"),  # CHARSET:1252 (Windows-1252 bytes)
    ("utf-8.qfx", "Café Métro €uro"),  # ENCODING:UTF-8
    ("8859-1.qfx", "Paiement facture/Carte prépayée"),  # CHARSET:8859-1
])
def test_charsets_of_real_qfx_files(name, payee):
    # Actual Budget's files (a French-Canadian bank's QFX): the same text in three encodings
    [t] = of(parse_file(PEER / "actualbudget__actual" / name), Transaction)
    assert t.payee == payee


def test_utf8_bytes_under_a_1252_header_are_read_as_utf8():
    body = (FIX / "checking.ofx").read_bytes().replace(b"ELECTRIC BILL WEB", "ÉLECTRIC BILL WEB".encode())
    assert b"CHARSET:1252" in body
    assert by_id(parse(body=body))["0000487"].memo == "AUTOMATIC WITHDRAWAL, ÉLECTRIC BILL WEB(S )"


def test_ofx_start_tag_with_space_and_lowercase_tags():
    # a bank writing `<OFX >` (reported to Actual Budget, pull request 5203); lowercase tags from hand-made files
    body = (FIX / "checking.ofx").read_bytes()
    head, _, rest = body.partition(b"<OFX>")
    assert by_id(parse(body=head + b"<OFX >" + rest)) == checking_ids()
    lower = re.sub(rb"</?[A-Z][A-Z0-9.]*>", lambda m: m.group(0).lower(), body)
    assert by_id(parse(body=lower)) == checking_ids()


def test_text_between_elements_is_refused_with_the_line():
    body = (FIX / "checking.ofx").read_bytes().replace(b"</STMTTRN>", b"</STMTTRN> stray words", 1)
    line = body[:body.index(b"stray words")].count(b"\n") + 1
    with pytest.raises(ParseError, match=rf"broken OFX at line {line}: text 'stray words' inside <BANKTRANLIST>"):
        parse(body=body)


def test_accountless_statement_with_only_a_balance_loads():
    body = (PEER / "actualbudget__actual" / "tracking-number.ofx").read_bytes()
    body = re.sub(rb"<STMTTRN>.*</STMTTRN>\n", b"", body, flags=re.S)
    body = body.replace(b"</BANKTRANLIST>\n",
                        b"</BANKTRANLIST>\n<LEDGERBAL>\n<BALAMT>55.10\n<DTASOF>20190124\n</LEDGERBAL>\n")
    # the spider passes the file name as the fallback account
    [bal] = of(parse(body=body, url="file:///downloads/joint.ofx"), Balance)
    assert (bal.account_id, bal.amount) == ("ofx:joint", Decimal("55.10"))


def test_direct_connect_logs_no_account_number_or_password(caplog):
    # ofxtools logs the statement requests (account numbers) at INFO and the whole request,
    # password included, at DEBUG
    with caplog.at_level(logging.DEBUG):
        direct_connect_request(ENV, days=30, now=dt.datetime(2024, 3, 23, 12, tzinfo=UTC))
    assert "4111222233334444" not in caplog.text and "hunter2-secret" not in caplog.text


def test_an_invalid_optional_value_of_a_trade_is_set_aside_and_the_trade_loads():
    body = (LIBOFX / "ofx-2.1.1-sect-13.13.ofx").read_bytes()
    body = body.replace(b"<UNITPRICE>18.9000</UNITPRICE>", b"<UNITPRICE>N/A</UNITPRICE>", 1)
    body = body.replace(b"<DTTRADE>20060106000000.000[-5:EST]", b"<DTTRADE>20060106006100.000[-5:EST]")
    records = parse(body=body)
    inv = {i.transaction_id: i for i in of(records, InvestmentTransaction)}
    assert len(inv) == 3
    assert inv["212839062820295310723"].unit_price is None and inv["212839062820295310723"].units == Decimal("14.6860")
    assert inv["212849815151950488609"].trade_date == dt.date(2006, 1, 6)  # minute 61: the day is kept
    [aside] = of(records, Rejected)
    assert aside.table == "finance.investment_transactions" and "'N/A'" in aside.reason


def test_an_error_answer_beside_a_good_statement_is_quarantined_with_the_banks_message():
    # a Direct Connect answer for two accounts: one statement, one STATUS 2003 (account not found)
    body = (FIX / "checking.ofx").read_bytes()
    refused = (b"<STMTTRNRS><TRNUID>1<STATUS><CODE>2003<SEVERITY>ERROR<MESSAGE>Account not found</STATUS>"
               b"</STMTTRNRS>\n\t</BANKMSGSRSV1>")
    body = body.replace(b"\t</BANKMSGSRSV1>", refused, 1)
    records = parse(body=body)
    assert by_id(records) == checking_ids()
    [refusal] = of(records, Rejected)
    assert "STMTTRNRS status 2003 ERROR: Account not found (the account was not found" in refusal.reason
