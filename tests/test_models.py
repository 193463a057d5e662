"""The models on data with a known answer, their back-tests on tiny cases worked by hand, and what they write.

Synthetic data are made by a formula stated here (the generators take the
formula's constants from the test), so "right" is the formula, not the code's
own output. The database tests use the real PostgreSQL of conftest.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import psycopg2
import pytest

from pde.fantasy import projections
from pde.finance import spending
from pde.housing import value
from pde.model_runs import MIN_ROWS

# -- house value -------------------------------------------------------------------------------------
PPSF = {"04011": 200.0, "04101": 320.0, "04086": 150.0}
BED_FACTOR = 1.06
NOISE = 0.05
EXPECTED_MAPE = NOISE * math.sqrt(2 / math.pi)  # E|N(0, s)| = s * sqrt(2/pi): the best any model can do


def test_house_value_recovers_a_known_price_formula_and_beats_the_ppsf_baseline():
    listings = value.synthetic_listings(n=400, seed=7, ppsf=PPSF, bed_factor=BED_FACTOR, noise=NOISE)
    run, est, model = value.fit(value.training_frame(listings, None, "sale"), "sale", synthetic=True)
    assert run.trained and run.synthetic and run.rows == 400
    m = run.metrics
    # cross-validated MAPE within 25 % of the noise floor (the formula is log-linear: ridge can learn it exactly)
    assert EXPECTED_MAPE * 0.75 < m["mape"] < EXPECTED_MAPE * 1.25, m
    # the $/sq ft baseline ignores bedrooms (6 % each), so it must do worse
    assert m["baseline_mape"] > m["mape"] * 1.2 and m["beats_baseline"]
    # each listing's out-of-fold value is within 2 % (median) of the noise-free formula price
    truth = est.merge(listings[["zpid", "true_value"]], on="zpid")
    assert (truth["predicted_value"] / truth["true_value"] - 1).abs().median() < 0.02
    # the fitted model prices a new home like the formula: 1500 sq ft, 3 beds in 04101
    home = pd.DataFrame([{"beds": 3, "baths": 2.0, "log_sqft": np.log(1500), "log_lot": np.nan, "year_built": np.nan,
                          "years_ago": 0.0, "home_type": "SINGLE_FAMILY", "zip": "04101"}])
    expected = PPSF["04101"] * 1500 * BED_FACTOR ** 3
    assert abs(model.predict(home[run.features])[0] / expected - 1) < 0.03


def test_deal_rank_orders_by_gap_to_predicted_value():
    listings = value.synthetic_listings(n=60, seed=3, ppsf=PPSF, bed_factor=BED_FACTOR, noise=NOISE)
    run, est, _ = value.fit(value.training_frame(listings, None, "sale"), "sale", synthetic=True)
    gap_pct = (est["list_price"] - est["predicted_value"]) / est["predicted_value"]
    assert np.allclose(est["gap_pct"], gap_pct)
    assert list(est.sort_values("gap_pct")["deal_rank"]) == list(range(1, len(est) + 1))


def test_house_value_refuses_to_train_on_fewer_than_30_homes():
    listings = value.synthetic_listings(n=MIN_ROWS - 1, seed=1, status="FOR_RENT")
    run, est, model = value.fit(value.training_frame(listings, None, "rent"), "rent")
    assert run.status == "too_few_rows" and est is None and model is None
    assert "29" in run.message and "fewer than 30" in run.message


def test_baseline_is_the_median_price_per_sqft_of_the_zip_then_city_then_all():
    train = pd.DataFrame({"zip": ["A", "A", "A", "B"], "city": ["X", "X", "X", "Y"],
                          "target": [100_000.0, 400_000.0, 300_000.0, 50_000.0],
                          "sqft": [1000.0, 2000.0, 1000.0, 500.0]})
    # $/sq ft: A = 100, 200, 300 (median 200); B = 100; X = A's; all = 100, 200, 300, 100 (median 150)
    test = pd.DataFrame({"zip": ["A", "C", "D"], "city": ["X", "X", "Z"], "sqft": [1500.0, 1000.0, 1000.0]})
    assert list(value.baseline_predict(train, test)) == [300_000.0, 200_000.0, 150_000.0]


def test_training_frame_uses_sold_prices_and_sales_from_the_price_history():
    listings = value.synthetic_listings(n=3, seed=0)
    listings.loc[0, ["status", "sold_price", "sold_date"]] = ["SOLD", 250_000, dt.date(2024, 5, 1)]
    sales = pd.DataFrame({"zpid": [listings.loc[1, "zpid"], listings.loc[0, "zpid"]],
                          "event_date": [dt.date(2015, 6, 1), dt.date(2024, 5, 1)], "price": [150_000, 250_000]})
    frame = value.training_frame(listings, sales, "sale", today=dt.date(2025, 6, 1))
    # the sold listing learns its sale price; the older sale of home 1 is one more row; the sale already
    # on the listing (same date) is not counted twice
    assert len(frame) == 4
    assert frame.loc[frame["zpid"] == listings.loc[0, "zpid"], "target"].tolist() == [250_000]
    old = frame[(frame["zpid"] == listings.loc[1, "zpid"]) & (frame["target"] == 150_000)]
    assert len(old) == 1 and abs(old["years_ago"].iloc[0] - 10.0) < 0.01 and not old["active"].iloc[0]


# -- fantasy projections -------------------------------------------------------------------------------
def test_backtest_trains_only_on_earlier_seasons_tiny_case():
    data = pd.DataFrame({"season": [2019, 2019, 2020, 2020, 2021], "target": [10.0, 20.0, 40.0, 50.0, 0.0]})
    seen = {}

    def mean_of_train(train, test):
        seen[int(test["season"].iloc[0])] = sorted(train["season"].unique())
        return np.full(len(test), train["target"].mean())

    bt, notes = projections.backtest(data, mean_of_train, min_train=2)
    # 2019 has nothing before it; 2020 learns from 2019 only (mean 15); 2021 from 2019-2020 (mean 30)
    assert notes == ["2019: 0 earlier rows, fewer than 2; not back-tested"]
    assert seen == {2020: [2019], 2021: [2019, 2020]}
    assert bt["predicted"].tolist() == [15.0, 15.0, 30.0]
    metrics, _ = projections.backtest_metrics(bt.assign(player_key=["a", "b", "c"], baseline=[0.0, 0.0, 0.0]), None)
    assert metrics["mae"] == pytest.approx((25 + 35 + 30) / 3)


A, B, SD = 0.8, 30.0, 12.0


def test_projections_recover_a_known_next_season_formula_and_beat_last_season():
    stats = projections.synthetic_stats(players=120, seed=5, a=A, b=B, noise=SD, consensus_noise=4.0)
    run, proj = projections.fit(stats, "ppr", synthetic=True)
    assert run.trained and run.synthetic
    m = run.metrics
    best = SD * math.sqrt(2 / math.pi)  # the noise alone
    assert best * 0.85 < m["mae"] < best * 1.2, m
    assert m["baseline_mae"] > m["mae"] and m["beats_baseline"]
    # the consensus (truth + N(0, 4)) is measured only on the last season, where it exists
    cons = stats[stats["kind"] == "projection"][["player_key", "season", "points_ppr"]]
    actual = stats[stats["kind"] == "actual"][["player_key", "season", "points_ppr"]]
    both = cons.merge(actual, on=["player_key", "season"], suffixes=("_cons", "_actual"))
    assert m["consensus_n"] == len(cons) == len(both) and set(both["season"]) == {2023}
    assert m["consensus_mae"] == pytest.approx((both["points_ppr_cons"] - both["points_ppr_actual"]).abs().mean())
    # next season: a player with 340 points in 17 games last season projects to about 0.8 * 20 * 17 + 30
    last = proj.merge(projections.seasons_table(stats).query("season == 2023")[["player_key", "points", "games"]],
                      on="player_key")
    expected = A * last["points"] / last["games"] * 17 + B
    assert (last["projected_points"] - expected).abs().median() < 5


def test_consensus_comparison_is_refused_when_no_season_overlaps():
    run, _ = projections.fit(projections.synthetic_stats(players=60, seed=2), "ppr", synthetic=True)
    assert run.trained and "consensus_mae" not in run.metrics
    assert "cannot be measured yet" in run.message


def test_projections_refuse_fewer_than_30_pairs():
    stats = projections.synthetic_stats(players=4, first=2018, last=2023, seed=1)
    n_pairs = len(projections.pairs(projections.seasons_table(stats)))
    assert n_pairs < 30
    run, proj = projections.fit(stats)
    assert run.status == "too_few_rows" and proj is None and f"{n_pairs} player-seasons" in run.message


def test_points_in_other_scorings_come_from_receptions():
    df = pd.DataFrame({"points_std": [100.0, 50.0, np.nan], "points_half": [np.nan] * 3,
                       "points_ppr": [np.nan, 70.0, 90.0],
                       "rec": [40.0, 20.0, 10.0], "position": ["WR", "RB", "TE"]})
    assert projections.points(df, "ppr").tolist() == [140.0, 70.0, 90.0]
    assert projections.points(df, "half").tolist() == [120.0, 60.0, 85.0]
    assert projections.points(df, "std").tolist() == [100.0, 50.0, 80.0]


# -- spending -------------------------------------------------------------------------------------------
def _tx(rows):
    return spending.prepare(pd.DataFrame(rows, columns=["account_id", "transaction_id", "posted_date", "amount",
                                                        "currency", "payee", "memo", "merchant_name", "category"]))


def test_transfers_match_the_closest_inflow_in_another_account_once():
    tx = _tx([
        ("chk", "o1", "2024-03-01", -200.00, "USD", "XFER", None, None, None),
        ("chk", "o2", "2024-03-03", -200.00, "USD", "XFER", None, None, None),
        ("sav", "i1", "2024-03-03", 200.00, "USD", "XFER", None, None, None),
        ("sav", "i2", "2024-03-04", 200.00, "USD", "XFER", None, None, None),
        ("chk", "o3", "2024-03-05", -75.00, "USD", "SHOP", None, None, None),
        ("chk", "i3", "2024-03-05", 75.00, "USD", "REFUND", None, None, None),   # same account: a refund
        ("sav", "i4", "2024-03-05", 75.00, "EUR", "OTHER", None, None, None),     # other currency
        ("chk", "o4", "2024-03-10", -30.00, "USD", "ATM", None, None, None),
        ("sav", "i5", "2024-03-20", 30.00, "USD", "LATE", None, None, None),      # 10 days later
    ])
    pairs = spending.match_transfers(tx)
    got = sorted(zip(pairs["out_transaction_id"], pairs["in_transaction_id"], pairs["days_apart"]))
    # o2-i1 are on the same day (0), then o1 takes the nearest one left: i2 (3 days)
    assert got == [("o1", "i2", 3), ("o2", "i1", 0)]
    left = spending.without_transfers(tx, pairs)
    assert sorted(left["transaction_id"]) == ["i3", "i4", "i5", "o3", "o4"]


def test_recurring_charge_found_with_cadence_next_date_and_price_increase():
    tx = spending.synthetic_transactions(months=30, seed=4, start="2022-01-01")
    spend = spending.without_transfers(tx, spending.match_transfers(tx))
    rec = spending.recurring_charges(spend)
    netflix = rec[rec["payee_key"] == "netflix com"]
    assert len(netflix) == 1
    row = netflix.iloc[0]
    # charged on the 15th of 30 months, 15.49 for 24 months, then 17.99 from 2024-01-15
    assert row["cadence"] == "monthly" and row["occurrences"] == 30
    assert row["last_date"] == dt.date(2024, 6, 15) and row["next_expected_date"] == dt.date(2024, 7, 15)
    assert row["last_amount"] == 17.99 and row["previous_amount"] == 15.49
    assert row["increased_on"] == dt.date(2024, 1, 15)
    # the monthly transfer to savings is not a recurring charge: it is moving money
    assert not rec["payee_key"].str.contains("transfer").any()


def test_irregular_or_wildly_varying_charges_are_not_recurring():
    days = ["2024-01-03", "2024-01-20", "2024-03-01", "2024-03-09"]
    rows = [("chk", f"a{i}", d, -12.0, "USD", "CAFE 123", None, None, None) for i, d in enumerate(days)]
    rows += [("chk", f"b{i}", f"2024-0{i + 1}-05", -amt, "USD", "GYM", None, None, None)
             for i, amt in enumerate([30.0, 90.0, 31.0, 30.0])]
    assert spending.recurring_charges(_tx(rows)).empty


def test_forecast_beats_the_trailing_mean_on_seasonal_spending_with_an_honest_interval():
    tx = spending.synthetic_transactions(months=48, seed=11, seasonal=0.4, noise=0.05)
    results = spending.fit(tx, synthetic=True)
    run, fc = results["forecast"]
    assert run.trained and run.synthetic
    m = run.metrics
    assert m["mae"] < 0.6 * m["baseline_mae"], m
    assert 0.6 <= m["interval_80_coverage"] <= 0.95, m
    # the month forecast is the one after the last complete month (data end 2025-12-28 -> Nov complete -> Dec)
    assert set(fc["month"]) == {dt.date(2025, 12, 1)}
    # December's truth is base * (1 + 0.4 * sin(2 pi)) = base: the forecast is closer than the 3-month mean
    base = {"groceries": 600.0, "dining": 250.0, "fuel": 150.0, "utilities": 180.0}
    fc = fc.set_index("category")
    model_err = sum(abs(float(fc.loc[c, "forecast"]) - b) for c, b in base.items())
    base_err = sum(abs(float(fc.loc[c, "baseline"]) - b) for c, b in base.items())
    assert model_err < base_err
    assert (fc["lower"] <= fc["forecast"]).all() and (fc["forecast"] <= fc["upper"]).all()


def test_forecast_refuses_fewer_than_30_category_months():
    tx = spending.synthetic_transactions(months=8, seed=1)
    run, fc = spending.fit(tx)["forecast"]
    assert run.status == "too_few_rows" and fc is None and "fewer than 30" in run.message


def test_months_without_statements_are_not_months_without_spending():
    tx = _tx([("a", "1", "2020-01-05", -10.0, "USD", "X", None, None, "food"),
              ("a", "2", "2020-05-05", -10.0, "USD", "X", None, None, "food"),
              ("a", "3", "2020-06-30", -10.0, "USD", "X", None, None, "food")])
    monthly = spending.monthly_spending(tx)
    assert monthly["spent"].isna().sum() == 3  # February to April: nobody has statements for them
    assert spending.forecast_rows(monthly).empty


# -- in the database ---------------------------------------------------------------------------------------
def _insert_listings(conn, listings):
    with conn.cursor() as cur:
        for r in listings.itertuples(index=False):
            cur.execute("INSERT INTO housing.listings (zpid, address, city, zip, status, price, beds, baths, sqft, "
                        "home_type, zestimate) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (r.zpid, r.address, r.city, r.zip, r.status, int(r.price), int(r.beds), float(r.baths),
                         int(r.sqft), r.home_type, int(r.price * 1.01)))
    conn.commit()


def test_train_writes_estimates_and_records_the_run(pg_url, pg_conn, pde_home):
    listings = value.synthetic_listings(n=80, seed=9, ppsf=PPSF, bed_factor=BED_FACTOR, noise=NOISE)
    _insert_listings(pg_conn, listings)
    runs = {r.model: r for r in value.train(pg_url)}
    assert runs["house_value.sale"].trained and runs["house_value.rent"].status == "too_few_rows"
    with pg_conn.cursor() as cur:
        cur.execute("SELECT model, status, rows, predictions, code_version, features, metrics, message "
                    "FROM platform.model_runs ORDER BY model_run_id")
        recorded = {r[0]: r for r in cur.fetchall()}
        cur.execute("SELECT count(*), min(deal_rank), max(deal_rank), count(zestimate) FROM housing.value_estimates "
                    "WHERE kind = 'sale'")
        n, lo, hi, with_z = cur.fetchone()
    sale = recorded["house_value.sale"]
    assert sale[1:4] == ("trained", 80, 80) and sale[4] and "zip" in sale[5]
    assert {"mae", "mape", "baseline_mae", "baseline_mape", "zestimate_median_ape_vs_ask"} <= set(sale[6])
    # every listing got a zestimate 1 % above its price: the comparison says so
    assert sale[6]["zestimate_median_ape_vs_ask"] == pytest.approx(0.01, abs=0.001)
    assert recorded["house_value.rent"][1] == "too_few_rows" and "0 homes" in recorded["house_value.rent"][7]
    assert (n, lo, hi, with_z) == (80, 1, 80, 80)


def test_finance_train_writes_transfers_recurring_and_forecast(pg_url, pg_conn, pde_home):
    tx = spending.synthetic_transactions(months=40, seed=2)
    with pg_conn.cursor() as cur:
        for r in tx.itertuples(index=False):
            cur.execute("INSERT INTO finance.transactions (account_id, transaction_id, source, posted_date, amount, "
                        "currency, payee, category_user) VALUES (%s, %s, 'csv', %s, %s, %s, %s, %s)",
                        (r.account_id, r.transaction_id, r.posted_date.date(), r.amount, r.currency, r.payee,
                         r.category))
    pg_conn.commit()
    runs = {r.model: r for r in spending.train(pg_url)}
    assert all(r.trained for r in runs.values()), [r.summary() for r in runs.values()]
    with pg_conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM finance.transfer_matches WHERE amount = 500")
        assert cur.fetchone()[0] == 40  # one a month
        cur.execute("SELECT payee_key, last_amount::text, previous_amount::text FROM finance.recurring_charges")
        assert cur.fetchall() == [("netflix com", "17.99", "15.49")]
        cur.execute("SELECT count(*), bool_and(lower <= forecast AND forecast <= upper) FROM finance.spending_forecast")
        assert cur.fetchone() == (5, True)  # four categories and the subscription
        cur.execute("SELECT count(*) FROM platform.model_runs WHERE area = 'finance' AND status = 'trained'")
        assert cur.fetchone()[0] == 3


def test_model_tables_and_columns_all_have_comments(pg_conn):
    with pg_conn.cursor() as cur:
        cur.execute("""
            SELECT c.table_schema || '.' || c.table_name || '.' || c.column_name,
                   col_description(k.oid, c.ordinal_position) IS NOT NULL AND obj_description(k.oid) IS NOT NULL
              FROM information_schema.columns c
              JOIN pg_class k ON k.relname = c.table_name
              JOIN pg_namespace n ON n.oid = k.relnamespace AND n.nspname = c.table_schema
             WHERE (c.table_schema, c.table_name) IN (('platform', 'model_runs'), ('housing', 'value_estimates'),
                   ('fantasy', 'projections'), ('finance', 'recurring_charges'), ('finance', 'transfer_matches'),
                   ('finance', 'spending_forecast'), ('housing', 'deals'), ('platform', 'model_latest'))
               """)
        rows = cur.fetchall()
    assert len({r[0].rsplit(".", 1)[0] for r in rows}) == 8  # every one of the eight was looked at
    assert [name for name, commented in rows if not commented] == []


def test_pde_model_train_command(pg_url, pde_home):
    import os
    import subprocess

    from tests.conftest import ROOT

    env = {**os.environ, "DATABASE_URL": pg_url, "PDE_HOME": str(pde_home)}
    bad = subprocess.run([str(ROOT / ".venv" / "bin" / "pde"), "model", "train", "garden"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown area(s) garden" in bad.stderr
    ok = subprocess.run([str(ROOT / ".venv" / "bin" / "pde"), "model", "train", "fantasy"], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=180)
    assert ok.returncode == 0, ok.stderr
    assert "fantasy.projections: too_few_rows: 0 player-seasons" in ok.stdout
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, code_version FROM platform.model_runs")
        status, version = cur.fetchone()
    assert status == "too_few_rows" and version
