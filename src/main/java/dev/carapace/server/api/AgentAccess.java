package dev.carapace.server.api;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.RunInfo;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;

import java.util.List;

import static dev.carapace.text.Excerpt.clip;

/**
 * Who may use which agent, and through it which sessions and runs: admins everything; a member the agents owned by
 * themselves or by their team, with those agents' sessions and runs. A session belongs to its agent (the store does
 * not record who sent each message), so the members who may use an agent share its sessions. The rule itself lives
 * with the agent ({@link AgentSpec#usableBy}), so the runtime applies the same one to sub-agents.
 */
final class AgentAccess {

    /** A session named by its key {@code agent:ID:NAME}, with the agent it belongs to. */
    record SessionRef(String key, AgentSpec agent, String name) {}

    private final AgentRuntime runtime;

    AgentAccess(AgentRuntime runtime) {
        this.runtime = runtime;
    }

    List<AgentSpec> visible(Principal p) {
        return runtime.agents().list().stream().filter(a -> a.usableBy(p)).toList();
    }

    /** The agent, if {@code p} may use it: 404 names only the agents {@code p} may see, 403 says whose it is. */
    AgentSpec agent(Principal p, String id) {
        AgentSpec a = runtime.agents().find(id).orElse(null);
        if (a == null) {
            List<String> ids = visible(p).stream().map(AgentSpec::id).toList();
            throw new ApiException(ApiException.Kind.NOT_FOUND, "No agent '" + clip(id, 60) + "' ("
                    + (ids.isEmpty() ? "no agents are available to this key" : "agents: " + String.join(", ", ids)) + ").",
                    "agent", "agent_not_found", null, false);
        }
        if (!a.usableBy(p)) throw forbidden(p, "agent '" + a.id() + "'", a);
        return a;
    }

    /** The run, if {@code p} may use its agent. */
    RunInfo run(Principal p, String runId) {
        RunInfo r = runtime.run(runId);   // 404 when unknown
        AgentSpec a = runtime.agents().find(r.agent()).orElse(null);
        if (!p.isAdmin() && (a == null || !a.usableBy(p))) throw forbidden(p, "run '" + r.id() + "'", a);
        String[] key = r.sessionKey() == null ? new String[0] : r.sessionKey().split(":", 3);
        if (!p.isAdmin() && key.length == 3 && AgentRuntime.channelSession(key[2])) {
            throw channelConversation(p, "run '" + r.id() + "'");
        }
        return r;
    }

    /**
     * The session {@code key}, if {@code p} may use its agent. The session need not exist yet: a live view or a
     * WebSocket may open before its first message.
     */
    SessionRef session(Principal p, String key) {
        String[] parts = key == null ? new String[0] : key.split(":", 3);
        if (parts.length != 3 || !parts[0].equals("agent") || parts[1].isEmpty() || parts[2].isEmpty()) {
            throw new ApiException(ApiException.Kind.NOT_FOUND, "No session '" + clip(key, 60) + "': session keys look like "
                    + "agent:AGENT:NAME, e.g. agent:assistant:main.", "session", "session_not_found", null, false);
        }
        AgentSpec a = runtime.agents().find(parts[1]).orElse(null);
        if (a == null) {
            throw new ApiException(ApiException.Kind.NOT_FOUND, "No session '" + clip(key, 60) + "': there is no agent '"
                    + clip(parts[1], 60) + "'.", "session", "session_not_found", null, false);
        }
        if (!a.usableBy(p)) throw forbidden(p, "session '" + clip(key, 60) + "'", a);
        if (AgentRuntime.channelSession(parts[2]) && !p.isAdmin()) {
            throw channelConversation(p, "session '" + clip(key, 60) + "'");
        }
        return new SessionRef(key, a, parts[2]);
    }

    /**
     * A channel's conversation is between its person and the agent, on that channel: not for their teammates, who
     * may use the same agent (only an admin reads it here).
     */
    private static ApiException channelConversation(Principal p, String what) {
        return new ApiException(ApiException.Kind.PERMISSION, "Key " + p.keyPrefix() + " (user " + p.user() + ", team "
                + p.team() + ") may not read " + what + ": it is a channel's conversation, read through that channel "
                + "(or by an admin).", null, "agent_forbidden", null, false);
    }

    /** {@code what} is the agent itself, or one of its sessions or runs. */
    private static ApiException forbidden(Principal p, String what, AgentSpec a) {
        String whose = a == null ? " (its agent is no longer configured; only admins see it)"
                : (what.startsWith("agent ") ? "" : " of agent '" + a.id() + "'") + " (owned by " + a.owner() + ")";
        return new ApiException(ApiException.Kind.PERMISSION, "Key " + p.keyPrefix() + " (user " + p.user() + ", team "
                + p.team() + ") may not use " + what + whose + ": members use the agents owned by themselves or their team.",
                null, "agent_forbidden", null, false);
    }

}
