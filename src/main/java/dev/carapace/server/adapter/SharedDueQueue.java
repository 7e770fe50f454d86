package dev.carapace.server.adapter;

import dev.carapace.schedule.DueQueue;
import dev.carapace.store.DueRuns;

import java.time.Instant;

/** The schedule's {@link DueQueue} over the store's cluster-safe scheduler, shared by every gateway on the database. */
public final class SharedDueQueue implements DueQueue {

    private final DueRuns due;

    public SharedDueQueue(DueRuns due) { this.due = due; }

    @Override
    public boolean schedule(String jobId, Instant at) { return due.schedule(jobId, at); }

    @Override
    public boolean cancel(String jobId) { return due.cancel(jobId); }
}
