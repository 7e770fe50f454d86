package dev.carapace.schedule;

import java.time.Instant;

/**
 * When each job is next due, shared by every gateway on the database: the store's cluster-safe scheduler hands each
 * due time to exactly one gateway's {@link JobRunner}. An adapter in the server fits the store's to this.
 */
public interface DueQueue {

    /**
     * Makes the job due at {@code at}, replacing the time it had. False, changing nothing, while a run of it is under
     * way (on any gateway): the runner then sets the next time itself, from the job as stored when the run ends.
     */
    boolean schedule(String jobId, Instant at);

    /** The job is due no more. False while a run of it is under way (as above). */
    boolean cancel(String jobId);
}
