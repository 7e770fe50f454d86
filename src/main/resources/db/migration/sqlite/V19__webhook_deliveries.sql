-- Issue 18. Outbound webhooks owed (a webhook channel's answers, jobs' results), kept until delivered or given up,
-- so a restart or kill -9 continues them. id is the webhook-id sent on every attempt; secrets are the NAMES of the
-- signing keys (never a key); claimed_by/claimed_until: the gateway trying it now, until its claim lapses. Keep in
-- step with ../postgresql/V19__webhook_deliveries.sql.
CREATE TABLE webhook_deliveries (
    id            TEXT    PRIMARY KEY,
    origin        TEXT    NOT NULL,
    caller        TEXT    NOT NULL,
    url           TEXT    NOT NULL,
    secrets       TEXT    NOT NULL,
    body          BLOB    NOT NULL,
    max_attempts  INTEGER NOT NULL,
    attempts      INTEGER NOT NULL,
    next_at       INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    claimed_by    TEXT,
    claimed_until INTEGER,
    detail        TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (state, next_at);
