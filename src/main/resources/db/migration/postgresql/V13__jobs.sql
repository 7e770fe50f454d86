-- Issue 16. Scheduled jobs, their runs, and db-scheduler's table of due executions (PostgreSQL). Keep in step with
-- ../sqlite/V13__jobs.sql. Times in jobs and job_runs are epoch milliseconds, like every other table.

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
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    paused_reason        TEXT,
    next_due_at          BIGINT,
    last_run_at          BIGINT,
    last_run_no          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_jobs_owner_user ON jobs (owner_user);
CREATE INDEX ix_jobs_owner_team ON jobs (owner_team);

-- One run of a job, or one it missed (started_at null). result is clipped by the caller.
CREATE TABLE job_runs (
    job_id        TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    run_no        INTEGER NOT NULL,
    scheduled_for BIGINT  NOT NULL,
    started_at    BIGINT,
    ended_at      BIGINT,
    status        TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'limit_exceeded', 'interrupted',
                                                     'missed', 'budget_exhausted', 'timed_out')),
    reason        TEXT,
    agent_run_id  TEXT,
    session_key   TEXT,
    gateway       TEXT,
    tokens        BIGINT  NOT NULL DEFAULT 0,
    cost_nanos    BIGINT  NOT NULL DEFAULT 0,
    result        TEXT,
    PRIMARY KEY (job_id, run_no)
);
CREATE INDEX ix_job_runs_running ON job_runs (status) WHERE status = 'running';

-- db-scheduler's executions, as its documentation gives the table for PostgreSQL (db-scheduler 16.7.1): one row per
-- job, picked by one gateway at a time (SELECT ... FOR UPDATE SKIP LOCKED).
CREATE TABLE scheduled_tasks (
    task_name            TEXT                     NOT NULL,
    task_instance        TEXT                     NOT NULL,
    task_data            BYTEA,
    execution_time       TIMESTAMP WITH TIME ZONE NOT NULL,
    picked               BOOLEAN                  NOT NULL,
    picked_by            TEXT,
    last_success         TIMESTAMP WITH TIME ZONE,
    last_failure         TIMESTAMP WITH TIME ZONE,
    consecutive_failures INT,
    last_heartbeat       TIMESTAMP WITH TIME ZONE,
    version              BIGINT                   NOT NULL,
    priority             SMALLINT,
    PRIMARY KEY (task_name, task_instance)
);
CREATE INDEX execution_time_idx ON scheduled_tasks (execution_time);
CREATE INDEX last_heartbeat_idx ON scheduled_tasks (last_heartbeat);
CREATE INDEX priority_execution_time_idx ON scheduled_tasks (priority DESC, execution_time ASC);
