-- Models: every training run (platform.model_runs) and what the models predict.
-- The code is in pde/housing/value.py, pde/fantasy/projections.py and
-- pde/finance/spending.py; `pde model train` (and the Airflow DAGs housing_value,
-- fantasy_projections, finance_spending) rewrite these tables from the data.

CREATE TABLE platform.model_runs (
    model_run_id  bigserial PRIMARY KEY,
    model         text NOT NULL,
    area          text NOT NULL,
    status        text NOT NULL CHECK (status IN ('trained', 'too_few_rows', 'failed')),
    code_version  text,
    trained_at    timestamptz NOT NULL DEFAULT now(),
    rows          integer NOT NULL DEFAULT 0,
    features      jsonb NOT NULL DEFAULT '[]',
    metrics       jsonb NOT NULL DEFAULT '{}',
    predictions   integer NOT NULL DEFAULT 0,
    synthetic     boolean NOT NULL DEFAULT false,
    message       text
);
CREATE INDEX model_runs_model ON platform.model_runs (model, trained_at DESC);
COMMENT ON TABLE platform.model_runs IS 'One row per model training run (pde model train, the model DAGs, a notebook that records): which model, which code, on how many rows, and how well it did against its naive baseline.';
COMMENT ON COLUMN platform.model_runs.model_run_id IS 'Run number; prediction rows carry the run that wrote them.';
COMMENT ON COLUMN platform.model_runs.model IS 'Model name: house_value.sale, house_value.rent, fantasy.projections, finance.recurring, finance.transfers, finance.forecast.';
COMMENT ON COLUMN platform.model_runs.area IS 'housing, fantasy or finance.';
COMMENT ON COLUMN platform.model_runs.status IS 'trained; too_few_rows (fewer than 30 rows to learn from: no model, the message says how many there were); failed.';
COMMENT ON COLUMN platform.model_runs.code_version IS 'git commit of the code that trained it (with -dirty when the checkout had uncommitted changes), or PDE_CODE_VERSION.';
COMMENT ON COLUMN platform.model_runs.trained_at IS 'When the run ended.';
COMMENT ON COLUMN platform.model_runs.rows IS 'Rows the model learned from (or found, when too few).';
COMMENT ON COLUMN platform.model_runs.features IS 'Names of the model''s input features, JSON array.';
COMMENT ON COLUMN platform.model_runs.metrics IS 'Cross-validated or back-tested errors, JSON object: the model''s and its naive baseline''s side by side (e.g. mae, mape, baseline_mae, baseline_mape, n).';
COMMENT ON COLUMN platform.model_runs.predictions IS 'Prediction rows written by this run.';
COMMENT ON COLUMN platform.model_runs.synthetic IS 'True when the run learned from synthetic data (tests, notebook demonstrations): its metrics say nothing about your data.';
COMMENT ON COLUMN platform.model_runs.message IS 'What happened, in words (why no model was trained, what could not be measured).';

-- housing ------------------------------------------------------------------------
CREATE TABLE housing.value_estimates (
    zpid            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('sale', 'rent')),
    model_run_id    bigint NOT NULL REFERENCES platform.model_runs ON DELETE CASCADE,
    status          text,
    address         text,
    zip             text,
    list_price      bigint,
    predicted_value double precision NOT NULL,
    gap             double precision,
    gap_pct         double precision,
    deal_rank       integer,
    baseline_value  double precision,
    zestimate       bigint,
    PRIMARY KEY (zpid, kind)
);
COMMENT ON TABLE housing.value_estimates IS 'What pde''s house value model thinks each active listing is worth (sale price for homes for sale, monthly rent for rentals), from the latest trained run. The value is predicted without the listing itself (out of fold).';
COMMENT ON COLUMN housing.value_estimates.zpid IS 'The listing (housing.listings.zpid).';
COMMENT ON COLUMN housing.value_estimates.kind IS 'sale (value = sale price) or rent (value = monthly rent).';
COMMENT ON COLUMN housing.value_estimates.model_run_id IS 'The training run (platform.model_runs).';
COMMENT ON COLUMN housing.value_estimates.status IS 'Zillow status when predicted (FOR_SALE, FOR_RENT).';
COMMENT ON COLUMN housing.value_estimates.address IS 'Address, for reading.';
COMMENT ON COLUMN housing.value_estimates.zip IS 'ZIP code.';
COMMENT ON COLUMN housing.value_estimates.list_price IS 'Asking price (or monthly rent) in dollars.';
COMMENT ON COLUMN housing.value_estimates.predicted_value IS 'Predicted sale price (or monthly rent) in dollars, from beds, baths, sqft, lot, year built, home type and ZIP.';
COMMENT ON COLUMN housing.value_estimates.gap IS 'list_price - predicted_value in dollars: negative = asking less than the model thinks it is worth.';
COMMENT ON COLUMN housing.value_estimates.gap_pct IS 'gap / predicted_value (-0.12 = asking 12 % below the predicted value).';
COMMENT ON COLUMN housing.value_estimates.deal_rank IS '1 = the listing asking the most below its predicted value (smallest gap_pct), per kind.';
COMMENT ON COLUMN housing.value_estimates.baseline_value IS 'The naive baseline: median $/sq ft of the ZIP (else city, else all) times sqft.';
COMMENT ON COLUMN housing.value_estimates.zestimate IS 'Zillow''s Zestimate (rent Zestimate for rentals) when the page had one.';

-- fantasy ------------------------------------------------------------------------
CREATE TABLE fantasy.projections (
    player_key        text NOT NULL,
    season            integer NOT NULL,
    scoring           text NOT NULL,
    model_run_id      bigint NOT NULL REFERENCES platform.model_runs ON DELETE CASCADE,
    player_name       text,
    position          text,
    team              text,
    projected_points  double precision NOT NULL,
    baseline_points   double precision,
    consensus_points  double precision,
    last_points       double precision,
    last_games        integer,
    PRIMARY KEY (player_key, season, scoring)
);
COMMENT ON TABLE fantasy.projections IS 'pde''s own next-season fantasy points per player, from past seasons (fantasy.player_stats, week 0), beside the naive baseline and the FantasyPros consensus when crawled.';
COMMENT ON COLUMN fantasy.projections.player_key IS 'fantasy.players.player_id when the player is linked, else <source>:<source_player_id>.';
COMMENT ON COLUMN fantasy.projections.season IS 'The season projected.';
COMMENT ON COLUMN fantasy.projections.scoring IS 'std, half or ppr.';
COMMENT ON COLUMN fantasy.projections.model_run_id IS 'The training run (platform.model_runs).';
COMMENT ON COLUMN fantasy.projections.player_name IS 'Name.';
COMMENT ON COLUMN fantasy.projections.position IS 'Position.';
COMMENT ON COLUMN fantasy.projections.team IS 'Team in the last season seen.';
COMMENT ON COLUMN fantasy.projections.projected_points IS 'pde''s projected fantasy points for the season.';
COMMENT ON COLUMN fantasy.projections.baseline_points IS 'Naive baseline: last season''s points per game times the season''s games (17 from 2021, 16 before).';
COMMENT ON COLUMN fantasy.projections.consensus_points IS 'FantasyPros consensus season projection (fantasy.player_stats kind projection, week 0), when crawled.';
COMMENT ON COLUMN fantasy.projections.last_points IS 'Points in the previous season.';
COMMENT ON COLUMN fantasy.projections.last_games IS 'Games played in the previous season.';

-- finance ------------------------------------------------------------------------
CREATE TABLE finance.recurring_charges (
    account_id          text NOT NULL,
    payee_key           text NOT NULL,
    model_run_id        bigint NOT NULL REFERENCES platform.model_runs ON DELETE CASCADE,
    payee               text,
    cadence             text NOT NULL,
    period_days         double precision NOT NULL,
    currency            text,
    typical_amount      numeric NOT NULL,
    last_amount         numeric NOT NULL,
    last_date           date NOT NULL,
    next_expected_date  date NOT NULL,
    occurrences         integer NOT NULL,
    first_date          date NOT NULL,
    previous_amount     numeric,
    increased_on        date,
    PRIMARY KEY (account_id, payee_key)
);
COMMENT ON TABLE finance.recurring_charges IS 'Subscriptions and other charges that come back on a cadence, found in finance.transactions (at least 3 times, regular spacing, similar amounts). Transfers between your own accounts are left out.';
COMMENT ON COLUMN finance.recurring_charges.account_id IS 'The account charged (finance.accounts).';
COMMENT ON COLUMN finance.recurring_charges.payee_key IS 'The payee normalised (lower case, no digits, reference numbers or punctuation): how charges are grouped.';
COMMENT ON COLUMN finance.recurring_charges.model_run_id IS 'The run that found it (platform.model_runs).';
COMMENT ON COLUMN finance.recurring_charges.payee IS 'The payee as the latest statement writes it.';
COMMENT ON COLUMN finance.recurring_charges.cadence IS 'weekly, biweekly, monthly, quarterly or yearly.';
COMMENT ON COLUMN finance.recurring_charges.period_days IS 'Median days between charges.';
COMMENT ON COLUMN finance.recurring_charges.currency IS 'ISO 4217 currency of the amounts.';
COMMENT ON COLUMN finance.recurring_charges.typical_amount IS 'Median charge (positive = money out).';
COMMENT ON COLUMN finance.recurring_charges.last_amount IS 'The latest charge (positive = money out).';
COMMENT ON COLUMN finance.recurring_charges.last_date IS 'Day of the latest charge.';
COMMENT ON COLUMN finance.recurring_charges.next_expected_date IS 'When the next charge is expected (last date plus the cadence; same day of the month for monthly and longer).';
COMMENT ON COLUMN finance.recurring_charges.occurrences IS 'How many charges were seen.';
COMMENT ON COLUMN finance.recurring_charges.first_date IS 'Day of the first charge seen.';
COMMENT ON COLUMN finance.recurring_charges.previous_amount IS 'When the price went up: the amount before the latest increase.';
COMMENT ON COLUMN finance.recurring_charges.increased_on IS 'When the price went up: the first charge at the new price.';

CREATE TABLE finance.transfer_matches (
    out_account_id      text NOT NULL,
    out_transaction_id  text NOT NULL,
    in_account_id       text NOT NULL,
    in_transaction_id   text NOT NULL,
    model_run_id        bigint NOT NULL REFERENCES platform.model_runs ON DELETE CASCADE,
    amount              numeric NOT NULL,
    currency            text NOT NULL,
    out_date            date NOT NULL,
    in_date             date NOT NULL,
    days_apart          integer NOT NULL,
    PRIMARY KEY (out_account_id, out_transaction_id),
    UNIQUE (in_account_id, in_transaction_id)
);
COMMENT ON TABLE finance.transfer_matches IS 'Money moved between two of your own accounts: an outflow matched to an inflow of the same amount and currency in another account within a few days. Not spending: the forecasts and recurring charges leave both sides out.';
COMMENT ON COLUMN finance.transfer_matches.out_account_id IS 'The account the money left (finance.accounts).';
COMMENT ON COLUMN finance.transfer_matches.out_transaction_id IS 'The outflow (finance.transactions).';
COMMENT ON COLUMN finance.transfer_matches.in_account_id IS 'The account the money arrived in.';
COMMENT ON COLUMN finance.transfer_matches.in_transaction_id IS 'The inflow (finance.transactions).';
COMMENT ON COLUMN finance.transfer_matches.model_run_id IS 'The run that matched them (platform.model_runs).';
COMMENT ON COLUMN finance.transfer_matches.amount IS 'Amount moved (positive).';
COMMENT ON COLUMN finance.transfer_matches.currency IS 'ISO 4217 currency.';
COMMENT ON COLUMN finance.transfer_matches.out_date IS 'Day the outflow was posted.';
COMMENT ON COLUMN finance.transfer_matches.in_date IS 'Day the inflow was posted.';
COMMENT ON COLUMN finance.transfer_matches.days_apart IS 'Days between the two postings.';

CREATE TABLE finance.spending_forecast (
    month            date NOT NULL,
    category         text NOT NULL,
    currency         text NOT NULL,
    model_run_id     bigint NOT NULL REFERENCES platform.model_runs ON DELETE CASCADE,
    forecast         numeric NOT NULL,
    lower            numeric NOT NULL,
    upper            numeric NOT NULL,
    baseline         numeric NOT NULL,
    last_month       numeric,
    PRIMARY KEY (month, category, currency)
);
COMMENT ON TABLE finance.spending_forecast IS 'Next month''s spending per category, forecast from past months (transfers between your own accounts left out), with an 80 % interval from the back-test''s errors and the naive trailing 3-month mean beside it.';
COMMENT ON COLUMN finance.spending_forecast.month IS 'First day of the month forecast.';
COMMENT ON COLUMN finance.spending_forecast.category IS 'Category (user, rule or model category; else the institution''s; else uncategorized).';
COMMENT ON COLUMN finance.spending_forecast.currency IS 'ISO 4217 currency.';
COMMENT ON COLUMN finance.spending_forecast.model_run_id IS 'The run that forecast it (platform.model_runs).';
COMMENT ON COLUMN finance.spending_forecast.forecast IS 'Forecast spending (positive = money out).';
COMMENT ON COLUMN finance.spending_forecast.lower IS 'Lower end of the 80 % interval (10th percentile of the back-test errors added).';
COMMENT ON COLUMN finance.spending_forecast.upper IS 'Upper end of the 80 % interval (90th percentile).';
COMMENT ON COLUMN finance.spending_forecast.baseline IS 'Naive baseline: the mean of the three months before.';
COMMENT ON COLUMN finance.spending_forecast.last_month IS 'Spending in the month before, for reading.';

-- views the dashboards read ---------------------------------------------------------
CREATE VIEW housing.deals AS
SELECT e.zpid, e.kind, e.deal_rank, l.city, e.zip, l.status, l.beds, l.baths, l.sqft, l.price,
       '<a href="' || replace(replace(replace(coalesce(l.url, ''), '&', '&amp;'), '"', '&quot;'), '<', '&lt;')
           || '" target="_blank" rel="noopener noreferrer">'
           || replace(replace(coalesce(l.street, l.address, e.zpid), '&', '&amp;'), '<', '&lt;')
           || '</a>' AS link,
       e.list_price, e.predicted_value, e.gap, e.gap_pct, e.baseline_value, e.zestimate, r.trained_at
  FROM housing.value_estimates e
  JOIN housing.listings l USING (zpid)
  JOIN platform.model_runs r USING (model_run_id);
COMMENT ON VIEW housing.deals IS 'housing.value_estimates with the listing''s facts and a link, for the house-hunt dashboard: deal_rank 1 asks furthest below pde''s predicted value.';
COMMENT ON COLUMN housing.deals.zpid IS 'The listing (housing.listings.zpid).';
COMMENT ON COLUMN housing.deals.kind IS 'sale or rent.';
COMMENT ON COLUMN housing.deals.deal_rank IS '1 = asking furthest below the predicted value, per kind.';
COMMENT ON COLUMN housing.deals.city IS 'City.';
COMMENT ON COLUMN housing.deals.zip IS 'ZIP code.';
COMMENT ON COLUMN housing.deals.status IS 'Zillow status now.';
COMMENT ON COLUMN housing.deals.beds IS 'Bedrooms.';
COMMENT ON COLUMN housing.deals.baths IS 'Bathrooms.';
COMMENT ON COLUMN housing.deals.sqft IS 'Living area in square feet.';
COMMENT ON COLUMN housing.deals.price IS 'Asking price now (may have changed since the model ran).';
COMMENT ON COLUMN housing.deals.link IS 'HTML link (<a href>) to the listing on zillow.com, labelled with the street address.';
COMMENT ON COLUMN housing.deals.list_price IS 'Asking price when the model ran.';
COMMENT ON COLUMN housing.deals.predicted_value IS 'pde''s predicted value (sale price or monthly rent).';
COMMENT ON COLUMN housing.deals.gap IS 'list_price - predicted_value.';
COMMENT ON COLUMN housing.deals.gap_pct IS 'gap / predicted_value.';
COMMENT ON COLUMN housing.deals.baseline_value IS 'Median $/sq ft of the ZIP times sqft.';
COMMENT ON COLUMN housing.deals.zestimate IS 'Zillow''s (rent) Zestimate, when shown.';
COMMENT ON COLUMN housing.deals.trained_at IS 'When the model that predicted it was trained.';

CREATE VIEW platform.model_latest AS
SELECT DISTINCT ON (model)
       model, area, status, trained_at, rows, predictions, code_version,
       (metrics ->> 'mae')::double precision AS mae,
       (metrics ->> 'baseline_mae')::double precision AS baseline_mae,
       (metrics ->> 'mape')::double precision AS mape,
       (metrics ->> 'baseline_mape')::double precision AS baseline_mape,
       (metrics ->> 'consensus_mae')::double precision AS consensus_mae,
       message
  FROM platform.model_runs
 WHERE NOT synthetic
 ORDER BY model, trained_at DESC, model_run_id DESC;
COMMENT ON VIEW platform.model_latest IS 'The latest real (not synthetic) run of each model, its error beside its naive baseline''s, and what it said.';
COMMENT ON COLUMN platform.model_latest.model IS 'Model name.';
COMMENT ON COLUMN platform.model_latest.area IS 'housing, fantasy or finance.';
COMMENT ON COLUMN platform.model_latest.status IS 'trained, too_few_rows or failed.';
COMMENT ON COLUMN platform.model_latest.trained_at IS 'When it ran.';
COMMENT ON COLUMN platform.model_latest.rows IS 'Rows learnt from (or found, when too few).';
COMMENT ON COLUMN platform.model_latest.predictions IS 'Prediction rows written.';
COMMENT ON COLUMN platform.model_latest.code_version IS 'git commit of the code.';
COMMENT ON COLUMN platform.model_latest.mae IS 'Mean absolute error (cross-validated or back-tested), in the target''s unit.';
COMMENT ON COLUMN platform.model_latest.baseline_mae IS 'The naive baseline''s mean absolute error on the same rows.';
COMMENT ON COLUMN platform.model_latest.mape IS 'Mean absolute percentage error (house value).';
COMMENT ON COLUMN platform.model_latest.baseline_mape IS 'The baseline''s mean absolute percentage error.';
COMMENT ON COLUMN platform.model_latest.consensus_mae IS 'FantasyPros consensus MAE on the same player-seasons, where they overlap.';
COMMENT ON COLUMN platform.model_latest.message IS 'What the run said (why no model, what could not be measured).';
