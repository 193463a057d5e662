"""House value: what a home should sell (or rent) for, from its facts, and which listings ask less.

Two models with the same shape: ``sale`` learns sale prices (sold price when the
home sold, else the asking price, plus earlier sales in its price history),
``rent`` learns monthly rents. Features: beds, baths, log sqft, log lot size,
year built, years since the price was set, home type and ZIP. The model is a
ridge regression on log price (a hedonic price model: each fact multiplies the
price by a factor), cross-validated with 5 folds; MAE and MAPE are reported beside
the naive baseline, the median $/sq ft of the ZIP (else city, else all) times
sqft, computed on the same folds.

Each active listing's predicted value comes from the fold that did not see it,
so a listing's own asking price never explains itself; ``deal_rank`` 1 is the
one asking furthest below its predicted value. Where Zillow shows a Zestimate,
its distance to the asking price is reported beside ours (Zillow reports about
2 % median error for homes on the market, measured against the sale price).

    python -m pde.housing.value        (or `pde model train housing`)
"""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import pandas as pd
from psycopg2.extras import execute_values

from pde import data
from pde.db import connect
from pde.model_runs import MIN_ROWS, ModelRun, record, regression_pipeline, set_predictions, too_few, usable_columns

NUMERIC = ["beds", "baths", "log_sqft", "log_lot", "year_built", "years_ago"]
CATEGORICAL = ["home_type", "zip"]
ACTIVE = {"sale": ("FOR_SALE", "COMING_SOON"), "rent": ("FOR_RENT",)}
SOLD = ("SOLD", "RECENTLY_SOLD")
ZILLOW_MEDIAN_ERROR_ON_MARKET = 0.02  # Zillow's published figure for on-market homes (vs the sale price)


# -- data -------------------------------------------------------------------------------
def load(engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(listings, sold events from price histories) from the database."""
    with engine.connect() as conn:
        listings = pd.read_sql(
            "SELECT zpid, address, city, zip, status, price, sold_price, sold_date, beds, baths, sqft, lot_size, "
            "year_built, home_type, zestimate, rent_zestimate, coalesce(is_building, false) AS is_building "
            "FROM housing.listings", conn)
        sales = pd.read_sql(
            "SELECT zpid, event_date, price FROM housing.price_history "
            "WHERE event ILIKE 'sold%%' AND price > 0 AND NOT coalesce(posting_is_rental, false)", conn)
    return listings, sales


def training_frame(listings: pd.DataFrame, sales: pd.DataFrame | None, kind: str,
                   today: dt.date | None = None) -> pd.DataFrame:
    """One row per price to learn from: target, features, and whether it is an active listing."""
    today = today or dt.date.today()
    df = listings[~listings["is_building"].fillna(False).astype(bool)].copy()
    if kind == "rent":
        df = df[df["status"].isin(ACTIVE["rent"])]
        df["target"] = df["price"]
        df["price_date"] = pd.NaT
    else:
        df = df[~df["status"].isin(ACTIVE["rent"])]
        df["target"] = df["sold_price"].where(df["sold_price"].notna(), df["price"])
        df["price_date"] = pd.to_datetime(df["sold_date"]).where(df["sold_price"].notna())
        if sales is not None and len(sales):
            facts = listings.drop(columns=["price", "sold_price", "sold_date", "status"]).set_index("zpid")
            extra = sales.join(facts, on="zpid", how="inner")
            extra["sold_date_of_listing"] = extra["zpid"].map(listings.set_index("zpid")["sold_date"])
            extra = extra[pd.to_datetime(extra["event_date"]) != pd.to_datetime(extra["sold_date_of_listing"])]
            extra = extra.assign(target=extra["price"], status="SOLD_BEFORE",
                                 price_date=pd.to_datetime(extra["event_date"]))
            df = pd.concat([df, extra.drop(columns=["event_date", "price", "sold_date_of_listing"])],
                           ignore_index=True)
    df["active"] = df["status"].isin(ACTIVE[kind])
    df = df[(df["target"] > 0) & (df["sqft"].notna() | df["beds"].notna())].copy()
    for col in ("beds", "baths", "sqft", "lot_size", "year_built", "target"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    df["log_sqft"] = np.log(df["sqft"].where(df["sqft"] > 0))
    df["log_lot"] = np.log(df["lot_size"].where(df["lot_size"] > 0))
    df["years_ago"] = ((pd.Timestamp(today) - df["price_date"]).dt.days / 365.25).fillna(0.0)
    df["zip"] = df["zip"].astype("string")
    df["home_type"] = df["home_type"].astype("string")
    return df.reset_index(drop=True)


# -- the naive baseline -------------------------------------------------------------------
def baseline_predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Median $/sq ft of the test row's ZIP in train (else its city, else all) times its sqft.

    A row without sqft gets the median price of its ZIP (else city, else all).
    """
    ppsf = (train["target"] / train["sqft"]).where(train["sqft"] > 0)
    overall_ppsf, overall_price = ppsf.median(), train["target"].median()
    out = []
    for _, row in test.iterrows():
        value = np.nan
        for key in ("zip", "city"):
            same = train[key] == row[key] if pd.notna(row.get(key)) else pd.Series(False, index=train.index)
            if row["sqft"] > 0 and ppsf[same].notna().any():
                value = ppsf[same].median() * row["sqft"]
                break
            if not row["sqft"] > 0 and same.any():
                value = train.loc[same, "target"].median()
                break
        if np.isnan(value):
            value = overall_ppsf * row["sqft"] if row["sqft"] > 0 and pd.notna(overall_ppsf) else overall_price
        out.append(value)
    return np.asarray(out, dtype=float)


# -- fitting ------------------------------------------------------------------------------------
def _errors(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    ape = np.abs(pred - y) / y
    return {"mae": float(np.mean(np.abs(pred - y))), "mape": float(np.mean(ape)), "median_ape": float(np.median(ape))}


def fit(frame: pd.DataFrame, kind: str, folds: int = 5, seed: int = 0, synthetic: bool = False):
    """Cross-validate and predict; returns (ModelRun, estimates DataFrame or None, fitted model or None)."""
    # lazy: scikit-learn takes seconds to import; only training needs it
    from sklearn.model_selection import KFold

    name = f"house_value.{kind}"
    n = len(frame)
    if n < MIN_ROWS:
        what = "homes with a rent and beds or sqft" if kind == "rent" else "homes with a sale or asking price and facts"
        run = too_few(name, "housing", n, what)
        run.synthetic = synthetic
        return run, None, None
    numeric, categorical = usable_columns(frame, NUMERIC), usable_columns(frame, CATEGORICAL)
    y = frame["target"].to_numpy(float)
    oof, base = np.empty(n), np.empty(n)
    for train_idx, test_idx in KFold(n_splits=folds, shuffle=True, random_state=seed).split(frame):
        train, test = frame.iloc[train_idx], frame.iloc[test_idx]
        model = regression_pipeline(numeric, categorical, log_target=True).fit(train[numeric + categorical],
                                                                                train["target"])
        oof[test_idx] = model.predict(test[numeric + categorical])
        base[test_idx] = baseline_predict(train, test)
    metrics = {"n": n, "folds": folds, **_errors(y, oof), **{f"baseline_{k}": v for k, v in _errors(y, base).items()}}
    metrics["beats_baseline"] = bool(metrics["mae"] < metrics["baseline_mae"])
    zcol = "rent_zestimate" if kind == "rent" else "zestimate"
    has_z = frame[zcol].notna().to_numpy() & frame["active"].to_numpy()
    if has_z.any():
        z = frame.loc[has_z, zcol].to_numpy(float)
        metrics["zestimate_n"] = int(has_z.sum())
        metrics["zestimate_median_ape_vs_ask"] = float(np.median(np.abs(z - y[has_z]) / y[has_z]))
        metrics["model_median_ape_vs_ask_same_rows"] = float(np.median(np.abs(oof[has_z] - y[has_z]) / y[has_z]))
        message = (f"On the {int(has_z.sum())} active listing(s) with a Zestimate, the Zestimate is "
                   f"{metrics['zestimate_median_ape_vs_ask']:.1%} (median) from the asking price and pde is "
                   f"{metrics['model_median_ape_vs_ask_same_rows']:.1%}; Zillow reports about "
                   f"{ZILLOW_MEDIAN_ERROR_ON_MARKET:.0%} against sale prices, which pde does not have for them.")
    else:
        message = f"No active listing has a {'rent ' if kind == 'rent' else ''}Zestimate: the comparison with " \
                  "Zillow cannot be made on this data."
    final = regression_pipeline(numeric, categorical, log_target=True).fit(frame[numeric + categorical], y)
    run = ModelRun(model=name, area="housing", rows=n, features=numeric + categorical, metrics=metrics,
                   message=message, synthetic=synthetic)
    active = frame["active"].to_numpy()
    est = frame.loc[active, ["zpid", "status", "address", "zip", "target", zcol]].rename(
        columns={"target": "list_price", zcol: "zestimate"}).copy()
    est["kind"] = kind
    est["predicted_value"] = oof[active]
    est["baseline_value"] = base[active]
    est["gap"] = est["list_price"] - est["predicted_value"]
    est["gap_pct"] = est["gap"] / est["predicted_value"]
    est["deal_rank"] = est["gap_pct"].rank(method="first").astype(int)
    return run, est.sort_values("deal_rank").reset_index(drop=True), final


# -- synthetic data (tests and the notebook's demonstration; its metrics are labelled synthetic) -----------
def synthetic_listings(n: int = 300, seed: int = 0, ppsf: dict[str, float] | None = None, bed_factor: float = 1.05,
                       noise: float = 0.05, status: str = "FOR_SALE") -> pd.DataFrame:
    """Listings priced by a known formula: ppsf[zip] * sqft * bed_factor ** beds * exp(N(0, noise)).

    ``true_value`` holds the price without the noise: what a perfect model would say.
    """
    rng = np.random.default_rng(seed)
    ppsf = ppsf or {"04011": 220.0, "04101": 310.0, "04086": 160.0}
    zips = rng.choice(list(ppsf), n)
    sqft = rng.uniform(600, 3200, n).round()
    beds = rng.integers(1, 6, n)
    true = np.array([ppsf[z] for z in zips]) * sqft * bed_factor ** beds
    price = (true * np.exp(rng.normal(0, noise, n))).round()
    return pd.DataFrame({
        "zpid": [f"syn{i}" for i in range(n)], "address": [f"{i} Synthetic St" for i in range(n)], "city": "Synth",
        "zip": zips, "status": status, "price": price, "sold_price": np.nan, "sold_date": None, "beds": beds,
        "baths": np.maximum(1, beds - 1).astype(float), "sqft": sqft, "lot_size": np.nan, "year_built": np.nan,
        "home_type": "SINGLE_FAMILY", "zestimate": np.nan, "rent_zestimate": np.nan, "is_building": False,
        "true_value": true})


# -- the nightly task ---------------------------------------------------------------------------
COLUMNS = ["zpid", "kind", "model_run_id", "status", "address", "zip", "list_price", "predicted_value", "gap",
           "gap_pct", "deal_rank", "baseline_value", "zestimate"]


def write(conn, run: ModelRun, estimates: pd.DataFrame | None, kind: str) -> None:
    """Record the run; when trained, replace this kind's estimates with the new ones (one transaction)."""

    record(conn, run)
    if run.trained and estimates is not None:
        est = estimates.assign(model_run_id=run.model_run_id)[COLUMNS].astype(object)
        rows = [tuple(None if pd.isna(v) else v for v in r) for r in est.itertuples(index=False)]
        with conn.cursor() as cur:
            cur.execute("DELETE FROM housing.value_estimates WHERE kind = %s", (kind,))
            execute_values(cur, f"INSERT INTO housing.value_estimates ({', '.join(COLUMNS)}) VALUES %s", rows)
        set_predictions(conn, run, len(rows))
    conn.commit()


def train(url: str | None = None) -> list[ModelRun]:
    """Load, fit both kinds, write the estimates and the runs."""

    listings, sales = load(data.engine(url, readonly=False))
    conn = connect(url)
    runs = []
    try:
        for kind in ("sale", "rent"):
            run, est, _ = fit(training_frame(listings, sales, kind), kind)
            write(conn, run, est, kind)
            runs.append(run)
    finally:
        conn.close()
    return runs


def main() -> int:
    for run in train():
        print(run.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
