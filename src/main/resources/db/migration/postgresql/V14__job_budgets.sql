-- Issue 16. A scheduled job has a budget of its own ("job:ID"), on top of its agent's and its owner's. V14, not V13:
-- V13 (the jobs' tables) is written at the same time on another branch. Keep in step with ../sqlite/V14__job_budgets.sql.
ALTER TABLE budgets DROP CONSTRAINT budgets_scope_check;
ALTER TABLE budgets ADD CONSTRAINT budgets_scope_check CHECK (scope IN ('org', 'team', 'user', 'agent', 'job'));
