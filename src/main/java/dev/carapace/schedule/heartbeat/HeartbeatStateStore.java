package dev.carapace.schedule.heartbeat;

/**
 * Where heartbeat states are kept between beats and across restarts, one per agent. The composition root implements
 * it over the store (e.g. {@link ProbeState#toJson} in a row keyed by agent id); tests keep a map.
 */
public interface HeartbeatStateStore {

    /** The agent's last saved state, or {@link ProbeState#EMPTY} if none was saved (or it could not be read). */
    ProbeState load(String agentId);

    /** Replaces the agent's state. */
    void save(String agentId, ProbeState state);
}
