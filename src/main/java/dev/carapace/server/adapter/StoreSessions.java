package dev.carapace.server.adapter;

import dev.carapace.agent.RunStatus;
import dev.carapace.agent.SessionStore;
import dev.carapace.model.Usage;
import dev.carapace.store.Sessions;
import dev.carapace.store.Sessions.EntryRow;
import dev.carapace.store.Sessions.RunRow;
import dev.carapace.store.Sessions.SessionRow;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The store's {@link Sessions} as the agent runtime's {@link SessionStore}: its rows turned into the runtime's
 * records and back (a run's status by its label, an entry's usage by its three token columns), nothing else.
 */
public final class StoreSessions implements SessionStore {

    private final Sessions sessions;

    public StoreSessions(Sessions sessions) {
        this.sessions = sessions;
    }

    @Override
    public void acceptRun(Session session, Run run, String owner) {
        sessions.acceptRun(new SessionRow(session.key(), session.agent(), session.createdAt()), row(run), owner);
    }

    @Override
    public boolean beginRun(String runId, Instant at, List<Entry> firstEntries) {
        return sessions.beginRun(runId, at, firstEntries.stream().map(StoreSessions::row).toList());
    }

    @Override
    public void append(Entry entry) {
        sessions.append(row(entry));
    }

    @Override
    public void progress(String runId, int steps, long tokens) {
        sessions.progress(runId, steps, tokens);
    }

    @Override
    public boolean finishRun(String runId, RunStatus status, String reason, int steps, long tokens, Instant at) {
        return sessions.finishRun(runId, status.label(), reason, steps, tokens, at);
    }

    @Override
    public void heartbeat(String owner, Instant now) {
        sessions.heartbeat(owner, now);
    }

    @Override
    public int interruptOrphans(String owner, String reason, Instant at) {
        return sessions.interruptOrphans(owner, reason, at).size();
    }

    @Override
    public Optional<Session> session(String key) {
        return sessions.session(key).map(s -> new Session(s.key(), s.agent(), s.createdAt()));
    }

    @Override
    public Optional<Run> run(String id) {
        return sessions.run(id).map(StoreSessions::run);
    }

    @Override
    public List<Run> runs(String sessionKey) {
        return sessions.runs(sessionKey).stream().map(StoreSessions::run).toList();
    }

    @Override
    public Optional<String> startedBy(String sessionKey) {
        return sessions.startedBy(sessionKey);
    }

    @Override
    public List<Entry> entries(String sessionKey) {
        return sessions.entries(sessionKey).stream().map(StoreSessions::entry).toList();
    }

    private static RunRow row(Run r) {
        return new RunRow(r.id(), r.sessionKey(), r.agent(), r.parentRunId(), r.status().label(), r.reason(), r.input(),
                r.sender(), r.steps(), r.tokens(), r.createdAt(), r.startedAt(), r.endedAt());
    }

    private static Run run(RunRow r) {
        return new Run(r.id(), r.sessionKey(), r.agent(), r.parentRunId(), RunStatus.of(r.status()), r.reason(), r.input(),
                r.sender(), r.steps(), r.tokens(), r.createdAt(), r.startedAt(), r.endedAt());
    }

    private static EntryRow row(Entry e) {
        Usage u = e.usage();
        return new EntryRow(e.sessionKey(), e.seq(), e.runId(), e.role(), e.content(), e.model(),
                u == null ? null : u.inputTokens(), u == null ? null : u.outputTokens(),
                u == null ? null : u.cachedInputTokens(), e.createdAt());
    }

    /** Tokens as stored: a row without input tokens came from no model call. */
    private static Entry entry(EntryRow r) {
        Usage usage = r.inputTokens() == null ? null : new Usage(r.inputTokens(),
                r.outputTokens() == null ? 0 : r.outputTokens(), r.cachedInputTokens() == null ? 0 : r.cachedInputTokens(),
                0, 0, false);
        return new Entry(r.sessionKey(), r.seq(), r.runId(), r.role(), r.content(), r.model(), usage, r.createdAt());
    }
}
