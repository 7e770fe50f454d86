-- Issue 16. Scheduled jobs, their runs, and db-scheduler's table of due executions (SQLite). Keep in step with
-- ../postgresql/V13__jobs.sql. Times in jobs and job_runs are epoch milliseconds, like every other table.

-- A job: what it does is its spec (JSON the store does not read); who pays is its owner (a user or a team).
-- last_run_no is the number of the last run or missed run recorded, counted up in the same statement that takes
-- the next number, so two gateways starting runs of one job at once never get the same one.
CREATE TABLE jobs (
    id                   TEXT    PRIMARY KEY,
    owner_user           TEXT,
    owner_team           TEXT,
    agent                TEXT,
    spec                 TEXT    NOT NULL,
    state                TEXT    NOT NULL CHECK (state IN ('active', 'paused', 'ended')),
    source               TEXT    NOT NULL CHECK (source IN ('config', 'api', 'agent')),
    created_by           TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    paused_reason        TEXT,
    next_due_at          INTEGER,
    last_run_at          INTEGER,
    last_run_no          INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX ix_jobs_owner_user ON jobs (owner_user);
CREATE INDEX ix_jobs_owner_team ON jobs (owner_team);

-- One run of a job, or one it missed (started_at null). result is clipped by the caller.
CREATE TABLE job_runs (
    job_id        TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    run_no        INTEGER NOT NULL,
    scheduled_for INTEGER NOT NULL,
    started_at    INTEGER,
    ended_at      INTEGER,
    status        TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'limit_exceeded', 'interrupted',
                                                     'missed', 'budget_exhausted', 'timed_out')),
    reason        TEXT,
    agent_run_id  TEXT,
    session_key   TEXT,
    gateway       TEXT,
    tokens        INTEGER NOT NULL DEFAULT 0,
    cost_nanos    INTEGER NOT NULL DEFAULT 0,
    result        TEXT,
    PRIMARY KEY (job_id, run_no)
) STRICT;
CREATE INDEX ix_job_runs_running ON job_runs (status) WHERE status = 'running';

-- db-scheduler's executions (its PostgreSQL schema, for SQLite): one row per job, picked by one gateway at a time
-- (an UPDATE guarded by version). SQLite has no boolean or timestamp types: picked is 0/1 and the times are epoch
-- milliseconds, which DueRuns binds itself (db-scheduler 16.7.1 knows no SQLite).
CREATE TABLE scheduled_tasks (
    task_name            TEXT    NOT NULL,
    task_instance        TEXT    NOT NULL,
    task_data            BLOB,
    execution_time       INTEGER NOT NULL,
    picked               INTEGER NOT NULL,
    picked_by            TEXT,
    last_success         INTEGER,
    last_failure         INTEGER,
    consecutive_failures INTEGER,
    last_heartbeat       INTEGER,
    version              INTEGER NOT NULL,
    priority             INTEGER,
    PRIMARY KEY (task_name, task_instance)
) STRICT;
CREATE INDEX execution_time_idx ON scheduled_tasks (execution_time);
CREATE INDEX last_heartbeat_idx ON scheduled_tasks (last_heartbeat);
CREATE INDEX priority_execution_time_idx ON scheduled_tasks (priority DESC, execution_time ASC);
