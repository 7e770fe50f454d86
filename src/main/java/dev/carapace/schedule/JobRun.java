package dev.carapace.schedule;

import java.time.Instant;

/**
 * One run of a job, in its history.
 *
 * @param runNo        its number within the job, from 1
 * @param scheduledFor the fire time it stands for
 * @param startedAt    null for a missed run
 * @param status       {@code running}, {@code succeeded}, {@code failed}, {@code limit_exceeded},
 *                     {@code budget_exhausted}, {@code timed_out}, {@code interrupted} or {@code missed}
 * @param reason       why it ended as it did, or null when it succeeded
 * @param agentRunId   the agent run, for an agent job
 * @param result       the agent's last answer or the webhook's status line, clipped
 */
public record JobRun(String jobId, long runNo, Instant scheduledFor, Instant startedAt, Instant endedAt, String status,
                     String reason, String agentRunId, String sessionKey, String gateway, long tokens, long costNanos,
                     String result) {}
