-- Watches (dags/crawls.yaml `watches:`, pde/schedule/watches.py): what each watch found, once per event, and
-- whether it was delivered. platform.watches remembers each watch's first evaluation (its baseline) so a watch
-- added today does not send every old match.

CREATE TABLE platform.watches (
    watch             text PRIMARY KEY,
    kind              text NOT NULL,
    definition        jsonb NOT NULL,
    definition_hash   text NOT NULL,
    baseline_at       timestamptz NOT NULL DEFAULT now(),
    last_evaluated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE platform.watches IS 'Each watch of dags/crawls.yaml as pde last evaluated it. The first evaluation of a watch (and the first after its conditions change) records what already matches as baseline, without sending.';
COMMENT ON COLUMN platform.watches.watch IS 'The watch''s name (watches: - name: in dags/crawls.yaml).';
COMMENT ON COLUMN platform.watches.kind IS 'new_listing, price_cut, budget, recurring_charge or trending_free_agent.';
COMMENT ON COLUMN platform.watches.definition IS 'The watch''s conditions when its baseline was taken, JSON (channel names left out).';
COMMENT ON COLUMN platform.watches.definition_hash IS 'Hash of definition: a different one means the conditions changed, and a new baseline is taken.';
COMMENT ON COLUMN platform.watches.baseline_at IS 'When the current baseline was taken (matches then were recorded, not sent).';
COMMENT ON COLUMN platform.watches.last_evaluated_at IS 'When the watch was last evaluated with --send or by the pde_watches DAG.';

CREATE TABLE platform.watch_events (
    event_id     bigserial PRIMARY KEY,
    watch        text NOT NULL,
    kind         text NOT NULL,
    event_key    text NOT NULL,
    title        text NOT NULL,
    body         text NOT NULL,
    url          text,
    details      jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('baseline', 'pending', 'sent')),
    detected_at  timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    delivered_to jsonb NOT NULL DEFAULT '[]',
    last_error   text,
    UNIQUE (watch, event_key)
);
CREATE INDEX watch_events_detected ON platform.watch_events (detected_at DESC);
CREATE INDEX watch_events_pending ON platform.watch_events (watch) WHERE status = 'pending';
COMMENT ON TABLE platform.watch_events IS 'What the watches found, one row per event (a new listing, a price cut, a category over budget in a month, a new recurring charge, a trending free agent in a week): recorded when first seen, sent once through the watch''s Apprise channels; an undelivered one is retried at the next evaluation. The home page lists them at /events.';
COMMENT ON COLUMN platform.watch_events.event_id IS 'Event number; the home page''s anchor #event-<id>.';
COMMENT ON COLUMN platform.watch_events.watch IS 'The watch that found it (platform.watches.watch).';
COMMENT ON COLUMN platform.watch_events.kind IS 'The watch''s kind: new_listing, price_cut, budget, recurring_charge or trending_free_agent.';
COMMENT ON COLUMN platform.watch_events.event_key IS 'What makes the event one event, e.g. zillow:123 (a listing), zillow:123:399000 (a cut to that price), Groceries:USD:2026-12 (a category''s month), acct:netflix com (a payee), 289646328504385536:4981:2026-W49 (a player''s week).';
COMMENT ON COLUMN platform.watch_events.title IS 'The alert''s title.';
COMMENT ON COLUMN platform.watch_events.body IS 'The alert''s text: what happened, with the numbers.';
COMMENT ON COLUMN platform.watch_events.url IS 'The row''s own page when it has one (the listing on Zillow or Redfin).';
COMMENT ON COLUMN platform.watch_events.details IS 'The numbers behind the event, JSON (prices, percent, spent and budget, ...).';
COMMENT ON COLUMN platform.watch_events.status IS 'baseline (already true when the watch was set up: never sent), pending (to send; retried) or sent.';
COMMENT ON COLUMN platform.watch_events.detected_at IS 'When a watch first saw it.';
COMMENT ON COLUMN platform.watch_events.sent_at IS 'When every channel of the watch had accepted it.';
COMMENT ON COLUMN platform.watch_events.attempts IS 'Delivery attempts so far.';
COMMENT ON COLUMN platform.watch_events.delivered_to IS 'Channels that accepted it (short hashes of their URLs, never the URLs): a retry skips them.';
COMMENT ON COLUMN platform.watch_events.last_error IS 'Why the last delivery failed, when it did.';
