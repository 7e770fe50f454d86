-- Issue 14. A budget set from the CLI bound a running gateway only at its next poll of every budget (2 s). Every
-- budget write now also counts itself here, in the same transaction; a gateway reads this one row often (it is cheap)
-- and re-reads the budgets only when the count moved. V12, not V11: V11 is the Responses API's, written at the same
-- time on another branch. Keep in step with ../postgresql/V12__budget_changes.sql.
CREATE TABLE budget_changes (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
) STRICT;
INSERT INTO budget_changes (id, seq) VALUES (1, 0);

-- Each running gateway's acknowledgement: the change count it has applied, and when it last said so (it repeats it
-- while it runs). The CLI waits briefly for one after a write, to say whether the budget binds now.
CREATE TABLE budget_acks (
    gateway TEXT    PRIMARY KEY,
    seq     INTEGER NOT NULL,
    at      INTEGER NOT NULL
) STRICT;
