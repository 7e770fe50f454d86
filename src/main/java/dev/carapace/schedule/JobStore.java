package dev.carapace.schedule;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/** Where jobs and their runs are kept: the store, through an adapter in the server (this package knows no SQL). */
public interface JobStore {

    /** @throws dev.carapace.model.ApiException a job with this id exists (400, nothing changed) */
    void insert(Job job);

    Optional<Job> get(String id);

    /** Every job, by id. */
    List<Job> list();

    /** The jobs of one source ({@code config}, {@code api} or {@code agent}), by id. */
    List<Job> listBySource(String source);

    /**
     * Writes {@code job} (its definition and state) over the stored one, if that still stands as {@code expected}
     * says (its state, paused reason, failures, next due and last run times); false, changing nothing, if not or if
     * the job is gone.
     */
    boolean replace(Job expected, Job job);

    /**
     * Applies {@code change} to the job as stored, and writes the result unless another write came first; then
     * applies it again to what that write left, until one write stands. A pause, a resume and a run's end can
     * meet on one job: each changes what it reads, and none undoes another.
     *
     * @param change the job as it should be, given it as stored; the same job (or an equal one) to change nothing
     * @return the job as this left it; empty if there is none
     */
    default Optional<Job> change(String id, UnaryOperator<Job> change) {
        for (int tries = 0; tries < 1000; tries++) {
            Optional<Job> stored = get(id);
            if (stored.isEmpty()) return stored;
            Job changed = change.apply(stored.get());
            if (changed.equals(stored.get()) || replace(stored.get(), changed)) return Optional.of(changed);
        }
        throw new IllegalStateException("job '" + id + "' kept changing under 1,000 attempts to write it");
    }

    /**
     * Pauses the job, with {@code reason}, if it is active when written ({@link #change}): a pause, an end or a removal
     * that came first stands.
     *
     * @return the job as this paused it; empty if it did not (not active, or gone)
     */
    default Optional<Job> pauseIfActive(String id, String reason) {
        boolean[] pausing = new boolean[1];   // as the write that stood decided (change may apply this more than once)
        Optional<Job> after = change(id, current -> {
            pausing[0] = current.state() == JobState.ACTIVE;
            return !pausing[0] ? current : new Job(current.spec(), JobState.PAUSED, current.source(), current.createdBy(),
                    current.createdAt(), current.consecutiveFailures(), reason, null, current.lastRunAt());
        });
        return pausing[0] ? after : Optional.empty();
    }

    /** Removes the job and its history; false if there was none. */
    boolean delete(String id);

    /** In a session key given to {@link #startRun}, stands for the run's number (known only once it is taken). */
    String RUN = "{run}";

    /**
     * Records a run as started and returns its number: the next of the job's, never given twice.
     *
     * @param sessionKey the agent session the run uses, {@link #RUN} standing for its number; null for a webhook
     * @return 0 if the job is gone (removed since it was read): nothing is recorded
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
