-- Agent sessions, runs and transcripts (PostgreSQL). Keep in step with ../sqlite/V3__agents.sql.
-- Times are epoch milliseconds. Transcript content is JSON text in the runtime's neutral shape.

CREATE TABLE agent_sessions (
    session_key TEXT   PRIMARY KEY,
    agent       TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE agent_runs (
    id            TEXT    PRIMARY KEY,
    session_key   TEXT    NOT NULL REFERENCES agent_sessions (session_key),
    agent         TEXT    NOT NULL,
    parent_run_id TEXT,
    status        TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled',
                                                     'interrupted', 'limit_exceeded')),
    reason        TEXT,
    input         TEXT,
    steps         INTEGER NOT NULL DEFAULT 0,
    tokens        BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    started_at    BIGINT,
    ended_at      BIGINT
);
CREATE INDEX ix_agent_runs_session ON agent_runs (session_key, created_at);
CREATE INDEX ix_agent_runs_status ON agent_runs (status);

CREATE TABLE agent_transcript (
    session_key         TEXT    NOT NULL REFERENCES agent_sessions (session_key),
    seq                 BIGINT  NOT NULL,
    run_id              TEXT,
    role                TEXT    NOT NULL CHECK (role IN ('user', 'assistant', 'tool', 'summary')),
    content             TEXT    NOT NULL,
    model               TEXT,
    input_tokens        BIGINT,
    output_tokens       BIGINT,
    cached_input_tokens BIGINT,
    created_at          BIGINT  NOT NULL,
    PRIMARY KEY (session_key, seq)
);
