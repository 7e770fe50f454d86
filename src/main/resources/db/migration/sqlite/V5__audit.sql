-- The guard's audit log, pending approvals and standing grants (SQLite). Keep in step with ../postgresql/V5__audit.sql.
-- Times are epoch milliseconds.

-- Append-only, hash-chained: record seq (1, 2, ...) carries prev_hash, the hash of record seq-1 (64 zeros for the
-- first), and hash = SHA-256 over its fields and prev_hash (the encoding is defined in guard.audit.AuditChain).
-- Hashes are lower-case hex. The triggers refuse UPDATE and DELETE: changing the log takes dropping them first,
-- and `carapace audit verify` finds what was changed.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    principal  TEXT,
    agent      TEXT,
    session    TEXT,
    layer      TEXT    NOT NULL,
    action     TEXT,
    target     TEXT,
    outcome    TEXT    NOT NULL,
    rule       TEXT,
    reason     TEXT,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
) STRICT;
CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE INDEX ix_audit_log_agent ON audit_log (agent, seq);
CREATE INDEX ix_audit_log_session ON audit_log (session, seq);
CREATE INDEX ix_audit_log_hash ON audit_log (hash);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- A guard decision of "ask" waiting for an operator. status moves once, from pending to approved, rejected or
-- expired; decided_by is who (an API key's user and prefix, or the CLI's OS user).
CREATE TABLE approvals (
    id              TEXT    PRIMARY KEY,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    principal       TEXT,
    agent           TEXT    NOT NULL,
    session         TEXT,
    run_id          TEXT,
    call_id         TEXT,
    tool            TEXT    NOT NULL,
    layer           TEXT,
    target          TEXT,
    rule            TEXT,
    reason          TEXT,
    remedy          TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    decided_at      INTEGER,
    decided_by      TEXT,
    decision_reason TEXT,
    grant_id        TEXT
) STRICT;
CREATE INDEX ix_approvals_status ON approvals (status, created_at);

-- A standing "yes": calls of tool by agent whose target matches target_pattern are allowed without asking.
CREATE TABLE approval_grants (
    id             TEXT    PRIMARY KEY,
    agent          TEXT    NOT NULL,
    tool           TEXT    NOT NULL,
    target_pattern TEXT    NOT NULL,
    approval_id    TEXT,
    created_by     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    revoked_by     TEXT
) STRICT;
CREATE INDEX ix_approval_grants_agent ON approval_grants (agent, tool);
