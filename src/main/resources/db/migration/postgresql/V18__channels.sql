-- Issue 18. Channels: the inbox (each message received, once per channel and message id, with its files, and where
-- it is on its way to an agent and back), channel identities bound to people of the org through the API or a
-- pairing, pairings waiting for confirmation (the code's hash only), and each channel's own small state (an IMAP
-- mailbox's last UID, a Telegram offset). Who sent a run's message, for the transcript. Keep in step with
-- ../sqlite/V18__channels.sql.
CREATE TABLE channel_messages (
    id           TEXT    PRIMARY KEY,
    channel      TEXT    NOT NULL,
    message_id   TEXT    NOT NULL,
    sender       TEXT    NOT NULL,
    sender_name  TEXT,
    address      TEXT    NOT NULL,
    conversation TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    reply        TEXT    NOT NULL,
    automated    BOOLEAN NOT NULL,
    received_at  BIGINT NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('received', 'awaiting_approval', 'started', 'answered', 'refused',
                                                   'ignored', 'failed')),
    agent        TEXT,
    run_id       TEXT,
    detail       TEXT,
    updated_at   BIGINT NOT NULL,
    UNIQUE (channel, message_id)
);
CREATE INDEX ix_channel_messages_unfinished ON channel_messages (state, received_at);
CREATE INDEX ix_channel_messages_sender ON channel_messages (sender, updated_at);
CREATE INDEX ix_channel_messages_recent ON channel_messages (channel, received_at);

CREATE TABLE channel_attachments (
    message     TEXT    NOT NULL REFERENCES channel_messages (id),
    idx         INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    media_type  TEXT    NOT NULL,
    data        BYTEA   NOT NULL,
    PRIMARY KEY (message, idx)
);

CREATE TABLE channel_identities (
    sender      TEXT    PRIMARY KEY,
    team        TEXT    NOT NULL,
    user_name   TEXT,
    source      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE channel_pairings (
    code_hash   TEXT    PRIMARY KEY,
    sender      TEXT    NOT NULL UNIQUE,
    name        TEXT,
    channel     TEXT    NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE channel_state (
    channel     TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (channel, key)
);

ALTER TABLE agent_runs ADD COLUMN sender TEXT;
