package dev.carapace.agent;

import dev.carapace.model.Usage;

/**
 * Something that happened in a run, as it happens, for live views (SSE, WebSocket, the CLI). Events of one run
 * reach a subscriber in the order they happened. They are a view, not the record: the transcript and the run's
 * row in the store are.
 */
public sealed interface RunEvent {

    /** Null only for {@link Dropped} on a session subscription. */
    String runId();

    String sessionKey();

    /** The run was queued, started, or ended; {@code reason} says why it ended when it did not complete. */
    record StatusChanged(String runId, String sessionKey, RunStatus status, String reason) implements RunEvent {}

    /** Assistant text as it streams in. */
    record TextDelta(String runId, String sessionKey, String text) implements RunEvent {}

    /** The model asked for a tool call; {@code arguments} is the JSON text it wrote. */
    record ToolStarted(String runId, String sessionKey, String callId, String tool, String arguments) implements RunEvent {}

    /**
     * A tool call's result went back to the model; {@code summary} is its start ({@link ResultExcerpt}: at most 20
     * lines and 2,000 characters), {@code moreLines} and {@code moreChars} what it left out.
     */
    record ToolFinished(String runId, String sessionKey, String callId, String tool, boolean ok, String summary,
                        int moreLines, int moreChars) implements RunEvent {}

    /** Tokens of one model call (step {@code step}, 1-based). */
    record UsageReported(String runId, String sessionKey, int step, String model, Usage usage) implements RunEvent {}

    /**
     * Older turns were summarized before a model call: entries up to {@code through} (seq) are replaced by a summary
     * entry; {@code promptTokens} is the prompt size that triggered it.
     */
    record Compacted(String runId, String sessionKey, long through, int replacedEntries, long promptTokens, String model,
                     Usage usage) implements RunEvent {}

    /**
     * Before a compaction, the agent had its turn to save durable notes (see {@link MemoryFlush}): {@code status} is
     * written, nothing (it saved nothing) or failed ({@code reason} says why; the compaction went ahead);
     * {@code written} counts the {@code memory_write} calls that succeeded.
     */
    record MemoryFlushed(String runId, String sessionKey, String status, int written, String reason, String model,
                         Usage usage) implements RunEvent {}

    /**
     * A tool call waits for an operator: approval {@code approvalId} is pending until {@code expiresAt}. Everything
     * here is what the guard told (no argument values beyond the target).
     */
    record ApprovalRequested(String runId, String sessionKey, String approvalId, String callId, String tool, String layer,
                             String target, String rule, String reason, java.time.Instant expiresAt) implements RunEvent {}

    /** The approval was decided: {@code outcome} is approved, rejected or expired. */
    record ApprovalResolved(String runId, String sessionKey, String approvalId, String callId, String tool, String outcome,
                            String decidedBy, String reason) implements RunEvent {}

    /** The run failed; {@code message} is safe to show (no secrets, no stack traces). */
    record Error(String runId, String sessionKey, String message) implements RunEvent {}

    /** This subscriber was too slow: {@code count} events were dropped here. */
    record Dropped(String runId, String sessionKey, long count) implements RunEvent {}

    /** Whether this event ends its run. */
    default boolean isTerminal() { return this instanceof StatusChanged s && s.status().isFinal(); }
}
