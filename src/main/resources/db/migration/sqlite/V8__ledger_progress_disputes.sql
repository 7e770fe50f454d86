-- Issue 13. A budgeted stream's progress: the ledger journals, at bounded intervals, what the stream produced so
-- far (an estimate), so a call interrupted by a crash is charged what it streamed, not its whole reservation.
-- Null until the first progress entry; only open reservations are updated.
ALTER TABLE reservations ADD COLUMN progress_nanos INTEGER;
ALTER TABLE reservations ADD COLUMN progress_input_tokens INTEGER;
ALTER TABLE reservations ADD COLUMN progress_output_tokens INTEGER;
-- What an upstream reported beyond what was plausible for the request (usage far past max_tokens or the prompt's
-- bound) and was therefore not charged to the budget: the record keeps the reported tokens, cost_nanos what was
-- charged, and this the difference, for an operator to settle with the provider.
ALTER TABLE usage_records ADD COLUMN disputed_nanos INTEGER NOT NULL DEFAULT 0;
