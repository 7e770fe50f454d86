package dev.carapace.server.adapter;

import dev.carapace.ledger.Budget;
import dev.carapace.ledger.Budgets;
import dev.carapace.schedule.JobBudget;
import dev.carapace.schedule.JobBudgets;

/** A job's budget is the ledger's budget {@code job:ID}, checked on every model call of its runs. */
public final class LedgerJobBudgets implements JobBudgets {

    private final Budgets budgets;

    public LedgerJobBudgets(Budgets budgets) { this.budgets = budgets; }

    @Override
    public void set(String jobId, JobBudget b) {
        budgets.set(new Budgets.Request("job", jobId, b.amount(), b.tokens(), b.period(), null, null, null, null));
    }

    @Override
    public void remove(String jobId) { budgets.delete(Budget.id(Budget.Scope.JOB, jobId)); }
}
