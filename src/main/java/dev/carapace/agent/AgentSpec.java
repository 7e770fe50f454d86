package dev.carapace.agent;

import dev.carapace.identity.Principal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One agent as configured: who it is, where it works, which models it calls (as whom), which tools it may use,
 * and how far one run may go.
 *
 * @param workspace absolute path of the folder the agent works in; its {@code AGENTS.md} holds the instructions
 * @param model     a model id or {@code tier:NAME}
 * @param fallbacks models tried in order when {@code model} is unavailable or refused before it answered
 * @param tools     the names of the tools the agent may use; only their schemas are sent to the model
 * @param policy    the policy profile's name (kept for the policy engine; not interpreted yet), or null
 * @param subagents limits of the sub-agent trees this agent starts (used when its tools list {@code spawn_agent})
 * @param compaction when and how the transcript is summarized as it nears the model's context window
 */
public record AgentSpec(String id, Path workspace, String model, List<String> fallbacks, List<String> tools,
                        Owner owner, Limits limits, OnBusy onBusy, String policy, SubAgents subagents,
                        Compaction compaction) {

    /** The tool name that enables sub-agents; it brings {@link #WAIT_AGENTS} with it. */
    public static final String SPAWN_AGENT = "spawn_agent";
    public static final String WAIT_AGENTS = "wait_agents";

    /** Without sub-agent or compaction settings: the defaults. */
    public AgentSpec(String id, Path workspace, String model, List<String> fallbacks, List<String> tools,
                     Owner owner, Limits limits, OnBusy onBusy, String policy) {
        this(id, workspace, model, fallbacks, tools, owner, limits, onBusy, policy, null, null);
    }

    public AgentSpec {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(workspace, "workspace");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(owner, "owner");
        fallbacks = List.copyOf(fallbacks);
        tools = List.copyOf(tools);
        if (limits == null) limits = Limits.DEFAULT;
        if (onBusy == null) onBusy = OnBusy.QUEUE;
        if (subagents == null) subagents = SubAgents.DEFAULT;
        if (compaction == null) compaction = Compaction.DEFAULT;
    }

    /**
     * How big a tree of sub-agents a run may grow. A tree is a run that no other run started, and every run it
     * started, transitively; {@code maxDepth} and {@code maxConcurrency} are taken from the tree's root agent,
     * {@code maxChildren} from the agent that spawns.
     *
     * @param maxDepth       how deep the tree may go: the root is at depth 0, its children at 1
     * @param maxChildren    children one run may start, over its whole life
     * @param maxConcurrency runs of the tree (the root excluded) running or queued at once
     */
    public record SubAgents(int maxDepth, int maxChildren, int maxConcurrency) {
        public static final SubAgents DEFAULT = new SubAgents(2, 5, 8);

        public SubAgents {
            if (maxDepth < 1 || maxChildren < 1 || maxConcurrency < 1) {
                throw new IllegalArgumentException("sub-agent limits must be at least 1");
            }
        }
    }

    /**
     * When the conversation sent to the model is summarized.
     *
     * @param threshold the fraction of the model's context window a prompt may reach before older turns are
     *                  summarized (0.75: compact once the next prompt would be above 75%)
     * @param model     the model that writes the summary (a cheaper one, typically), or null for the agent's own
     * @param keepTurns the most recent turns (a user message, or an assistant message with its tool results) kept
     *                  verbatim
     */
    public record Compaction(double threshold, String model, int keepTurns) {
        public static final Compaction DEFAULT = new Compaction(0.75, null, 4);

        public Compaction {
            if (!(threshold > 0 && threshold <= 1)) throw new IllegalArgumentException("threshold must be in (0, 1]");
            if (keepTurns < 1) throw new IllegalArgumentException("keepTurns must be at least 1");
        }
    }

    /** This agent with {@code limits} instead of its own. */
    public AgentSpec withLimits(Limits limits) {
        return new AgentSpec(id, workspace, model, fallbacks, tools, owner, limits, onBusy, policy, subagents, compaction);
    }

    /** This agent calling {@code model} only: no fallbacks (a run told which model to use uses that one). */
    public AgentSpec withModel(String model) {
        return new AgentSpec(id, workspace, model, List.of(), tools, owner, limits, onBusy, policy, subagents, compaction);
    }

    /** The tools whose schemas the model gets and the guard allows: {@link #tools} plus what they bring along. */
    public List<String> enabledTools() {
        if (!tools.contains(SPAWN_AGENT) || tools.contains(WAIT_AGENTS)) return tools;
        List<String> all = new ArrayList<>(tools);
        all.add(all.indexOf(SPAWN_AGENT) + 1, WAIT_AGENTS);
        return List.copyOf(all);
    }

    /**
     * Whose principal the agent calls models as. A team-owned agent has only {@code team}; a user-owned one has
     * {@code user}, and {@code team} when the config names it (otherwise the user's team is looked up when a run
     * starts).
     */
    public record Owner(String user, String team) {
        public Owner {
            if (user == null && team == null) throw new IllegalArgumentException("an owner is a user or a team");
        }

        @Override
        public String toString() { return user != null ? "user:" + user : "team:" + team; }
    }

    /**
     * How far one run may go; a run that reaches a limit ends {@code limit_exceeded}.
     *
     * @param maxSteps       model calls per run
     * @param maxWall        wall-clock time per run
     * @param maxTokens      input + output tokens of all the run's model calls
     * @param toolTimeout    per tool call
     * @param maxToolOutputBytes a tool result longer than this is cut
     */
    public record Limits(int maxSteps, Duration maxWall, long maxTokens, Duration toolTimeout, int maxToolOutputBytes) {
        public static final Limits DEFAULT = new Limits(32, Duration.ofMinutes(10), 200_000, Duration.ofSeconds(60), 32 * 1024);

        /** Each limit the smaller of this one's and {@code other}'s. */
        public Limits tightest(Limits other) {
            return new Limits(Math.min(maxSteps, other.maxSteps), min(maxWall, other.maxWall),
                    Math.min(maxTokens, other.maxTokens), min(toolTimeout, other.toolTimeout),
                    Math.min(maxToolOutputBytes, other.maxToolOutputBytes));
        }

        private static Duration min(Duration a, Duration b) { return a.compareTo(b) <= 0 ? a : b; }
    }

    /** What a message for a session that is busy with a run does. */
    public enum OnBusy {
        /** Waits and runs after the current run (a follow-up). */
        QUEUE,
        /** Stops the current run (it ends {@code interrupted}) and runs next. */
        INTERRUPT
    }

    /**
     * Whether {@code p} may use this agent: admins every agent, a member those owned by themselves or by their
     * team. The HTTP API asks this for a caller's key, the runtime for the owner of a run that starts a sub-agent:
     * one rule, so an agent can never reach through a sub-agent what its owner could not reach over HTTP.
     */
    public boolean usableBy(Principal p) {
        if (p.isAdmin()) return true;
        // {user, team}: the user (one person across the org: KeyAdmin refuses a name another team has) or the team
        return (owner.user() != null && owner.user().equals(p.user())) || (owner.team() != null && owner.team().equals(p.team()));
    }

    /** The key of this agent's session called {@code name}. */
    public String sessionKey(String name) { return "agent:" + id + ":" + name; }

    /** The model, then the fallbacks. */
    public List<String> models() {
        List<String> all = new ArrayList<>(1 + fallbacks.size());
        all.add(model);
        all.addAll(fallbacks);
        return all;
    }
}
