-- Issue 18. Outbound webhooks owed (a webhook channel's answers, jobs' results), kept until delivered or given up,
-- so a restart or kill -9 continues them. id is the webhook-id sent on every attempt; secrets are the NAMES of the
-- signing keys (never a key); claimed_by/claimed_until: the gateway trying it now, until its claim lapses. Keep in
-- step with ../sqlite/V19__webhook_deliveries.sql.
CREATE TABLE webhook_deliveries (
    id            TEXT    PRIMARY KEY,
    origin        TEXT    NOT NULL,
    caller        TEXT    NOT NULL,
    url           TEXT    NOT NULL,
    secrets       TEXT    NOT NULL,
    body          BYTEA   NOT NULL,
    max_attempts  INTEGER NOT NULL,
    attempts      INTEGER NOT NULL,
    next_at       BIGINT  NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    claimed_by    TEXT,
    claimed_until BIGINT,
    detail        TEXT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (state, next_at);
