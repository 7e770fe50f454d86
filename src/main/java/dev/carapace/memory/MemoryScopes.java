package dev.carapace.memory;

import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Which memory an agent reaches: its own, and its team's (the team of its owner). Decided from the agent a run
 * belongs to, which the runtime knows; a tool's arguments can only narrow it (a {@code scope} of {@code agent} or
 * {@code team}), never name another agent or team.
 */
public final class MemoryScopes {

    /** An agent's scopes: {@code team} is null for an agent whose owner has no team. */
    public record Reach(String agent, Scope own, Scope team) {
        /** The scopes a {@code scope} argument selects: {@code agent}, {@code team} or {@code both} (null: both). */
        public List<Scope> select(String narrowing) {
            String n = narrowing == null ? "both" : narrowing.strip().toLowerCase(Locale.ROOT);
            List<Scope> out = new ArrayList<>(2);
            switch (n) {
                case "agent" -> out.add(own);
                case "team" -> {
                    if (team == null) throw noTeam(agent);
                    out.add(team);
                }
                case "both" -> {
                    out.add(own);
                    if (team != null) out.add(team);
                }
                default -> throw new MemoryException(MemoryException.Reason.INVALID,
                        "scope: agent, team or both; got '" + dev.carapace.text.Excerpt.clip(narrowing, 20) + "'");
            }
            return out;
        }

        /** The one scope a write goes to: {@code agent} (the default) or {@code team}. */
        public Scope writeTo(String narrowing) {
            String n = narrowing == null ? "agent" : narrowing.strip().toLowerCase(Locale.ROOT);
            return switch (n) {
                case "agent" -> own;
                case "team" -> {
                    if (team == null) throw noTeam(agent);
                    yield team;
                }
                default -> throw new MemoryException(MemoryException.Reason.INVALID,
                        "scope: agent or team; got '" + dev.carapace.text.Excerpt.clip(narrowing, 20) + "'");
            };
        }

        private static MemoryException noTeam(String agent) {
            return new MemoryException(MemoryException.Reason.INVALID, "scope: agent '" + agent + "' has no team, so"
                    + " no team memory; use scope agent");
        }
    }

    private final Agents agents;
    private final Function<AgentSpec, String> teamOf;

    /** @param teamOf the team of an agent's owner (a user-owned agent's is looked up), or null for none */
    public MemoryScopes(Agents agents, Function<AgentSpec, String> teamOf) {
        this.agents = agents;
        this.teamOf = teamOf;
    }

    /** The reach of the agent with this id. */
    public Reach of(String agentId) {
        AgentSpec a = agents.find(agentId).orElseThrow(() -> new MemoryException(MemoryException.Reason.NOT_FOUND,
                "no agent '" + dev.carapace.text.Excerpt.clip(agentId, 60) + "'"));
        return of(a);
    }

    public Reach of(AgentSpec a) {
        String team = a.owner().team() != null ? a.owner().team() : teamOf.apply(a);
        return new Reach(a.id(), Scope.agent(a.id()), team == null ? null : Scope.team(team));
    }
}
