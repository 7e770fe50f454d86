-- Issue 14. Spend counted every call as a request, answered or not (a user with one answered call showed five).
-- requests now counts the calls that got an answer (status 200, or 499 when the client left mid-stream); unserved the
-- ones refused (budget, policy, privacy), invalid, or failed upstream. Rows folded before this migration count all
-- their calls as requests: the split cannot be made after the fact from the rollup.
ALTER TABLE spend_daily ADD COLUMN unserved INTEGER NOT NULL DEFAULT 0;
