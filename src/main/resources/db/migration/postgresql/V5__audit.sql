-- The guard's audit log, pending approvals and standing grants (PostgreSQL). Keep in step with ../sqlite/V5__audit.sql.
-- Times are epoch milliseconds.

-- Append-only, hash-chained (see the SQLite file and guard.audit.AuditChain). Appends from every gateway on this
-- database take one advisory lock, so the log stays one linear chain.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    at         BIGINT NOT NULL,
    principal  TEXT,
    agent      TEXT,
    session    TEXT,
    layer      TEXT   NOT NULL,
    action     TEXT,
    target     TEXT,
    outcome    TEXT   NOT NULL,
    rule       TEXT,
    reason     TEXT,
    prev_hash  TEXT   NOT NULL,
    hash       TEXT   NOT NULL
);
CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE INDEX ix_audit_log_agent ON audit_log (agent, seq);
CREATE INDEX ix_audit_log_session ON audit_log (session, seq);
CREATE INDEX ix_audit_log_hash ON audit_log (hash);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE approvals (
    id              TEXT   PRIMARY KEY,
    status          TEXT   NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    principal       TEXT,
    agent           TEXT   NOT NULL,
    session         TEXT,
    run_id          TEXT,
    call_id         TEXT,
    tool            TEXT   NOT NULL,
    layer           TEXT,
    target          TEXT,
    rule            TEXT,
    reason          TEXT,
    remedy          TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    decided_at      BIGINT,
    decided_by      TEXT,
    decision_reason TEXT,
    grant_id        TEXT
);
CREATE INDEX ix_approvals_status ON approvals (status, created_at);

CREATE TABLE approval_grants (
    id             TEXT   PRIMARY KEY,
    agent          TEXT   NOT NULL,
    tool           TEXT   NOT NULL,
    target_pattern TEXT   NOT NULL,
    approval_id    TEXT,
    created_by     TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    revoked_by     TEXT
);
CREATE INDEX ix_approval_grants_agent ON approval_grants (agent, tool);
