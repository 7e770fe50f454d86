package dev.carapace.store;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What each agent's heartbeat remembers between beats, one row per agent: the state is text (JSON) the store keeps
 * and never reads. Shared by every gateway on the database, so a beat on one gateway and the next on another agree
 * on what was already reported, and a restart reports nothing twice.
 */
public final class HeartbeatStates {

    private final Store store;

    HeartbeatStates(Store store) { this.store = store; }

    /** The agent's last saved state; empty before its first beat. */
    public Optional<String> get(String agent) {
        return store.read("read heartbeat state", h -> h.createQuery("SELECT state FROM heartbeat_state WHERE agent = :agent")
                .bind("agent", agent).mapTo(String.class).findOne());
    }

    /** Replaces the agent's state (or saves its first). */
    public void put(String agent, String state, Instant at) {
        Objects.requireNonNull(state, "state");
        store.write("save heartbeat state", h -> h.createUpdate("INSERT INTO heartbeat_state (agent, state, updated_at) "
                        + "VALUES (:agent, :state, :at) ON CONFLICT (agent) DO UPDATE SET state = excluded.state, "
                        + "updated_at = excluded.updated_at")
                .bind("agent", agent).bind("state", state).bind("at", at.toEpochMilli()).execute());
    }
}
