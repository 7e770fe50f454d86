package dev.carapace.agent;

import dev.carapace.model.ApiException;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.carapace.text.Excerpt.clip;

/** The configured agents, in config order. */
public final class Agents {

    private final Map<String, AgentSpec> byId;

    public Agents(Collection<AgentSpec> agents) {
        Map<String, AgentSpec> m = new LinkedHashMap<>();
        for (AgentSpec a : agents) {
            if (m.putIfAbsent(a.id(), a) != null) throw new IllegalArgumentException("agent '" + a.id() + "' is defined twice");
        }
        this.byId = java.util.Collections.unmodifiableMap(m);
    }

    public List<AgentSpec> list() { return List.copyOf(byId.values()); }

    public Optional<AgentSpec> find(String id) { return Optional.ofNullable(id == null ? null : byId.get(id)); }

    /** The agent, or a 404-kind {@link ApiException} naming the known ones. */
    public AgentSpec get(String id) {
        AgentSpec a = id == null ? null : byId.get(id);
        if (a == null) {
            String known = byId.isEmpty() ? "no agents are configured" : "agents: " + String.join(", ", byId.keySet());
            throw new ApiException(ApiException.Kind.NOT_FOUND, "No agent '" + clip(id, 60) + "' (" + known + ").", "agent",
                    "agent_not_found", null, false);
        }
        return a;
    }

}
