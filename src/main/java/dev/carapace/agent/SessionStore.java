package dev.carapace.agent;

import dev.carapace.model.Usage;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Where the runtime keeps sessions, their runs and their transcripts, in its own terms. The store implements it
 * through an adapter in the composition root, so this package knows no table and no row type.
 *
 * <p>What the runtime relies on: a run is recorded ({@link #acceptRun}) before its id is handed out; its first
 * entries are written in the same step that marks it running ({@link #beginRun}); the first final status written
 * wins ({@link #finishRun}); {@link #append} numbers entries in order within a session.
 */
public interface SessionStore {

    /** A conversation with one agent. */
    record Session(String key, String agent, Instant createdAt) {}

    /**
     * One run of the loop on a session.
     *
     * @param input  the user message that started the run; null for a resume
     * @param sender who sent it, as the transcript records it (JSON: {@code {team, user, via}}); null when not known
     */
    record Run(String id, String sessionKey, String agent, String parentRunId, RunStatus status, String reason,
               String input, String sender, int steps, long tokens, Instant createdAt, Instant startedAt,
               Instant endedAt) {
        public Run {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(sessionKey, "sessionKey");
            Objects.requireNonNull(status, "status");
            Objects.requireNonNull(createdAt, "createdAt");
        }
    }

    /**
     * One transcript entry. {@code seq} is assigned by {@link #append} (pass 0).
     *
     * @param role    user, assistant, tool or summary
     * @param content JSON text (see {@link TranscriptEntry} for the shapes)
     * @param usage   the input, output and cached tokens of the model call that produced it; null when none did
     */
    record Entry(String sessionKey, long seq, String runId, String role, String content, String model, Usage usage,
                 Instant createdAt) {
        public Entry {
            Objects.requireNonNull(sessionKey, "sessionKey");
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
            Objects.requireNonNull(createdAt, "createdAt");
        }
    }

    /**
     * Records a run (queued, with its input), creating its session first if it is new.
     *
     * @param owner the runtime that will execute it, which heart-beats for it ({@link #heartbeat})
     */
    void acceptRun(Session session, Run run, String owner);

    /**
     * Marks a queued run running and appends the entries it starts with, in one step. False, changing nothing, when
     * the run is no longer queued (it was cancelled meanwhile).
     */
    boolean beginRun(String runId, Instant at, List<Entry> firstEntries);

    /** Appends an entry at the end of its session's transcript. */
    void append(Entry entry);

    /** Records a running run's progress so far. */
    void progress(String runId, int steps, long tokens);

    /** Ends a run still queued or running; false, changing nothing, when it had ended already. */
    boolean finishRun(String runId, RunStatus status, String reason, int steps, long tokens, Instant at);

    /** Tells other gateways sharing the store that {@code owner} is alive and still executing its runs. */
    void heartbeat(String owner, Instant now);

    /**
     * Marks interrupted, with {@code reason}, the queued or running runs no live gateway executes (never those of
     * {@code owner}, the caller), and returns how many it marked.
     */
    int interruptOrphans(String owner, String reason, Instant at);

    Optional<Session> session(String key);

    Optional<Run> run(String id);

    /** A session's runs, oldest first. */
    List<Run> runs(String sessionKey);

    /** The run that started the session's first run (a sub-agent's session), or empty for a session no run started. */
    Optional<String> startedBy(String sessionKey);

    /** A session's transcript, in order. */
    List<Entry> entries(String sessionKey);
}
