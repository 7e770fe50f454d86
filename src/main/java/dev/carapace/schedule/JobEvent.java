package dev.carapace.schedule;

import java.time.Instant;

/** What happens to jobs, live: on {@code /api/jobs/events} and in the metrics. */
public sealed interface JobEvent {

    String jobId();

    record Started(String jobId, long runNo, Instant scheduledFor, long latenessMillis, String agentRunId) implements JobEvent {}

    record Finished(String jobId, long runNo, String status, String reason, long tokens, long costNanos) implements JobEvent {}

    record Missed(String jobId, Instant scheduledFor, String reason) implements JobEvent {}

    /** @param automatic paused by Carapace (failures in a row), not by a person: its owner is alerted */
    record Paused(String jobId, String reason, boolean automatic) implements JobEvent {
        /** Paused by its owner or an admin. */
        public Paused(String jobId, String reason) { this(jobId, reason, false); }
    }

    /** The name the event has on the wire: {@code job_started}, {@code job_finished}, ... */
    default String type() {
        return switch (this) {
            case Started s -> "job_started";
            case Finished f -> "job_finished";
            case Missed m -> "job_missed";
            case Paused p -> "job_paused";
        };
    }
}
