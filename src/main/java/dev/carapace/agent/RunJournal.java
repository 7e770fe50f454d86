package dev.carapace.agent;

import dev.carapace.model.Usage;

import java.time.Clock;

/**
 * Writes a run's transcript: the user messages it starts with, each assistant turn, each tool result and each
 * summary, as {@link SessionStore.Entry entries} stamped with the runtime's clock. One writer per session at a
 * time, so seq numbers never collide.
 */
final class RunJournal {

    private final SessionStore store;
    private final Clock clock;

    RunJournal(SessionStore store, Clock clock) {
        this.store = store;
        this.clock = clock;
    }

    /** An entry not yet written, for entries that are written with their run's start. */
    SessionStore.Entry entry(String sessionKey, String runId, String role, String content, String model, Usage usage) {
        return new SessionStore.Entry(sessionKey, 0, runId, role, content, model, usage, clock.instant());
    }

    /** Appends to the run's session transcript. */
    void append(Execution ex, String role, String content, String model, Usage usage) {
        SessionStore.Entry e = entry(ex.sessionKey, ex.runId, role, content, model, usage);
        synchronized (ex) {
            store.append(e);
        }
    }
}
