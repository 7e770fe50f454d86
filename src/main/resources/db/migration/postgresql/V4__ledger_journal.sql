-- Nothing to do on PostgreSQL: the ledger's journal (see ../sqlite/V4__ledger_journal.sql) exists only for a SQLite
-- file, which one gateway owns and whose budgets it decides in memory. Gateways sharing a PostgreSQL database decide
-- in the tables themselves (store/SqlReservations.java). This file keeps the version numbers aligned across dialects.
SELECT 1;
