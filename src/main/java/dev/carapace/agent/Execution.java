package dev.carapace.agent;

import dev.carapace.identity.Principal;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The state of one run this runtime is handling, shared by the parts that drive it: the {@link RunLifecycle} that
 * queues and ends it, the {@link TurnLoop} that advances it, and the {@link ToolRunner} and {@link SubAgents} that
 * act for it. Plain state: it decides nothing.
 */
final class Execution {

    /** How a run ended. */
    record Outcome(RunStatus status, String reason) {}

    final String runId;
    final AgentSpec agent;
    /**
     * The tools this run may use: its agent's, or for a sub-agent those of them its parent run also has (see
     * {@link SpawnRule}). The model gets only these schemas, and a call of any other is refused.
     */
    final List<String> tools;
    /**
     * Whom it calls models as, set when it begins: its agent's owner, or for a sub-agent its parent's principal
     * with its own agent id (the spend counts against the parent's owner and the child agent's own budget).
     */
    volatile Principal principal;
    /** Who sent the message that started it (null: not known, or a sub-agent's run, which takes its parent's). */
    final Principal startedBy;
    /** The scheduled job it runs for, charged with its model calls; null for none (a sub-agent's run: its parent's). */
    final String job;
    final String sessionKey;
    final String input;
    /** Who sent {@link #input}, as the transcript records it (see {@link Transcript#sender}); null when not known. */
    final String sender;
    /** Images sent with {@link #input}, shown with it to the model. */
    final List<dev.carapace.model.Part.Image> images;
    final List<SessionStore.Entry> carried;
    final CompletableFuture<RunStatus> done = new CompletableFuture<>();
    final AtomicReference<Outcome> stop = new AtomicReference<>();
    /** Its place in its sub-agent tree. */
    final SubAgents.Family family;
    /** Its token budget: the agent's, or the slice its parent gave it. */
    final long maxTokens;
    /** The run that started it, and where its end is reported to; null for a run no run started. */
    final Execution parent;
    final SubAgents.Result result;
    /** Tokens its children spent, added as each ends. */
    final AtomicLong childTokens = new AtomicLong();
    volatile Thread thread;
    /** The last assistant text: a child's result. */
    volatile String lastText = "";
    int steps;
    long tokens;
    /**
     * The skills it follows (see {@link Following}): names whose instructions a {@code skill} call gave its session,
     * in an earlier run (read from the transcript when it begins) or in this one.
     */
    final java.util.Set<String> skills = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Who asked for this run: {@link #startedBy}, or for a sub-agent's run the nearest ancestor's; null if no one. */
    Principal requester() {
        Execution ex = this;
        while (ex != null && ex.startedBy == null) ex = ex.parent;
        return ex == null ? null : ex.startedBy;
    }

    Execution(String runId, AgentSpec agent, List<String> tools, String sessionKey, String input, String sender,
              List<SessionStore.Entry> carried, SubAgents.Family family, long maxTokens, Execution parent,
              SubAgents.Result result, Principal startedBy, String job, List<dev.carapace.model.Part.Image> images) {
        this.runId = runId;
        this.startedBy = startedBy;
        this.job = job;
        this.agent = agent;
        this.tools = List.copyOf(tools);
        this.sessionKey = sessionKey;
        this.input = input;
        this.sender = sender;
        this.images = List.copyOf(images);
        this.carried = carried;
        this.family = family;
        this.maxTokens = maxTokens;
        this.parent = parent;
        this.result = result;
    }

    boolean stopped() { return stop.get() != null; }

    /** The skills it follows now, with those of the runs above it. */
    Following following() {
        return new Following(agent.id(), sessionKey, skills, parent == null ? null : parent.following());
    }

    /** Its own tokens and those of its children that have ended. */
    long totalTokens() { return tokens + childTokens.get(); }
}
