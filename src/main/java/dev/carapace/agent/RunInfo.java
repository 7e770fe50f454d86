package dev.carapace.agent;

import java.time.Instant;

/**
 * A run as the store knows it.
 *
 * @param reason why it ended when it did not complete (a limit, a failure, who cancelled), else null
 * @param steps  model calls made
 * @param tokens input + output tokens of those calls
 */
public record RunInfo(String id, String sessionKey, String agent, String parentRunId, RunStatus status, String reason,
                      int steps, long tokens, Instant createdAt, Instant startedAt, Instant endedAt) {}
