package dev.carapace.schedule;

/** The ledger's budgets of jobs ({@code job:ID}), through an adapter in the server. */
public interface JobBudgets {

    /** Creates or replaces the job's budget. @throws dev.carapace.model.ApiException an invalid amount or period */
    void set(String jobId, JobBudget budget);

    void remove(String jobId);
}
