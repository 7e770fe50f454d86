package dev.carapace.store;

import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Agent sessions, their runs and their transcripts. Every method that changes something commits before it returns,
 * so whatever the runtime has acknowledged (an accepted message, a finished turn, a tool result) survives a crash.
 */
public final class Sessions {

    /** Run statuses that are not final: what a restart finds cut off. */
    public static final List<String> UNFINISHED = List.of("queued", "running");

    /** A conversation with one agent. */
    public record SessionRow(String key, String agent, Instant createdAt) {}

    /**
     * One run of the agent loop on a session.
     *
     * @param input  the user message that started the run; null for a resume
     * @param sender who sent it (JSON text the store keeps and never reads); null when not known
     */
    public record RunRow(String id, String sessionKey, String agent, String parentRunId, String status, String reason,
                         String input, String sender, int steps, long tokens, Instant createdAt, Instant startedAt, Instant endedAt) {
        public RunRow {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(sessionKey, "sessionKey");
            Objects.requireNonNull(status, "status");
            Objects.requireNonNull(createdAt, "createdAt");
        }
    }

    /**
     * One transcript entry. {@code seq} is assigned by {@link #append} (pass 0). Usage columns are null where no
     * model call produced the entry.
     *
     * @param role    user, assistant, tool or summary
     * @param content JSON text
     */
    public record EntryRow(String sessionKey, long seq, String runId, String role, String content, String model,
                           Long inputTokens, Long outputTokens, Long cachedInputTokens, Instant createdAt) {
        public EntryRow {
            Objects.requireNonNull(sessionKey, "sessionKey");
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
            Objects.requireNonNull(createdAt, "createdAt");
        }
    }

    private static final String RUN_COLUMNS = "id, session_key, agent, parent_run_id, status, reason, input, sender, steps, tokens, "
            + "created_at, started_at, ended_at";
    private static final String ENTRY_COLUMNS = "session_key, seq, run_id, role, content, model, input_tokens, "
            + "output_tokens, cached_input_tokens, created_at";

    private static final RowMapper<RunRow> RUN = (rs, ctx) -> new RunRow(rs.getString("id"), rs.getString("session_key"),
            rs.getString("agent"), rs.getString("parent_run_id"), rs.getString("status"), rs.getString("reason"),
            rs.getString("input"), rs.getString("sender"), rs.getInt("steps"), rs.getLong("tokens"), Instant.ofEpochMilli(rs.getLong("created_at")),
            Times.nullableInstant(rs, "started_at"), Times.nullableInstant(rs, "ended_at"));

    private static final RowMapper<EntryRow> ENTRY = (rs, ctx) -> new EntryRow(rs.getString("session_key"),
            rs.getLong("seq"), rs.getString("run_id"), rs.getString("role"), rs.getString("content"),
            rs.getString("model"), Times.nullableLong(rs, "input_tokens"), Times.nullableLong(rs, "output_tokens"),
            Times.nullableLong(rs, "cached_input_tokens"), Instant.ofEpochMilli(rs.getLong("created_at")));

    /**
     * How long a run's owner may stay silent before another gateway takes the run for cut off. Owners heart-beat
     * every few seconds ({@link #heartbeat}); a minute allows for long pauses without racing a live peer.
     */
    static final Duration ORPHAN_AFTER = Duration.ofMinutes(1);

    private final Store store;

    Sessions(Store store) { this.store = store; }

    /**
     * Records a run (normally {@code queued}, with its input), creating its session first if it is new.
     *
     * @param owner the runtime that will execute it (one per gateway process), which heart-beats for it
     */
    public void acceptRun(SessionRow session, RunRow run, String owner) {
        store.write("accept agent run", h -> {
            h.createUpdate("INSERT INTO agent_sessions (session_key, agent, created_at) VALUES (:key, :agent, :at) "
                            + "ON CONFLICT (session_key) DO NOTHING")
                    .bind("key", session.key()).bind("agent", session.agent()).bind("at", session.createdAt().toEpochMilli())
                    .execute();
            return h.createUpdate("INSERT INTO agent_runs (" + RUN_COLUMNS + ", owner, heartbeat_at) VALUES (:id, :session, "
                            + ":agent, :parent, :status, :reason, :input, :sender, :steps, :tokens, :created, :started, :ended, "
                            + ":owner, :created)")
                    .bind("owner", owner)
                    .bind("id", run.id()).bind("session", run.sessionKey()).bind("agent", run.agent())
                    .bind("parent", run.parentRunId()).bind("status", run.status()).bind("reason", run.reason())
                    .bind("input", run.input()).bind("sender", run.sender()).bind("steps", run.steps()).bind("tokens", run.tokens())
                    .bind("created", run.createdAt().toEpochMilli())
                    .bind("started", Times.nullableMillis(run.startedAt()))
                    .bind("ended", Times.nullableMillis(run.endedAt()))
                    .execute();
        });
    }

    /**
     * Marks a queued run running and appends the entries it starts with (its user message, say) in the same
     * transaction. Returns false, changing nothing, when the run is no longer queued (cancelled meanwhile).
     */
    public boolean beginRun(String runId, Instant at, List<EntryRow> firstEntries) {
        return store.write("begin agent run", h -> {
            int rows = h.createUpdate("UPDATE agent_runs SET status = 'running', started_at = :at "
                            + "WHERE id = :id AND status = 'queued'")
                    .bind("at", at.toEpochMilli()).bind("id", runId).execute();
            if (rows == 0) return false;
            for (EntryRow e : firstEntries) insertEntry(h, e);
            return true;
        });
    }

    /** Appends an entry at the end of its session's transcript; returns its seq. */
    public long append(EntryRow e) {
        return store.write("append transcript entry", h -> insertEntry(h, e));
    }

    private static long insertEntry(Handle h, EntryRow e) {
        long seq = h.createQuery("SELECT COALESCE(MAX(seq), 0) + 1 FROM agent_transcript WHERE session_key = :key")
                .bind("key", e.sessionKey()).mapTo(Long.class).one();
        h.createUpdate("INSERT INTO agent_transcript (" + ENTRY_COLUMNS + ") VALUES (:key, :seq, :run, :role, :content, "
                        + ":model, :in, :out, :cached, :at)")
                .bind("key", e.sessionKey()).bind("seq", seq).bind("run", e.runId()).bind("role", e.role())
                .bind("content", e.content()).bind("model", e.model()).bind("in", e.inputTokens())
                .bind("out", e.outputTokens()).bind("cached", e.cachedInputTokens())
                .bind("at", e.createdAt().toEpochMilli())
                .execute();
        return seq;
    }

    /** Records a running run's progress so far. */
    public void progress(String runId, int steps, long tokens) {
        store.write("record agent run progress", h -> h.createUpdate(
                        "UPDATE agent_runs SET steps = :steps, tokens = :tokens WHERE id = :id")
                .bind("steps", steps).bind("tokens", tokens).bind("id", runId).execute());
    }

    /**
     * Ends a run that is still queued or running. Returns false, changing nothing, when it had already ended:
     * the first final status wins.
     */
    public boolean finishRun(String runId, String status, String reason, int steps, long tokens, Instant at) {
        return store.write("finish agent run", h -> h.createUpdate(
                        "UPDATE agent_runs SET status = :status, reason = :reason, steps = :steps, tokens = :tokens, "
                                + "ended_at = :at WHERE id = :id AND status IN ('queued', 'running')")
                .bind("status", status).bind("reason", reason).bind("steps", steps).bind("tokens", tokens)
                .bind("at", at.toEpochMilli()).bind("id", runId).execute()) > 0;
    }

    /** Tells other gateways that {@code owner} is alive and still executing the runs it owns. */
    public void heartbeat(String owner, Instant now) {
        store.write("agent run heartbeat", h -> h.createUpdate("UPDATE agent_runs SET heartbeat_at = :now "
                        + "WHERE owner = :owner AND status IN ('queued', 'running')")
                .bind("now", now.toEpochMilli()).bind("owner", owner).execute());
    }

    /**
     * Marks interrupted the queued or running runs that no live gateway executes: on SQLite (one writer process)
     * every run another process left unfinished; on a shared PostgreSQL only the runs whose owner has not
     * heart-beaten for {@link #ORPHAN_AFTER}, so a restarting gateway never cuts off its peers' live runs. Returns
     * the runs as they were before. The runs of {@code owner}, the caller, are never orphans.
     */
    public List<RunRow> interruptOrphans(String owner, String reason, Instant at) {
        long cutoff = at.minus(store.postgres() ? ORPHAN_AFTER : Duration.ZERO).toEpochMilli();
        String orphan = " status IN ('queued', 'running') AND (owner IS NULL OR owner <> :owner) "
                + "AND (heartbeat_at IS NULL OR heartbeat_at <= :cutoff)";
        return store.write("interrupt orphaned agent runs", h -> {
            List<RunRow> cut = h.createQuery("SELECT " + RUN_COLUMNS + " FROM agent_runs WHERE" + orphan
                            + " ORDER BY created_at, id")
                    .bind("owner", owner).bind("cutoff", cutoff).map(RUN).list();
            if (cut.isEmpty()) return cut;
            h.createUpdate("UPDATE agent_runs SET status = 'interrupted', reason = :reason, ended_at = :at WHERE" + orphan)
                    .bind("reason", reason).bind("at", at.toEpochMilli())
                    .bind("owner", owner).bind("cutoff", cutoff).execute();
            return cut;
        });
    }

    public Optional<SessionRow> session(String key) {
        return store.read("find agent session", h -> h.createQuery(
                        "SELECT session_key, agent, created_at FROM agent_sessions WHERE session_key = :key")
                .bind("key", key)
                .map((rs, ctx) -> new SessionRow(rs.getString("session_key"), rs.getString("agent"),
                        Instant.ofEpochMilli(rs.getLong("created_at"))))
                .findOne());
    }

    public Optional<RunRow> run(String id) {
        return store.read("find agent run", h -> h.createQuery("SELECT " + RUN_COLUMNS + " FROM agent_runs WHERE id = :id")
                .bind("id", id).map(RUN).findOne());
    }

    /** A session's runs, oldest first. */
    public List<RunRow> runs(String sessionKey) {
        return store.read("list agent runs", h -> h.createQuery("SELECT " + RUN_COLUMNS + " FROM agent_runs "
                        + "WHERE session_key = :key ORDER BY created_at, id")
                .bind("key", sessionKey).map(RUN).list());
    }

    /** The run that started the session's first run (a sub-agent's session), or empty for a session no run started. */
    public Optional<String> startedBy(String sessionKey) {
        return store.read("find who started a session", h -> h.createQuery("SELECT parent_run_id FROM agent_runs "
                        + "WHERE session_key = :key ORDER BY created_at, id LIMIT 1")
                .bind("key", sessionKey).mapTo(String.class).findOne());
    }

    /** A session's transcript, in order. */
    public List<EntryRow> entries(String sessionKey) {
        return store.read("read transcript", h -> h.createQuery("SELECT " + ENTRY_COLUMNS + " FROM agent_transcript "
                        + "WHERE session_key = :key ORDER BY seq")
                .bind("key", sessionKey).map(ENTRY).list());
    }
}
