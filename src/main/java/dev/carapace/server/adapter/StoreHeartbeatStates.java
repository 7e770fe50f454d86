package dev.carapace.server.adapter;

import dev.carapace.schedule.heartbeat.HeartbeatStateStore;
import dev.carapace.schedule.heartbeat.ProbeState;
import dev.carapace.store.HeartbeatStates;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;

/**
 * The heartbeats' states in the store, as JSON, one row per agent: shared by every gateway on the database and kept
 * across restarts, so a change is reported once. A row that does not read (written by a broken build) counts as no
 * state: the next beat takes new baselines rather than failing every beat.
 */
public final class StoreHeartbeatStates implements HeartbeatStateStore {

    private static final Logger log = LoggerFactory.getLogger(StoreHeartbeatStates.class);

    private final HeartbeatStates states;
    private final Clock clock;

    public StoreHeartbeatStates(HeartbeatStates states, Clock clock) {
        this.states = states;
        this.clock = clock;
    }

    @Override
    public ProbeState load(String agentId) {
        String json = states.get(agentId).orElse(null);
        if (json == null) return ProbeState.EMPTY;
        try {
            return ProbeState.fromJson(json);
        } catch (IllegalArgumentException e) {
            log.warn("heartbeat of agent {}: its saved state does not read ({}); starting afresh", agentId, e.getMessage());
            return ProbeState.EMPTY;
        }
    }

    @Override
    public void save(String agentId, ProbeState state) {
        states.put(agentId, state.toJson(), clock.instant());
    }
}
