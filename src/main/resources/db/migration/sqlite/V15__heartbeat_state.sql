-- Issue 16. What each agent's heartbeat remembers between beats (files' hashes, URLs' validators, checklist items
-- already reported, the markers of the job history): one row per agent, the state as JSON the store does not read,
-- so a restart reports nothing twice. And an index for the heartbeat's look at the runs of an agent's jobs that ended
-- badly since its last beat. Keep in step with ../postgresql/V15__heartbeat_state.sql.
CREATE TABLE heartbeat_state (
    agent      TEXT    PRIMARY KEY,
    state      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX ix_job_runs_trouble ON job_runs (ended_at, job_id, run_no) WHERE status NOT IN ('running', 'succeeded');
