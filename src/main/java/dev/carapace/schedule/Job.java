package dev.carapace.schedule;

import java.time.Instant;

/**
 * A job as stored: its definition and where it stands.
 *
 * @param source              where it was defined: {@code config}, {@code api} or {@code agent}
 * @param consecutiveFailures failed runs since its last success
 * @param pausedReason        why it is paused (by whom, or after how many failures), else null
 */
public record Job(JobSpec spec, JobState state, String source, String createdBy, Instant createdAt,
                  int consecutiveFailures, String pausedReason, Instant nextDueAt, Instant lastRunAt) {

    public String id() { return spec.id(); }
}
