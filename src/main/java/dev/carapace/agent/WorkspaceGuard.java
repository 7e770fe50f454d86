package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;

import static dev.carapace.text.Excerpt.clip;

/**
 * The guard until the policy engine arrives: an agent may call exactly the tools its config lists. Where file
 * tools may reach is not decided here: {@link dev.carapace.agent.tools.Workspace} confines them to the workspace
 * whatever the guard says.
 */
public final class WorkspaceGuard implements Guard {

    static final String RULE = "agent.tools";

    private final Agents agents;

    public WorkspaceGuard(Agents agents) {
        this.agents = agents;
    }

    @Override
    public Decision decide(String agentId, String sessionKey, String tool, JsonNode arguments) {
        AgentSpec agent = agents.find(agentId).orElse(null);
        if (agent == null) return Decision.deny("unknown agent '" + clip(agentId, 60) + "'", RULE);
        if (agent.enabledTools().contains(tool)) return Decision.allow(RULE);
        String enabled = agent.tools().isEmpty() ? "none" : String.join(", ", agent.enabledTools());
        return Decision.deny("tool '" + clip(tool, 60) + "' is not enabled for agent '" + agentId
                + "' (enabled tools: " + enabled + ")", RULE);
    }
}
