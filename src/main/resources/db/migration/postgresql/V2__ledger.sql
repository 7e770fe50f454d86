-- Ledger (PostgreSQL). Keep in step with ../sqlite/V2__ledger.sql.
-- Money is integer nano-USD (1e-9 USD): exact sums, and a price of 0.075 USD per million tokens is 75 per token.

ALTER TABLE usage_records ADD COLUMN cost_nanos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_records ADD COLUMN agent TEXT;

-- A budget: one per (scope, subject); id is "scope:subject", e.g. "team:platform".
CREATE TABLE budgets (
    id            TEXT    PRIMARY KEY,
    scope         TEXT    NOT NULL CHECK (scope IN ('org', 'team', 'user', 'agent')),
    subject       TEXT    NOT NULL,
    period        TEXT    NOT NULL CHECK (period IN ('day', 'week', 'month', 'none')),
    time_zone     TEXT    NOT NULL,
    currency      TEXT    NOT NULL,
    limit_nanos   BIGINT,
    limit_tokens  BIGINT,
    soft_percents TEXT    NOT NULL,            -- "50,80,90"
    tier_rules    TEXT    NOT NULL,            -- "ultra=0;free=exempt" (cap in nano-USD, or exempt)
    updated_at    BIGINT NOT NULL
);

-- What a budget has spent and holds reserved in one period window; tier '*' is the budget's total.
CREATE TABLE budget_windows (
    budget_id       TEXT    NOT NULL,
    window_start    BIGINT NOT NULL,
    tier            TEXT    NOT NULL,
    spent_nanos     BIGINT NOT NULL DEFAULT 0,
    reserved_nanos  BIGINT NOT NULL DEFAULT 0,
    spent_tokens    BIGINT NOT NULL DEFAULT 0,
    reserved_tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (budget_id, window_start, tier)
);

-- One per request that reserved: open until settled (or reconciled after its gateway died). The owning gateway
-- refreshes heartbeat_at while it runs; a reservation whose owner stopped beating is an orphan.
CREATE TABLE reservations (
    id            TEXT    PRIMARY KEY,
    owner         TEXT    NOT NULL,
    heartbeat_at  BIGINT NOT NULL,
    request_id    TEXT    NOT NULL,
    created_at    BIGINT NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('open', 'settled', 'reconciled')),
    nanos         BIGINT NOT NULL,
    tokens        BIGINT NOT NULL,
    windows       TEXT    NOT NULL,            -- "budget|window_start|tier;..."
    org           TEXT,
    team          TEXT,
    user_id       TEXT,
    agent         TEXT,
    key_prefix    TEXT,
    api           TEXT,
    model         TEXT,
    tier          TEXT,
    input_tokens  BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    stream        BOOLEAN NOT NULL
);
CREATE INDEX ix_reservations_state ON reservations (state);

-- Alerts sent: at most one per budget, window and threshold (percent; 100 = hard limit).
CREATE TABLE budget_alerts (
    budget_id    TEXT    NOT NULL,
    window_start BIGINT NOT NULL,
    threshold    BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (budget_id, window_start, threshold)
);

-- Daily rollups of usage records, maintained in the same transaction as the records.
CREATE TABLE spend_daily (
    day                 TEXT    NOT NULL,      -- UTC, YYYY-MM-DD
    org                 TEXT    NOT NULL,
    team                TEXT    NOT NULL,
    user_id             TEXT    NOT NULL,
    agent               TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    tier                TEXT    NOT NULL,
    requests            BIGINT NOT NULL,
    input_tokens        BIGINT NOT NULL,
    cached_input_tokens BIGINT NOT NULL,
    output_tokens       BIGINT NOT NULL,
    reasoning_tokens    BIGINT NOT NULL,
    cost_nanos          BIGINT NOT NULL,
    PRIMARY KEY (day, org, team, user_id, agent, model, tier)
);

-- Price history: a price applies from effective_at; records keep the cost computed when they were made.
CREATE TABLE prices (
    model        TEXT    NOT NULL,
    effective_at BIGINT NOT NULL,
    input        TEXT    NOT NULL,
    output       TEXT    NOT NULL,
    cached_input TEXT    NOT NULL,
    PRIMARY KEY (model, effective_at)
);
