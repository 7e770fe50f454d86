-- Issue 16. A scheduled job has a budget of its own ("job:ID"), on top of its agent's and its owner's. SQLite cannot
-- change a CHECK constraint in place, so the table is copied. V14, not V13: V13 (the jobs' tables) is written at the
-- same time on another branch. Keep in step with ../postgresql/V14__job_budgets.sql.
CREATE TABLE budgets_v14 (
    id            TEXT    PRIMARY KEY,
    scope         TEXT    NOT NULL CHECK (scope IN ('org', 'team', 'user', 'agent', 'job')),
    subject       TEXT    NOT NULL,
    period        TEXT    NOT NULL CHECK (period IN ('day', 'week', 'month', 'none')),
    time_zone     TEXT    NOT NULL,
    currency      TEXT    NOT NULL,
    limit_nanos   INTEGER,
    limit_tokens  INTEGER,
    soft_percents TEXT    NOT NULL,
    tier_rules    TEXT    NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
INSERT INTO budgets_v14 SELECT id, scope, subject, period, time_zone, currency, limit_nanos, limit_tokens,
    soft_percents, tier_rules, updated_at FROM budgets;
DROP TABLE budgets;
ALTER TABLE budgets_v14 RENAME TO budgets;
