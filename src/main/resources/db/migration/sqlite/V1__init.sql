-- Carapace schema v1 (SQLite). Keep in step with ../postgresql/V1__init.sql.
-- Times are epoch milliseconds; booleans are 0/1. STRICT makes SQLite enforce the declared types.

CREATE TABLE api_keys (
    seq        INTEGER PRIMARY KEY,            -- insertion order (rowid)
    id         TEXT    NOT NULL,
    prefix     TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    user_id    TEXT,
    team       TEXT,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    name       TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    CONSTRAINT uq_api_keys_id UNIQUE (id),
    CONSTRAINT uq_api_keys_prefix UNIQUE (prefix),
    CONSTRAINT uq_api_keys_hash UNIQUE (hash)
) STRICT;

CREATE TABLE usage_records (
    seq                 INTEGER PRIMARY KEY,   -- insertion order (rowid)
    request_id          TEXT    NOT NULL,
    at                  INTEGER NOT NULL,
    org                 TEXT,
    team                TEXT,
    user_id             TEXT,
    key_prefix          TEXT,
    api                 TEXT,
    model               TEXT,
    tier                TEXT,
    deployment          TEXT,
    input_tokens        INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens  INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    reasoning_tokens    INTEGER NOT NULL,
    estimated           INTEGER NOT NULL CHECK (estimated IN (0, 1)),
    stream              INTEGER NOT NULL CHECK (stream IN (0, 1)),
    status              INTEGER NOT NULL,
    error_code          TEXT,
    latency_micros      INTEGER NOT NULL,
    ttft_micros         INTEGER,
    CONSTRAINT uq_usage_records_request_id UNIQUE (request_id)
) STRICT;

CREATE INDEX ix_usage_records_at ON usage_records (at);
CREATE INDEX ix_usage_records_team_at ON usage_records (team, at);
CREATE INDEX ix_usage_records_user_at ON usage_records (user_id, at);
