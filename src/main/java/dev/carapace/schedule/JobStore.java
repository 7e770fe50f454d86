package dev.carapace.schedule;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** Where jobs and their runs are kept: the store, through an adapter in the server (this package knows no SQL). */
public interface JobStore {

    /** @throws dev.carapace.model.ApiException a job with this id exists (400, nothing changed) */
    void insert(Job job);

    Optional<Job> get(String id);

    /** Every job, by id. */
    List<Job> list();

    /** The jobs of one source ({@code config}, {@code api} or {@code agent}), by id. */
    List<Job> listBySource(String source);

    /** Writes the job's definition and state over the stored one. */
    void update(Job job);

    /** Removes the job and its history; false if there was none. */
    boolean delete(String id);

    /** In a session key given to {@link #startRun}, stands for the run's number (known only once it is taken). */
    String RUN = "{run}";

    /**
     * Records a run as started and returns its number: the next of the job's, never given twice.
     *
     * @param sessionKey the agent session the run uses, {@link #RUN} standing for its number; null for a webhook
     */
    long startRun(String jobId, Instant scheduledFor, Instant startedAt, String gateway, String sessionKey);

    /**
     * Notes the agent run a job run started, while it runs: a gateway that dies leaves it there, so the next one can
     * tell what the run had spent.
     */
    void runAgent(String jobId, long runNo, String agentRunId);

    /** Records a fire time no run stood for, with why. */
    void recordMissed(String jobId, Instant scheduledFor, String reason);

    void endRun(String jobId, long runNo, Instant endedAt, String status, String reason, long tokens, long costNanos,
                String result, String agentRunId);

    /** The job's runs, newest first. */
    List<JobRun> history(String jobId, int limit);
}
