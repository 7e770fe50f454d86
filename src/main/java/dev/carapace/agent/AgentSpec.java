package dev.carapace.agent;

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
 */
public record AgentSpec(String id, Path workspace, String model, List<String> fallbacks, List<String> tools,
                        Owner owner, Limits limits, OnBusy onBusy, String policy) {

    public AgentSpec {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(workspace, "workspace");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(owner, "owner");
        fallbacks = List.copyOf(fallbacks);
        tools = List.copyOf(tools);
        if (limits == null) limits = Limits.DEFAULT;
        if (onBusy == null) onBusy = OnBusy.QUEUE;
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
    }

    /** What a message for a session that is busy with a run does. */
    public enum OnBusy {
        /** Waits and runs after the current run (a follow-up). */
        QUEUE,
        /** Stops the current run (it ends {@code interrupted}) and runs next. */
        INTERRUPT
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
