package dev.carapace.agent;

import dev.carapace.model.Tool;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tools this runtime offers, by name: those it was given plus its own sub-agent tools. It checks at start-up
 * that every agent's config names only tools that exist, and gives each run the schemas its model sees.
 */
final class Toolbox {

    private final Map<String, AgentTool> byName;

    /**
     * @throws IllegalArgumentException two tools share a name, a tool takes a sub-agent tool's name, or an agent
     *                                  lists a tool that is not among them
     */
    Toolbox(List<AgentTool> tools, Agents agents) {
        Map<String, AgentTool> byName = new LinkedHashMap<>();
        for (AgentTool t : tools) {
            if (byName.putIfAbsent(t.name(), t) != null) throw new IllegalArgumentException("two tools are named '" + t.name() + "'");
        }
        // Sub-agents are the runtime's own tools: they start runs here.
        for (AgentTool t : List.of(SubAgents.SPAWN, SubAgents.WAIT)) {
            if (byName.putIfAbsent(t.name(), t) != null) throw new IllegalArgumentException("tool '" + t.name() + "' is the runtime's own");
        }
        for (AgentSpec a : agents.list()) {
            for (String t : a.tools()) {
                if (!byName.containsKey(t)) {
                    throw new IllegalArgumentException("agent '" + a.id() + "' lists tool '" + t + "', which this gateway "
                            + "does not provide (tools: " + String.join(", ", byName.keySet()) + ")");
                }
            }
        }
        this.byName = Map.copyOf(byName);
    }

    /** The tool called {@code name}, or null. */
    AgentTool get(String name) {
        return byName.get(name);
    }

    /**
     * The schemas of the run's tools, in its agent's config order. A run as deep as its tree may go does not get
     * the sub-agent tools: it could not use them.
     */
    List<Tool> schemas(List<String> enabled, SubAgents.Family family) {
        boolean canSpawn = family.depth < family.tree.limits.maxDepth();
        return enabled.stream()
                .filter(n -> canSpawn || !(n.equals(AgentSpec.SPAWN_AGENT) || n.equals(AgentSpec.WAIT_AGENTS)))
                .map(byName::get).map(t -> new Tool(t.name(), t.description(), t.parameters())).toList();
    }
}
