"""Spending: transfers between your own accounts, recurring charges, and next month per category.

Three steps, in this order, because each uses the one before:

1. **Transfers** (``match_transfers``): an outflow matched to an inflow of the same
   amount and currency in another of your accounts, posted within 3 days (closest
   first, each transaction used once). Both sides are moving money, not spending.
2. **Recurring charges** (``recurring_charges``): outflows to the same payee on one
   account, at least 3 times, spaced regularly (weekly, biweekly, monthly, quarterly,
   yearly), amounts within 35 % of their median. Gives the cadence, the typical and
   latest amount, the next expected date and the latest price increase.
3. **Forecast** (``forecast``): next month's spending per category. Features per
   category and month: the last three months, the same month a year before and the
   12-month mean; a linear model shared by all categories (no intercept, weights
   >= 0), back-tested month by month (each month predicted from the months before
   only) against the naive trailing 3-month mean. The 80 % interval adds the 10th
   and 90th percentiles of the back-test's errors, relative to each category's
   12-month mean (a $600 category errs in dollars where a $15 one errs in cents).

    python -m pde.finance.spending     (or `pde model train finance`)
"""

from __future__ import annotations

import re
import sys

import numpy as np
import pandas as pd
from psycopg2.extras import execute_values

from pde import data
from pde.db import connect
from pde.model_runs import MIN_ROWS, ModelRun, record, set_predictions, too_few

TRANSFER_DAYS = 3
CADENCES = [  # name, min days, max days, months to add for the next date (0: use days)
    ("weekly", 6, 8, 0),
    ("biweekly", 13, 16, 0),
    ("monthly", 26, 35, 1),
    ("quarterly", 84, 98, 3),
    ("yearly", 350, 380, 12),
]
AMOUNT_TOLERANCE = 0.35
FORECAST_FEATURES = ["lag1", "lag2", "lag3", "lag12", "mean12"]


# -- data -------------------------------------------------------------------------------
TRANSACTIONS_SQL = """
SELECT account_id, transaction_id, posted_date, amount, currency, payee, memo, merchant_name,
       coalesce(category, category_source, 'uncategorized') AS category
  FROM finance.transactions_current
 WHERE NOT coalesce(pending, false)
"""


def load(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        tx = pd.read_sql(TRANSACTIONS_SQL, conn)
    return prepare(tx)


def prepare(tx: pd.DataFrame) -> pd.DataFrame:
    tx = tx.copy()
    tx["posted_date"] = pd.to_datetime(tx["posted_date"])
    tx["amount"] = pd.to_numeric(tx["amount"]).astype(float)
    return tx


# -- 1. transfers ----------------------------------------------------------------------------
def match_transfers(tx: pd.DataFrame, max_days: int = TRANSFER_DAYS) -> pd.DataFrame:
    """Pairs (outflow, inflow) of the same amount and currency between two accounts, closest dates first."""
    cols = ["account_id", "transaction_id", "posted_date", "amount", "currency"]
    outs = tx[tx["amount"] < 0][cols].assign(key=lambda d: (-d["amount"]).round(2))
    ins = tx[tx["amount"] > 0][cols].assign(key=lambda d: d["amount"].round(2))
    cand = outs.merge(ins, on=["currency", "key"], suffixes=("_out", "_in"))
    cand = cand[cand["account_id_out"] != cand["account_id_in"]]
    cand["days_apart"] = (cand["posted_date_in"] - cand["posted_date_out"]).dt.days
    cand = cand[cand["days_apart"].abs() <= max_days]
    cand = cand.assign(dist=cand["days_apart"].abs()).sort_values(
        ["dist", "posted_date_out", "transaction_id_out", "transaction_id_in"])
    used_out, used_in, rows = set(), set(), []
    for r in cand.itertuples(index=False):
        o, i = (r.account_id_out, r.transaction_id_out), (r.account_id_in, r.transaction_id_in)
        if o in used_out or i in used_in:
            continue
        used_out.add(o)
        used_in.add(i)
        rows.append({"out_account_id": o[0], "out_transaction_id": o[1], "in_account_id": i[0],
                     "in_transaction_id": i[1], "amount": r.key, "currency": r.currency,
                     "out_date": r.posted_date_out.date(), "in_date": r.posted_date_in.date(),
                     "days_apart": int(r.dist)})
    return pd.DataFrame(rows, columns=["out_account_id", "out_transaction_id", "in_account_id", "in_transaction_id",
                                       "amount", "currency", "out_date", "in_date", "days_apart"])


def without_transfers(tx: pd.DataFrame, transfers: pd.DataFrame) -> pd.DataFrame:
    """The transactions that are not one side of a matched transfer."""
    sides = set(zip(transfers["out_account_id"], transfers["out_transaction_id"])) | set(
        zip(transfers["in_account_id"], transfers["in_transaction_id"]))
    keep = [(a, t) not in sides for a, t in zip(tx["account_id"], tx["transaction_id"])]
    return tx[keep]


# -- 2. recurring charges ----------------------------------------------------------------------
_NOISE = re.compile(r"[^a-z ]+")


def payee_key(text: str | None) -> str:
    """A payee without digits, reference numbers and punctuation, first three words: NETFLIX.COM 8293 -> netflix com."""
    words = _NOISE.sub(" ", (text or "").lower()).split()
    words = [w for w in words if len(w) > 1 or w.isalpha()][:3]
    return " ".join(words)


def _cadence(intervals: np.ndarray):
    for name, lo, hi, months in CADENCES:
        if len(intervals) and np.all((intervals >= lo) & (intervals <= hi)):
            return name, months
    return None, 0


def recurring_charges(spend: pd.DataFrame) -> pd.DataFrame:
    """Charges that come back regularly to one payee on one account (spend: outflows without transfers)."""
    out = spend[spend["amount"] < 0].copy()
    out["payee_key"] = [payee_key(next((v for v in names if isinstance(v, str) and v.strip()), ""))
                        for names in zip(out["merchant_name"], out["payee"], out["memo"])]
    out = out[out["payee_key"] != ""]
    rows = []
    for (account, key), grp in out.groupby(["account_id", "payee_key"]):
        daily = grp.groupby("posted_date").agg(amount=("amount", "sum"), payee=("payee", "last")).sort_index()
        if len(daily) < 3:
            continue
        dates = daily.index
        intervals = np.diff(dates.values).astype("timedelta64[D]").astype(int)
        cadence, months = _cadence(intervals)
        if cadence is None:
            continue
        amounts = -daily["amount"].to_numpy()
        typical = float(np.median(amounts))
        if typical <= 0 or np.any(np.abs(amounts - typical) > AMOUNT_TOLERANCE * typical):
            continue
        last_date = dates[-1]
        next_date = last_date + (pd.DateOffset(months=months) if months else
                                 pd.Timedelta(days=int(round(float(np.median(intervals))))))
        previous, increased_on = None, None
        i = len(amounts) - 1
        while i > 0 and abs(amounts[i - 1] - amounts[-1]) < 0.005:
            i -= 1
        if i > 0 and amounts[i - 1] < amounts[-1] - 0.005:
            previous, increased_on = float(amounts[i - 1]), dates[i].date()
        rows.append({"account_id": account, "payee_key": key, "payee": daily["payee"].iloc[-1], "cadence": cadence,
                     "period_days": float(np.median(intervals)), "currency": grp["currency"].iloc[-1],
                     "typical_amount": round(typical, 2), "last_amount": round(float(amounts[-1]), 2),
                     "last_date": last_date.date(), "next_expected_date": next_date.date(),
                     "occurrences": len(daily), "first_date": dates[0].date(),
                     "previous_amount": previous, "increased_on": increased_on})
    return pd.DataFrame(rows, columns=["account_id", "payee_key", "payee", "cadence", "period_days", "currency",
                                       "typical_amount", "last_amount", "last_date", "next_expected_date",
                                       "occurrences", "first_date", "previous_amount", "increased_on"])


# -- 3. forecast --------------------------------------------------------------------------------
def monthly_spending(spend: pd.DataFrame, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Spending (positive) per currency, category and complete month.

    A month counts as observed for a currency when any transaction in that currency
    was posted in it; there, a category without spending spent 0. Months nobody
    has statements for stay empty (NaN), not 0: a gap between two sample files is
    not a month without spending.
    """
    empty = pd.DataFrame(columns=["currency", "category", "month", "spent"])
    if spend.empty:
        return empty
    as_of = as_of or spend["posted_date"].max()
    last_complete = (as_of + pd.Timedelta(days=1)).to_period("M") - 1
    tx = spend.assign(month=spend["posted_date"].dt.to_period("M"))
    tx = tx[tx["month"] <= last_complete]
    observed = tx.groupby("currency")["month"].agg(lambda m: set(m))
    out = tx[tx["amount"] < 0].assign(spent=lambda d: -d["amount"])
    frames = []
    for (cur, cat), grp in out.groupby(["currency", "category"]):
        per = grp.groupby("month")["spent"].sum()
        months = pd.period_range(min(observed[cur]), last_complete, freq="M")
        values = [per.get(m, 0.0) if m in observed[cur] else np.nan for m in months]
        frames.append(pd.DataFrame({"currency": cur, "category": cat, "month": months, "spent": values}))
    return pd.concat(frames, ignore_index=True) if frames else empty


def forecast_rows(monthly: pd.DataFrame, horizon: bool = False) -> pd.DataFrame:
    """Feature rows for months whose three months before were observed (horizon=True: the month after the last)."""
    rows = []
    for (cur, cat), grp in monthly.groupby(["currency", "category"]):
        grp = grp.sort_values("month")
        s = grp["spent"].to_numpy(float)
        months = list(grp["month"])
        targets = [len(s)] if horizon else range(3, len(s))
        for t in targets:
            past = s[:t]
            if len(past) < 3 or np.isnan(past[-3:]).any() or (t < len(s) and np.isnan(s[t])):
                continue
            window = past[-12:]
            mean12 = float(np.nanmean(window))
            lag12 = past[-12] if len(past) >= 12 and not np.isnan(past[-12]) else mean12
            rows.append({"currency": cur, "category": cat,
                         "month": months[t] if t < len(s) else months[-1] + 1,
                         "lag1": past[-1], "lag2": past[-2], "lag3": past[-3], "lag12": lag12, "mean12": mean12,
                         "baseline": float(past[-3:].mean()), "target": s[t] if t < len(s) else np.nan})
    return pd.DataFrame(rows, columns=["currency", "category", "month", *FORECAST_FEATURES, "baseline", "target"])


def _model():
    # lazy: scikit-learn takes seconds to import; only training needs it
    from sklearn.linear_model import LinearRegression

    return LinearRegression(fit_intercept=False, positive=True)


def _scale(rows: pd.DataFrame) -> np.ndarray:
    """A category's usual monthly spending (12-month mean, at least 1): errors are relative to it."""
    return np.maximum(rows["mean12"].to_numpy(float), 1.0)


def _relative(bt: pd.DataFrame) -> np.ndarray:
    return (bt["target"] - bt["predicted"]).to_numpy(float) / _scale(bt)


def backtest(rows: pd.DataFrame, min_train: int = MIN_ROWS) -> pd.DataFrame:
    """Each month predicted by a model trained on the months before it only."""
    out = []
    for month in sorted(rows["month"].unique()):
        train, test = rows[rows["month"] < month], rows[rows["month"] == month]
        if len(train) < min_train:
            continue
        out.append(test.assign(predicted=_model().fit(train[FORECAST_FEATURES], train["target"]).predict(
            test[FORECAST_FEATURES])))
    return pd.concat(out, ignore_index=True) if out else rows.iloc[0:0].assign(predicted=pd.Series(dtype=float))


def forecast(spend: pd.DataFrame, as_of: pd.Timestamp | None = None, synthetic: bool = False):
    """(ModelRun, forecast DataFrame or None) for the month after the last complete one."""
    monthly = monthly_spending(spend, as_of)
    rows = forecast_rows(monthly)
    name = "finance.forecast"
    if len(rows) < MIN_ROWS:
        run = too_few(name, "finance", len(rows), "category-months with three months before them")
        run.synthetic = synthetic
        return run, None
    bt = backtest(rows)
    metrics: dict = {"n": len(rows)}
    message = ""
    q10 = q90 = None
    if len(bt) >= 10:
        resid = (bt["target"] - bt["predicted"]).to_numpy()
        q10, q90 = np.quantile(_relative(bt), [0.1, 0.9])
        metrics.update({"backtest_n": len(bt), "mae": float(np.abs(resid).mean()),
                        "baseline_mae": float((bt["target"] - bt["baseline"]).abs().mean())})
        metrics["beats_baseline"] = bool(metrics["mae"] < metrics["baseline_mae"])
        # coverage measured honestly: each month's interval from the errors of the months before it
        hits = []
        for month in sorted(bt["month"].unique())[1:]:
            earlier = bt[bt["month"] < month]
            if len(earlier) < 10:
                continue
            lo, hi = np.quantile(_relative(earlier), [0.1, 0.9])
            now = bt[bt["month"] == month]
            scale = _scale(now)
            hits += list((now["target"] >= now["predicted"] + lo * scale) &
                         (now["target"] <= now["predicted"] + hi * scale))
        if hits:
            metrics["interval_80_coverage"] = float(np.mean(hits))
    else:
        message = f"Only {len(bt)} back-tested category-months: no honest error or interval yet; the interval " \
                  "is the spread of the last 12 months instead."
    model = _model().fit(rows[FORECAST_FEATURES], rows["target"])
    metrics["weights"] = dict(zip(FORECAST_FEATURES, (float(c) for c in model.coef_)))
    nxt = forecast_rows(monthly, horizon=True)
    pred = model.predict(nxt[FORECAST_FEATURES]).clip(min=0)
    if q10 is None:
        spread = monthly.groupby(["currency", "category"])["spent"].apply(lambda s: s.tail(12).std(ddof=0))
        width = nxt.set_index(["currency", "category"]).index.map(spread).to_numpy(float) * 1.2816
        lower, upper = pred - width, pred + width
    else:
        lower, upper = pred + q10 * _scale(nxt), pred + q90 * _scale(nxt)
    fc = pd.DataFrame({"month": nxt["month"].dt.to_timestamp().dt.date, "category": nxt["category"],
                       "currency": nxt["currency"], "forecast": pred.round(2),
                       "lower": np.clip(lower, 0, None).round(2), "upper": np.maximum(upper, pred).round(2),
                       "baseline": nxt["baseline"].round(2), "last_month": nxt["lag1"].round(2)})
    run = ModelRun(model=name, area="finance", rows=len(rows), features=FORECAST_FEATURES, metrics=metrics,
                   message=message, synthetic=synthetic)
    return run, fc


# -- synthetic data (tests and the notebook's demonstration; its metrics are labelled synthetic) -----------
def synthetic_transactions(months: int = 36, seed: int = 0, start: str = "2022-01-01",
                           categories: dict[str, float] | None = None, seasonal: float = 0.4,
                           noise: float = 0.05) -> pd.DataFrame:
    """Two accounts' transactions with known answers.

    - per category and month, spending = base * (1 + seasonal * sin(2 pi month / 12)) * (1 + N(0, noise)),
      split over four purchases on the checking account;
    - a streaming charge on the 15th of every month, 15.49 then 17.99 from the 25th month;
    - 500.00 moved from checking to savings on the 1st of every month, arriving a day later;
    - a salary of 4000 on checking on the 28th.
    """
    rng = np.random.default_rng(seed)
    categories = categories or {"groceries": 600.0, "dining": 250.0, "fuel": 150.0, "utilities": 180.0}
    rows = []
    first = pd.Timestamp(start)

    def add(account, day, amount, payee, category):
        rows.append({"account_id": account, "transaction_id": f"syn{len(rows)}", "posted_date": day,
                     "amount": round(float(amount), 2), "currency": "USD", "payee": payee, "memo": None,
                     "merchant_name": None, "category": category})

    for m in range(months):
        month = first + pd.DateOffset(months=m)
        for cat, base in categories.items():
            total = base * (1 + seasonal * np.sin(2 * np.pi * month.month / 12)) * (1 + rng.normal(0, noise))
            for k, share in enumerate((0.4, 0.3, 0.2, 0.1)):
                add("syn:checking", month + pd.Timedelta(days=3 + 6 * k), -total * share, f"{cat.upper()} STORE {k}",
                    cat)
        add("syn:checking", month + pd.Timedelta(days=14), -(15.49 if m < 24 else 17.99), f"NETFLIX.COM {m:04d}",
            "subscriptions")
        add("syn:checking", month, -500.00, "TRANSFER TO SAVINGS", "transfer")
        add("syn:savings", month + pd.Timedelta(days=1), 500.00, "TRANSFER FROM CHECKING", "transfer")
        add("syn:checking", month + pd.Timedelta(days=27), 4000.00, "ACME PAYROLL", "income")
    return prepare(pd.DataFrame(rows))


# -- the nightly task ---------------------------------------------------------------------------
def _replace(cur, table: str, df: pd.DataFrame, run_id: int) -> int:
    cur.execute(f"DELETE FROM {table}")
    if df is None or df.empty:
        return 0
    df = df.assign(model_run_id=run_id).astype(object)
    rows = [tuple(None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in r)
            for r in df.itertuples(index=False)]
    execute_values(cur, f"INSERT INTO {table} ({', '.join(df.columns)}) VALUES %s", rows)
    return len(rows)


def fit(tx: pd.DataFrame, as_of: pd.Timestamp | None = None, synthetic: bool = False) -> dict:
    """All three steps on prepared transactions: {name: (ModelRun, DataFrame or None)}."""
    transfers = match_transfers(tx)
    spend = without_transfers(tx, transfers)
    t_run = ModelRun(model="finance.transfers", area="finance", rows=len(tx), synthetic=synthetic,
                     features=["amount", "currency", "posted_date", "account_id"],
                     metrics={"transactions": len(tx), "matched_pairs": len(transfers),
                              "max_days": TRANSFER_DAYS})
    recurring = recurring_charges(spend)
    r_run = ModelRun(model="finance.recurring", area="finance", rows=int((spend["amount"] < 0).sum()),
                     synthetic=synthetic, features=["payee_key", "account_id", "posted_date", "amount"],
                     metrics={"recurring": len(recurring),
                              "price_increases": int(recurring["previous_amount"].notna().sum())})
    f_run, fc = forecast(spend, as_of, synthetic)
    return {"transfers": (t_run, transfers), "recurring": (r_run, recurring), "forecast": (f_run, fc)}


TABLES = {"transfers": "finance.transfer_matches", "recurring": "finance.recurring_charges",
          "forecast": "finance.spending_forecast"}


def write(conn, results: dict) -> None:
    """Record each run and replace its table with what it found (one transaction)."""
    for key, (run, df) in results.items():
        record(conn, run)
        if run.trained:
            with conn.cursor() as cur:
                n = _replace(cur, TABLES[key], df, run.model_run_id)
            set_predictions(conn, run, n)
    conn.commit()


def train(url: str | None = None) -> list[ModelRun]:
    results = fit(load(data.engine(url, readonly=False)))
    conn = connect(url)
    try:
        write(conn, results)
    finally:
        conn.close()
    return [run for run, _ in results.values()]


def main() -> int:
    for run in train():
        print(run.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
