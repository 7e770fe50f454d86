-- Carapace schema v1 (PostgreSQL). Keep in step with ../sqlite/V1__init.sql.
-- Times are epoch milliseconds (BIGINT), as on SQLite.

CREATE TABLE api_keys (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,   -- insertion order
    id         TEXT    NOT NULL,
    prefix     TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    user_id    TEXT,
    team       TEXT,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    name       TEXT,
    created_at BIGINT  NOT NULL,
    revoked_at BIGINT,
    CONSTRAINT uq_api_keys_id UNIQUE (id),
    CONSTRAINT uq_api_keys_prefix UNIQUE (prefix),
    CONSTRAINT uq_api_keys_hash UNIQUE (hash)
);

CREATE TABLE usage_records (
    seq                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,   -- insertion order
    request_id          TEXT    NOT NULL,
    at                  BIGINT  NOT NULL,
    org                 TEXT,
    team                TEXT,
    user_id             TEXT,
    key_prefix          TEXT,
    api                 TEXT,
    model               TEXT,
    tier                TEXT,
    deployment          TEXT,
    input_tokens        BIGINT  NOT NULL,
    cached_input_tokens BIGINT  NOT NULL,
    cache_write_tokens  BIGINT  NOT NULL,
    output_tokens       BIGINT  NOT NULL,
    reasoning_tokens    BIGINT  NOT NULL,
    estimated           BOOLEAN NOT NULL,
    stream              BOOLEAN NOT NULL,
    status              INTEGER NOT NULL,
    error_code          TEXT,
    latency_micros      BIGINT  NOT NULL,
    ttft_micros         BIGINT,
    CONSTRAINT uq_usage_records_request_id UNIQUE (request_id)
);

CREATE INDEX ix_usage_records_at ON usage_records (at);
CREATE INDEX ix_usage_records_team_at ON usage_records (team, at);
CREATE INDEX ix_usage_records_user_at ON usage_records (user_id, at);
