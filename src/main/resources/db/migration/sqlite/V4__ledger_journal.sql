-- The ledger's journal (SQLite only; ../postgresql/V4__ledger_journal.sql is a no-op, since gateways on PostgreSQL
-- share budgets through the tables themselves).
-- A SQLite file has one gateway, which decides budgets in memory and makes each decision durable by appending it to
-- an append-only file next to the database (<database file>-ledger): a reservation before the upstream call, its
-- settlement before the response. A background writer folds the entries, in order, into reservations,
-- budget_windows, usage_records and spend_daily, and in the same transaction records here the last entry folded, so
-- that the next start after a crash folds exactly the entries that were not. See store/Journal.java.
CREATE TABLE ledger_journal (
    folded_seq INTEGER NOT NULL    -- entries up to this seq are in the tables
) STRICT;
INSERT INTO ledger_journal (folded_seq) VALUES (0);
