package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static dev.carapace.text.Excerpt.clip;

/**
 * Sub-agents: the {@code spawn_agent} and {@code wait_agents} tools, and the tree of runs they grow.
 *
 * <p>A child is a run of its own, in a session of its own, linked to its parent by {@code parent_run_id}. Its
 * token budget is a slice of what its parent has left (so a tree never spends more than its root was given), and
 * what it spends is added to its parent's run when it ends. A run that ends for any reason stops the children
 * it left running: a tree ends with its root.
 */
final class SubAgents {

    /** Where a run stands in its tree, and the children it started. */
    static final class Family {
        final Tree tree;
        final int depth;
        /** Guarded by {@code this}. */
        final List<Child> children = new ArrayList<>();
        /** Tokens promised to children still running; guarded by {@code this}. */
        long reserved;

        Family(Tree tree, int depth) {
            this.tree = tree;
            this.depth = depth;
        }

        static Family root(AgentSpec agent) { return new Family(new Tree(agent.subagents()), 0); }

        synchronized List<Child> children() { return List.copyOf(children); }
    }

    /** What a whole tree shares: the root's limits and how many of its runs are active. */
    static final class Tree {
        final AgentSpec.SubAgents limits;
        final AtomicInteger active = new AtomicInteger();

        Tree(AgentSpec.SubAgents limits) { this.limits = limits; }
    }

    /**
     * A child as its parent knows it.
     *
     * @param name  what the parent's model calls it: sub-1, sub-2, ...
     * @param slice the tokens it was given
     */
    record Child(String name, String runId, String sessionKey, String agent, long slice, CompletableFuture<RunStatus> done,
                 Result result) {}

    /** Filled in when the child ends, before {@code done} completes. */
    static final class Result {
        volatile String text = "";
        final AtomicLong tokens = new AtomicLong();
        /** The skills the child's session followed: its result may carry their instructions up. */
        final java.util.Set<String> skills = java.util.concurrent.ConcurrentHashMap.newKeySet();
    }

    /** What the runtime does for this class: start a child run, read a run's end. */
    interface Host {
        /**
         * Starts {@code task} as a run of {@code agent} in {@code sessionName}, with a budget of {@code maxTokens},
         * allowed only {@code tools}.
         */
        Child startChild(Execution parent, AgentSpec agent, List<String> tools, String sessionName,
                         String task, long maxTokens, Family family, String name);

        /** Records a spawn decision in the guard's audit log ({@code outcome} allow or deny). */
        void audit(Execution parent, String agent, String outcome, String rule, String reason);

        RunInfo run(String runId);

        AgentSpec agent(String id);

        /** Every configured agent. */
        List<AgentSpec> agents();

        void cancel(String runId);
    }

    private final Host host;

    SubAgents(Host host) { this.host = host; }

    static final AgentTool SPAWN = new Schema(AgentSpec.SPAWN_AGENT,
            "Start a sub-agent on a task in its own session; it gets a share of your token budget. With wait=true, "
                    + "returns its result; otherwise returns its id at once (collect results with wait_agents).",
            """
            {"type":"object","properties":{"task":{"type":"string"},"agent":{"type":"string","description":"agent id; default: yourself"},\
            "max_tokens":{"type":"integer"},"wait":{"type":"boolean"}},"required":["task"]}""");

    static final AgentTool WAIT = new Schema(AgentSpec.WAIT_AGENTS,
            "Wait for sub-agents (default: all you started) and return their status and results.",
            """
            {"type":"object","properties":{"ids":{"type":"array","items":{"type":"string"}},"mode":{"enum":["all","any"]}}}""");

    /** The two tools as the model sees them; the runtime runs them through {@link #spawn} and {@link #await}. */
    private record Schema(String name, String description, String schema) implements AgentTool {
        @Override
        public ObjectNode parameters() { return (ObjectNode) Transcript.parse(schema); }

        @Override
        public ToolResult run(JsonNode arguments, ToolContext context) {
            throw new IllegalStateException(name + " runs inside the agent runtime");
        }
    }

    /**
     * {@code spawn_agent}: checks who may be started ({@link SpawnRule}) and the limits, starts the child, and waits
     * for it when asked to. Every decision, allowed or refused, goes to the audit log with its reason.
     */
    ToolResult spawn(Execution parent, JsonNode args, Duration patience) throws InterruptedException {
        String wanted = args.hasNonNull("agent") ? clip(args.path("agent").asText(), 60) : parent.agent.id();
        String task = args.path("task").asText("");
        if (task.isBlank()) return refuse(parent, wanted, "invalid_arguments", "task: required, the sub-agent's instructions");
        if (task.length() > AgentRuntime.MAX_MESSAGE_CHARS) {
            return refuse(parent, wanted, "invalid_arguments", "task: at most " + AgentRuntime.MAX_MESSAGE_CHARS + " characters");
        }
        AgentSpec agent;
        try {
            agent = args.hasNonNull("agent") ? host.agent(args.path("agent").asText()) : parent.agent;
        } catch (ApiException e) {
            // Names only the agents this run's owner may use: the model learns nothing of other teams' agents.
            List<String> usable = host.agents().stream().filter(a -> a.usableBy(parent.principal)).map(AgentSpec::id).toList();
            return refuse(parent, wanted, "unknown_agent", "no agent '" + wanted + "' (agents this run may start: "
                    + (usable.isEmpty() ? "none" : String.join(", ", usable)) + ")");
        }
        SpawnRule.Verdict verdict = SpawnRule.decide(parent.agent, parent.principal, parent.tools, agent);
        if (!verdict.allowed()) return refuse(parent, agent.id(), verdict.error(), verdict.reason());
        Family family = parent.family;
        Tree tree = family.tree;
        if (family.depth + 1 > tree.limits.maxDepth()) {
            return refuse(parent, agent.id(), "depth_limit", "sub-agents may nest " + tree.limits.maxDepth()
                    + " deep and this run is at depth " + family.depth + "; do the task yourself");
        }
        int maxChildren = parent.agent.subagents().maxChildren();
        long slice;
        String name;
        Child child;
        synchronized (family) {
            if (family.children.size() >= maxChildren) {
                return refuse(parent, agent.id(), "children_limit", "this run has started " + family.children.size()
                        + " sub-agents, its limit");
            }
            // A share of what is left, counting this run itself as one of the takers so it can still finish.
            long left = parent.maxTokens - parent.totalTokens() - family.reserved;
            int takers = maxChildren - family.children.size() + 1;
            slice = left / takers;
            if (args.path("max_tokens").canConvertToLong() && args.path("max_tokens").asLong() > 0) {
                slice = Math.min(slice, args.path("max_tokens").asLong());
            }
            slice = Math.min(slice, agent.limits().maxTokens());
            if (slice < 1) {
                return refuse(parent, agent.id(), "budget_exhausted", "this run has no tokens left to give a sub-agent ("
                        + left + " left)");
            }
            if (tree.active.incrementAndGet() > tree.limits.maxConcurrency()) {
                tree.active.decrementAndGet();
                return refuse(parent, agent.id(), "concurrency_limit", tree.limits.maxConcurrency() + " sub-agents of "
                        + "this tree are already running; wait for some (wait_agents) before starting more");
            }
            name = "sub-" + (family.children.size() + 1);
            try {
                child = host.startChild(parent, agent, verdict.tools(),
                        "sub." + parent.runId.substring(4) + "." + (family.children.size() + 1),
                        task, slice, new Family(tree, family.depth + 1), name);
            } catch (RuntimeException e) {
                tree.active.decrementAndGet();
                if (e instanceof ApiException a) return refuse(parent, agent.id(), "spawn_failed", a.getMessage());
                throw e;
            }
            family.reserved += slice;
            family.children.add(child);
        }
        host.audit(parent, agent.id(), "allow", "agent.spawn", verdict.reason() + " as run " + child.runId());
        // A parent stopped while this child was being started did not see it among its children: stop it here.
        if (parent.stopped()) host.cancel(child.runId());
        if (!args.path("wait").asBoolean(false)) {
            ObjectNode n = Transcript.JSON.createObjectNode().put("id", name).put("status", "running")
                    .put("agent", agent.id()).put("max_tokens", slice);
            tools(n, verdict);
            return ToolResult.ok(n.toString());
        }
        waitFor(List.of(child), false, patience);
        return ToolResult.ok(tools(describe(parent, child), verdict).toString());
    }

    /** Tells the model what the child may use, and what it was denied, so it does not expect the impossible. */
    private static ObjectNode tools(ObjectNode n, SpawnRule.Verdict verdict) {
        ArrayNode t = n.putArray("tools");
        verdict.tools().forEach(t::add);
        if (!verdict.withheld().isEmpty()) {
            ArrayNode w = n.putArray("withheld_tools");
            verdict.withheld().forEach(w::add);
        }
        return n;
    }

    /** A refused spawn: audited, then the structured error the model gets. */
    private ToolResult refuse(Execution parent, String agent, String code, String reason) {
        host.audit(parent, agent, "deny", "agent.spawn." + code, reason);
        return error(code, reason);
    }

    /** {@code wait_agents}: waits for all (or any) of the named children, at most {@code patience}. */
    ToolResult await(Execution parent, JsonNode args, Duration patience) throws InterruptedException {
        List<Child> all = parent.family.children();
        List<Child> chosen = new ArrayList<>();
        if (args.path("ids").isArray() && !args.path("ids").isEmpty()) {
            for (JsonNode id : args.path("ids")) {
                Child c = all.stream().filter(x -> x.name().equals(id.asText())).findFirst().orElse(null);
                if (c == null) return error("unknown_id", "no sub-agent '" + clip(id.asText(), 60) + "' in this run");
                chosen.add(c);
            }
        } else {
            chosen.addAll(all);
        }
        if (chosen.isEmpty()) return error("no_subagents", "this run has not started any sub-agents");
        waitFor(chosen, "any".equals(args.path("mode").asText()), patience);
        ObjectNode n = Transcript.JSON.createObjectNode();
        ArrayNode list = n.putArray("agents");
        int pending = 0;
        for (Child c : chosen) {
            list.add(describe(parent, c));
            if (!c.done().isDone()) pending++;
        }
        n.put("pending", pending);
        return ToolResult.ok(n.toString());
    }

    private static void waitFor(List<Child> children, boolean any, Duration patience) throws InterruptedException {
        CompletableFuture<?> f = any
                ? CompletableFuture.anyOf(children.stream().map(Child::done).toArray(CompletableFuture[]::new))
                : CompletableFuture.allOf(children.stream().map(Child::done).toArray(CompletableFuture[]::new));
        try {
            f.get(Math.max(1, patience.toMillis()), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // reported as "running" below: the model may wait again
        }
    }

    /**
     * A child as its parent's model sees it. A finished child's result goes to the parent, and with it the skills the
     * child followed: the parent follows them from now on (else a parent could have a child read a skill and hand its
     * instructions up, and follow them without being held to what the skill declared). They are written into the
     * result, ahead of its text, so {@link Transcript#skillsRead} finds them again when a later run begins.
     */
    private ObjectNode describe(Execution parent, Child c) {
        ObjectNode n = Transcript.JSON.createObjectNode().put("id", c.name()).put("agent", c.agent())
                .put("session", c.sessionKey());
        if (!c.done().isDone()) return n.put("status", "running");
        RunInfo info = host.run(c.runId());
        n.put("status", info.status().label());
        if (info.reason() != null) n.put("reason", info.reason());
        n.put("tokens", info.tokens());
        if (!c.result().skills.isEmpty()) {
            parent.skills.addAll(c.result().skills);
            ArrayNode followed = n.putArray(Following.PASSED_UP);
            new java.util.TreeSet<>(c.result().skills).forEach(followed::add);
        }
        n.put("result", c.result().text);
        return n;
    }

    private static ToolResult error(String code, String reason) {
        return ToolResult.error(Transcript.error(code, reason));
    }
}
