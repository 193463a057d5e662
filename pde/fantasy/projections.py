"""Next-season fantasy points per player, from the seasons before, back-tested honestly.

Learns from pairs of consecutive seasons of the same player (fantasy.player_stats,
week 0, actual; one source per player-season, PFR first): last season's points,
games, points per game, the season before's points per game, usage per game
(targets + rushes, pass attempts), age and position -> next season's points.
A ridge regression, like the house value model.

Back-test: for each season N, train on pairs whose target season is N-1 or
earlier, predict N, compare with what happened. Beside it, the naive baseline
(last season's points per game x the season's games: 17 from 2021, 16 before)
and, only where pde crawled FantasyPros' season projection for a back-tested
season, the consensus; otherwise the run says the comparison cannot be made yet.

    python -m pde.fantasy.projections [std|half|ppr]    (or `pde model train fantasy`)
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import pandas as pd
from psycopg2.extras import execute_values

from pde import data
from pde.db import connect
from pde.model_runs import MIN_ROWS, ModelRun, record, regression_pipeline, set_predictions, too_few, usable_columns

NUMERIC = ["prev_points", "prev_games", "prev_ppg", "prev2_ppg", "prev_usage_pg", "prev_pass_att_pg", "age",
           "seasons_before"]
CATEGORICAL = ["position"]
SOURCE_ORDER = {"pfr": 0, "fantasypros": 1, "espn": 2, "sleeper": 3}
REC_BONUS = {"std": 0.0, "half": 0.5, "ppr": 1.0}


def season_games(season: int) -> int:
    """Regular-season games per team: 17 from 2021, 16 before."""
    return 17 if season >= 2021 else 16


def points(df: pd.DataFrame, scoring: str) -> pd.Series:
    """Points in the scoring asked for; derived from another scoring and receptions when missing.

    Receptions count as 0 for quarterbacks, kickers and defenses without a reception column.
    """
    rec = pd.to_numeric(df["rec"], errors="coerce")
    rec = rec.where(rec.notna() | ~df["position"].isin(["QB", "K", "DEF", "DST"]), 0.0)
    out = pd.to_numeric(df[f"points_{scoring}"], errors="coerce")
    for other in ("ppr", "half", "std"):
        if other != scoring:
            shift = (REC_BONUS[scoring] - REC_BONUS[other]) * rec
            out = out.fillna(pd.to_numeric(df[f"points_{other}"], errors="coerce") + shift)
    return out.astype(float)


# -- data -------------------------------------------------------------------------------
STATS_SQL = """
SELECT s.source, s.source_player_id, s.season, s.kind, s.player_name, s.position, s.team, s.games,
       s.points_std, s.points_half, s.points_ppr, s.rec, s.targets, s.rush_att, s.pass_att,
       coalesce(pi.player_id::text, s.source || ':' || s.source_player_id) AS player_key, sp.birth_date
  FROM fantasy.player_stats s
  LEFT JOIN fantasy.player_ids pi ON pi.source = s.source AND pi.source_player_id = s.source_player_id
  LEFT JOIN fantasy.source_players sp ON sp.source = s.source AND sp.source_player_id = s.source_player_id
 WHERE s.week = 0 AND s.kind IN ('actual', 'projection')
"""


def load(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(STATS_SQL, conn)


def seasons_table(stats: pd.DataFrame, scoring: str = "ppr") -> pd.DataFrame:
    """One row per player and season actually played: points, games, usage (best source first)."""
    df = stats[stats["kind"] == "actual"].copy()
    df["points"] = points(df, scoring)
    df = df[df["points"].notna()]
    df["order"] = df["source"].map(SOURCE_ORDER).fillna(9)
    df = df.sort_values(["player_key", "season", "order"]).drop_duplicates(["player_key", "season"])
    for col in ("games", "targets", "rush_att", "pass_att"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    df["birth_year"] = pd.to_datetime(df["birth_date"]).dt.year
    return df[["player_key", "season", "player_name", "position", "team", "games", "points", "targets", "rush_att",
               "pass_att", "birth_year"]].reset_index(drop=True)


def consensus(stats: pd.DataFrame, scoring: str = "ppr") -> pd.DataFrame:
    """FantasyPros' season projections: player_key, season, consensus_points."""
    df = stats[(stats["kind"] == "projection") & (stats["source"] == "fantasypros")].copy()
    df["consensus_points"] = points(df, scoring)
    return df[df["consensus_points"].notna()][["player_key", "season", "consensus_points"]].drop_duplicates(
        ["player_key", "season"])


def features_from(prev: pd.DataFrame, before: pd.DataFrame, target_season: pd.Series) -> pd.DataFrame:
    """Features for the season after ``prev`` (rows aligned with prev; ``before`` = the season before it)."""
    games = prev["games"].where(prev["games"] > 0)
    out = pd.DataFrame({
        "prev_points": prev["points"].to_numpy(),
        "prev_games": prev["games"].to_numpy(),
        "prev_ppg": (prev["points"] / games).to_numpy(),
        "prev2_ppg": (before["points"] / before["games"].where(before["games"] > 0)).to_numpy(),
        "prev_usage_pg": ((prev["targets"].fillna(0) + prev["rush_att"].fillna(0)) / games).where(
            prev["targets"].notna() | prev["rush_att"].notna()).to_numpy(),
        "prev_pass_att_pg": (prev["pass_att"] / games).to_numpy(),
        "age": (target_season.to_numpy() - prev["birth_year"].to_numpy()).astype(float),
        "position": prev["position"].astype("string").to_numpy(),
    })
    return out


def pairs(seasons: pd.DataFrame) -> pd.DataFrame:
    """Consecutive seasons of one player: features from season N-1 (and N-2), target = points in N."""
    s = seasons.set_index(["player_key", "season"])
    s["seasons_before"] = s.groupby(level=0).cumcount().astype(float)
    rows = []
    keys = set(s.index)
    for (player, season) in s.index:
        if (player, season - 1) in keys:
            rows.append((player, season))
    if not rows:
        return pd.DataFrame(columns=["player_key", "season", "target", *NUMERIC, *CATEGORICAL, "baseline"])
    idx = pd.MultiIndex.from_tuples(rows, names=["player_key", "season"])
    prev_idx = pd.MultiIndex.from_tuples([(p, n - 1) for p, n in rows])
    before_idx = pd.MultiIndex.from_tuples([(p, n - 2) for p, n in rows])
    prev = s.reindex(prev_idx)
    before = s.reindex(before_idx)
    season = pd.Series([n for _, n in rows])
    feats = features_from(prev.reset_index(drop=True), before.reset_index(drop=True), season)
    feats["seasons_before"] = prev["seasons_before"].to_numpy() + 1
    feats.insert(0, "player_key", [p for p, _ in rows])
    feats.insert(1, "season", season.to_numpy())
    feats["target"] = s.reindex(idx)["points"].to_numpy()
    feats["baseline"] = feats["prev_ppg"] * season.map(season_games).to_numpy()
    feats["player_name"] = s.reindex(idx)["player_name"].to_numpy()
    return feats


# -- the back-test --------------------------------------------------------------------------
FitPredict = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]


def ridge_fit_predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    numeric, categorical = usable_columns(train, NUMERIC), usable_columns(train, CATEGORICAL)
    model = regression_pipeline(numeric, categorical).fit(train[numeric + categorical], train["target"])
    return model.predict(test[numeric + categorical])


def backtest(data: pd.DataFrame, fit_predict: FitPredict = ridge_fit_predict,
             min_train: int = MIN_ROWS) -> tuple[pd.DataFrame, list[str]]:
    """Predict each season N from a model trained on seasons <= N-1 only.

    Returns the back-tested rows (with ``predicted``) and notes on seasons that
    could not be back-tested (fewer than ``min_train`` earlier rows).
    """
    out, notes = [], []
    for season in sorted(data["season"].unique()):
        train = data[data["season"] <= season - 1]
        test = data[data["season"] == season]
        if len(train) < min_train:
            notes.append(f"{season}: {len(train)} earlier rows, fewer than {min_train}; not back-tested")
            continue
        out.append(test.assign(predicted=np.asarray(fit_predict(train, test), dtype=float)))
    if not out:
        return data.iloc[0:0].assign(predicted=pd.Series(dtype=float)), notes
    return pd.concat(out, ignore_index=True), notes


def backtest_metrics(bt: pd.DataFrame, cons: pd.DataFrame | None) -> tuple[dict, str]:
    """MAE of the model and the baseline on the back-tested rows; the consensus where seasons overlap."""
    if bt.empty:
        return {"backtest_n": 0}, "No season had 30 earlier rows to train on: the back-test cannot be made yet."
    err = (bt["predicted"] - bt["target"]).abs()
    base = (bt["baseline"] - bt["target"]).abs()
    metrics = {"backtest_n": int(len(bt)), "backtest_seasons": sorted(int(s) for s in bt["season"].unique()),
               "mae": float(err.mean()), "baseline_mae": float(base.mean()),
               "beats_baseline": bool(err.mean() < base.mean())}
    merged = bt.merge(cons, on=["player_key", "season"], how="inner") if cons is not None else bt.iloc[0:0]
    if merged.empty:
        message = ("FantasyPros consensus: cannot be measured yet: no crawled FantasyPros season projection "
                   "overlaps a back-tested season.")
    else:
        metrics.update({
            "consensus_n": int(len(merged)),
            "consensus_mae": float((merged["consensus_points"] - merged["target"]).abs().mean()),
            "mae_same_rows": float((merged["predicted"] - merged["target"]).abs().mean()),
        })
        metrics["mae_vs_consensus"] = metrics["mae_same_rows"] - metrics["consensus_mae"]
        message = (f"FantasyPros consensus on {len(merged)} player-seasons: MAE {metrics['consensus_mae']:.1f} vs "
                   f"pde {metrics['mae_same_rows']:.1f}.")
    return metrics, message


# -- fitting and projecting ----------------------------------------------------------------------
def fit(stats: pd.DataFrame, scoring: str = "ppr", synthetic: bool = False):
    """Back-test, then train on every pair and project the season after the latest; (run, projections)."""
    seasons = seasons_table(stats, scoring)
    data = pairs(seasons)
    name = "fantasy.projections"
    if len(data) < MIN_ROWS:
        run = too_few(name, "fantasy", len(data), "player-seasons with the season before also crawled")
        run.synthetic = synthetic
        return run, None
    cons = consensus(stats, scoring)
    bt, notes = backtest(data)
    metrics, message = backtest_metrics(bt, cons)
    metrics["scoring"] = scoring
    if notes:
        message += " " + "; ".join(notes[-3:]) + ("" if len(notes) <= 3 else f" (and {len(notes) - 3} more)")
    numeric, categorical = usable_columns(data, NUMERIC), usable_columns(data, CATEGORICAL)
    model = regression_pipeline(numeric, categorical).fit(data[numeric + categorical], data["target"])

    latest = int(seasons["season"].max())
    last = seasons[seasons["season"] == latest].reset_index(drop=True)
    before = seasons.set_index(["player_key", "season"]).reindex(
        pd.MultiIndex.from_arrays([last["player_key"], last["season"] - 1])).reset_index(drop=True)
    feats = features_from(last, before, pd.Series([latest + 1] * len(last)))
    feats["seasons_before"] = last["player_key"].map(seasons.groupby("player_key").size()).to_numpy(float)
    proj = pd.DataFrame({
        "player_key": last["player_key"], "season": latest + 1, "scoring": scoring,
        "player_name": last["player_name"], "position": last["position"], "team": last["team"],
        "projected_points": model.predict(feats[numeric + categorical]).clip(min=0),
        "baseline_points": feats["prev_ppg"] * season_games(latest + 1),
        "last_points": last["points"], "last_games": last["games"],
    })
    proj = proj.merge(cons, on=["player_key", "season"], how="left")
    run = ModelRun(model=name, area="fantasy", rows=len(data), features=numeric + categorical, metrics=metrics,
                   message=message.strip(), synthetic=synthetic)
    return run, proj


# -- synthetic data (tests and the notebook's demonstration; its metrics are labelled synthetic) -----------
def synthetic_stats(players: int = 80, first: int = 2012, last: int = 2023, seed: int = 0, a: float = 0.8,
                    b: float = 30.0, noise: float = 12.0, consensus_noise: float | None = None) -> pd.DataFrame:
    """Season stat lines (the shape ``load`` returns) where next season's points follow a known formula.

    points_N = a * (points_{N-1} / games_{N-1}) * games_N + b + N(0, noise), every player playing every game,
    so the best possible MAE is noise * sqrt(2/pi) and the naive baseline's is larger. With
    ``consensus_noise``, FantasyPros-like projections for the last season: the truth + N(0, consensus_noise).
    """
    rng = np.random.default_rng(seed)
    rows, cons = [], []
    positions = rng.choice(["QB", "RB", "WR", "TE"], players)
    for p in range(players):
        ppg = rng.uniform(4, 20)
        born = int(rng.integers(1985, 2000))
        start = int(rng.integers(first, last - 3))
        for season in range(start, last + 1):
            games = season_games(season)
            if season > start:
                expected = a * ppg * games + b
                total = expected + rng.normal(0, noise)
                if consensus_noise is not None and season == last:
                    cons.append((p, season, expected + rng.normal(0, consensus_noise)))
                ppg = total / games
            rows.append({"source": "pfr", "source_player_id": f"P{p:03d}", "season": season, "kind": "actual",
                         "player_name": f"Player {p}", "position": positions[p], "team": "SYN", "games": games,
                         "points_std": np.nan, "points_half": np.nan, "points_ppr": ppg * games, "rec": np.nan,
                         "targets": np.nan, "rush_att": np.nan, "pass_att": np.nan,
                         "player_key": f"pfr:P{p:03d}", "birth_date": pd.Timestamp(born, 6, 1)})
    for p, season, value in cons:
        rows.append({"source": "fantasypros", "source_player_id": f"F{p:03d}", "season": season, "kind": "projection",
                     "player_name": f"Player {p}", "position": positions[p], "team": "SYN", "games": np.nan,
                     "points_std": np.nan, "points_half": np.nan, "points_ppr": value, "rec": np.nan,
                     "targets": np.nan, "rush_att": np.nan, "pass_att": np.nan,
                     "player_key": f"pfr:P{p:03d}", "birth_date": pd.NaT})
    return pd.DataFrame(rows)


COLUMNS = ["player_key", "season", "scoring", "model_run_id", "player_name", "position", "team", "projected_points",
           "baseline_points", "consensus_points", "last_points", "last_games"]


def write(conn, run: ModelRun, proj: pd.DataFrame | None, scoring: str) -> None:
    record(conn, run)
    if run.trained and proj is not None:
        df = proj.assign(model_run_id=run.model_run_id)[COLUMNS].astype(object)
        rows = [tuple(None if pd.isna(v) else v for v in r) for r in df.itertuples(index=False)]
        rows = [r[:11] + (None if r[11] is None else int(r[11]),) for r in rows]
        with conn.cursor() as cur:
            cur.execute("DELETE FROM fantasy.projections WHERE scoring = %s", (scoring,))
            execute_values(cur, f"INSERT INTO fantasy.projections ({', '.join(COLUMNS)}) VALUES %s", rows)
        set_predictions(conn, run, len(rows))
    conn.commit()


def train(url: str | None = None, scoring: str = "ppr") -> list[ModelRun]:
    stats = load(data.engine(url, readonly=False))
    run, proj = fit(stats, scoring)
    conn = connect(url)
    try:
        write(conn, run, proj, scoring)
    finally:
        conn.close()
    return [run]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    scoring = argv[0] if argv else "ppr"
    if scoring not in REC_BONUS:
        print(f"scoring should be one of {', '.join(REC_BONUS)}, not {scoring!r}", file=sys.stderr)
        return 2
    for run in train(scoring=scoring):
        print(run.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
