package dev.carapace.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.gateway.Call;
import dev.carapace.gateway.Gateway;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.FinishReason;
import dev.carapace.model.Message;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.Router;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;
import dev.carapace.store.Sessions;
import dev.carapace.store.Sessions.EntryRow;
import dev.carapace.store.Sessions.RunRow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Runs agents: accepts messages for sessions, serializes the runs of each session, and drives the loop of each run
 * on a virtual thread — model call through the {@link Gateway} (so routing, failover, budgets and metering apply as
 * to any {@code /v1} call), then the tool calls it asked for (in parallel, each checked by the {@link Guard} first),
 * then the model again, until it answers without tools or a limit is reached.
 *
 * <p>Durability: a message is in the store (in its run's row) before {@link #start} returns; it enters the
 * transcript when its run begins; every assistant turn and every tool result is committed as it completes. On
 * construction, runs a previous process left queued or running are marked {@code interrupted}; {@link #resume}
 * continues such a session from its transcript.
 */
public final class AgentRuntime implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AgentRuntime.class);

    private static final Pattern SESSION_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    /** The largest user message accepted, in characters. */
    static final int MAX_MESSAGE_CHARS = 1_000_000;
    /** The most of AGENTS.md that goes into the system prompt, in bytes. */
    static final int MAX_INSTRUCTIONS_BYTES = 64 * 1024;
    static final String INSTRUCTIONS_FILE = "AGENTS.md";

    private final Agents agents;
    private final Gateway gateway;
    private final Sessions sessions;
    private final Guard guard;
    /** Where {@code ask} decisions wait for an operator; null: they are refused as needing approval. */
    private final Approvals approvals;
    private final Map<String, AgentTool> tools;
    private final Function<AgentSpec, Principal> principals;
    private final Clock clock;
    private final RunEvents events;
    private final ScheduledThreadPoolExecutor timers;
    private final Object laneLock = new Object();
    private final Map<String, Lane> lanes = new HashMap<>();
    private final Map<String, Execution> executions = new ConcurrentHashMap<>();
    private final SubAgents subAgents;
    /** Where sub-agent spawn decisions are recorded (layer {@code agent}). */
    private final AuditSink audit;
    /** This runtime (one per gateway process) as the owner of the runs it executes. */
    private final String instance = UUID.randomUUID().toString();
    private volatile boolean closed;

    /**
     * @param tools      every tool agents may be given; each agent's config names a subset
     * @param principals whom an agent calls models as (its owner's org, team and user, plus its own id); may throw
     *                   {@link ApiException} when the owner cannot be resolved, which fails the run
     * @throws IllegalArgumentException when an agent lists a tool that is not among {@code tools}
     */
    public AgentRuntime(Agents agents, Gateway gateway, Sessions sessions, Guard guard, List<AgentTool> tools,
                        Function<AgentSpec, Principal> principals, RunEvents events, Clock clock) {
        this(agents, gateway, sessions, guard, null, tools, principals, events, clock);
    }

    /**
     * As above, with {@code approvals} taking the tool calls the guard answers {@code ask}: the run waits for an
     * operator's decision (null: such calls are refused as needing approval).
     */
    public AgentRuntime(Agents agents, Gateway gateway, Sessions sessions, Guard guard, Approvals approvals,
                        List<AgentTool> tools, Function<AgentSpec, Principal> principals, RunEvents events, Clock clock) {
        this(agents, gateway, sessions, guard, approvals, tools, principals, events, clock, event -> { });
    }

    /**
     * As above, with {@code audit} receiving every sub-agent spawn decision (allowed or refused, with its reason);
     * the constructors without it record none.
     */
    public AgentRuntime(Agents agents, Gateway gateway, Sessions sessions, Guard guard, Approvals approvals,
                        List<AgentTool> tools, Function<AgentSpec, Principal> principals, RunEvents events, Clock clock,
                        AuditSink audit) {
        this.audit = audit;
        this.approvals = approvals;
        this.agents = agents;
        this.gateway = gateway;
        this.sessions = sessions;
        this.guard = guard;
        this.principals = principals;
        this.events = events;
        this.clock = clock;
        Map<String, AgentTool> byName = new LinkedHashMap<>();
        for (AgentTool t : tools) {
            if (byName.putIfAbsent(t.name(), t) != null) throw new IllegalArgumentException("two tools are named '" + t.name() + "'");
        }
        // Sub-agents are the runtime's own tools: they start runs here.
        for (AgentTool t : List.of(SubAgents.SPAWN, SubAgents.WAIT)) {
            if (byName.putIfAbsent(t.name(), t) != null) throw new IllegalArgumentException("tool '" + t.name() + "' is the runtime's own");
        }
        this.subAgents = new SubAgents(new SubAgents.Host() {
            @Override
            public SubAgents.Child startChild(Execution parent, AgentSpec agent, List<String> tools, String sessionName,
                                              String task, long maxTokens, SubAgents.Family family, String name) {
                SubAgents.Result result = new SubAgents.Result();
                Execution child = submit(agent, tools, agent.sessionKey(sessionName), task, List.of(), parent.runId, family,
                        Math.min(maxTokens, agent.limits().maxTokens()), result, null);
                return new SubAgents.Child(name, child.runId, child.sessionKey, agent.id(), maxTokens, child.done, result);
            }

            @Override
            public void audit(Execution parent, String agent, String outcome, String rule, String reason) {
                Principal p = parent.principal;
                String who = p == null ? null : p.org() + "/" + (p.team() == null ? "-" : p.team())
                        + (p.user() == null ? "" : "/" + p.user());
                try {
                    audit.record(new AuditEvent(clock.instant(), who, parent.agent.id(), parent.sessionKey, "agent",
                            AgentSpec.SPAWN_AGENT, agent, outcome, rule, reason));
                } catch (RuntimeException e) {
                    log.warn("run {}: the audit sink failed on a spawn record", parent.runId, e);
                }
            }

            @Override
            public RunInfo run(String runId) { return AgentRuntime.this.run(runId); }

            @Override
            public AgentSpec agent(String id) { return agents.get(id); }

            @Override
            public List<AgentSpec> agents() { return agents.list(); }

            @Override
            public void cancel(String runId) { AgentRuntime.this.cancel(runId); }
        });
        this.tools = Map.copyOf(byName);
        for (AgentSpec a : agents.list()) {
            for (String t : a.tools()) {
                if (!byName.containsKey(t)) {
                    throw new IllegalArgumentException("agent '" + a.id() + "' lists tool '" + t + "', which this gateway "
                            + "does not provide (tools: " + String.join(", ", byName.keySet()) + ")");
                }
            }
        }
        this.timers = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon().name("agent-timers").unstarted(r));
        timers.setRemoveOnCancelPolicy(true);
        reapOrphans();
    }

    /**
     * Marks interrupted the runs a stopped gateway left queued or running (see {@link Sessions#interruptOrphans}):
     * at construction, and periodically where several gateways share the store.
     */
    public void reapOrphans() {
        List<RunRow> cut = sessions.interruptOrphans(instance,
                "the gateway stopped while this run was queued or running; resume the session to continue", clock.instant());
        if (!cut.isEmpty()) log.info("{} agent run(s) cut off by a stopped gateway marked interrupted", cut.size());
    }

    /** Keeps this runtime's queued and running runs from being taken for orphans by other gateways. */
    public void heartbeat() { sessions.heartbeat(instance, clock.instant()); }

    // ---- the API ------------------------------------------------------------------------------------------------

    public Agents agents() { return agents; }

    /**
     * Sends {@code message} to the agent's session {@code sessionName} (created on first use). The message is stored
     * before this returns. If the session is busy, the run waits (on_busy: queue) or stops the current run (on_busy:
     * interrupt) and runs next.
     *
     * @return the new run's id
     * @throws ApiException unknown agent (404), bad session name or empty message (400), runtime closed (503)
     */
    public String start(String agentId, String sessionName, String message) {
        return start(agentId, sessionName, message, null);
    }

    /**
     * As {@link #start(String, String, String)}, started by {@code startedBy}: the run's model calls are charged to
     * that user (their user budget applies, and {@code spend --by user} shows them), within the agent's owner team,
     * and to the agent. A caller without a user of its own (a team key), or none, leaves them to the agent's owner.
     */
    public String start(String agentId, String sessionName, String message, Principal startedBy) {
        AgentSpec agent = agents.get(agentId);
        if (sessionName == null || !SESSION_NAME.matcher(sessionName).matches()) {
            throw ApiException.invalid("session", "session: expected a name of letters, digits, '.', '_' and '-', "
                    + "starting with a letter or digit, at most 128 characters; got '" + Agents.clip(sessionName) + "'");
        }
        if (message == null || message.isBlank()) throw ApiException.invalid("message", "message: must not be empty");
        if (message.length() > MAX_MESSAGE_CHARS) {
            throw ApiException.invalid("message", "message: at most " + MAX_MESSAGE_CHARS + " characters; got " + message.length());
        }
        String key = agent.sessionKey(sessionName);
        String parent = sessions.startedBy(key).orElse(null);
        if (parent != null) throw subAgentSession(key, parent);
        return submit(agent, agent.enabledTools(), key, message, List.of(), null, null, agent.limits().maxTokens(),
                null, startedBy).runId;
    }

    /**
     * Continues a session whose last run was interrupted: the model picks up from the transcript. Messages that were
     * accepted but whose runs never began are added to the transcript first, in order.
     *
     * @return the new run's id
     * @throws ApiException unknown session (404); nothing to resume or the session is busy (409-kind: invalid)
     */
    public String resume(String sessionKey) {
        return resume(sessionKey, null);
    }

    /** As {@link #resume(String)}, charged to {@code startedBy} as {@link #start(String, String, String, Principal)} is. */
    public String resume(String sessionKey, Principal startedBy) {
        Sessions.SessionRow session = sessions.session(sessionKey).orElseThrow(() -> sessionNotFound(sessionKey));
        AgentSpec agent = agents.get(session.agent());
        synchronized (laneLock) {
            if (lanes.containsKey(sessionKey)) {
                throw ApiException.invalid("session", "session '" + sessionKey + "' has a run in progress; nothing to resume");
            }
        }
        List<RunRow> runs = sessions.runs(sessionKey);
        if (!runs.isEmpty() && runs.get(0).parentRunId() != null) throw subAgentSession(sessionKey, runs.get(0).parentRunId());
        RunRow last = runs.isEmpty() ? null : runs.get(runs.size() - 1);
        if (last == null || RunStatus.of(last.status()) != RunStatus.INTERRUPTED) {
            throw ApiException.invalid("session", "session '" + sessionKey + "' has no interrupted run to resume"
                    + (last == null ? "" : " (its last run is " + last.status() + ")"));
        }
        Set<String> begun = new HashSet<>();
        for (EntryRow e : sessions.entries(sessionKey)) if (e.runId() != null) begun.add(e.runId());
        List<EntryRow> carried = new ArrayList<>();
        for (RunRow r : runs) {
            if (RunStatus.of(r.status()) == RunStatus.INTERRUPTED && r.input() != null && !begun.contains(r.id())) {
                carried.add(entry(sessionKey, r.id(), "user", Transcript.user(r.input()), null, null));
            }
        }
        return submit(agent, agent.enabledTools(), sessionKey, null, carried, null, null, agent.limits().maxTokens(),
                null, startedBy).runId;
    }

    /**
     * Cancels a run: a queued run ends at once; a running one is interrupted (its upstream stream and its tool
     * calls too) and ends {@code cancelled} promptly.
     *
     * @return false when the run had already ended
     * @throws ApiException unknown run (404)
     */
    public boolean cancel(String runId) {
        Execution ex = executions.get(runId);
        if (ex == null) {
            run(runId);   // 404 when unknown
            return false;
        }
        return stop(ex, RunStatus.CANCELLED, "cancelled");
    }

    /** The run as stored. @throws ApiException unknown run (404) */
    public RunInfo run(String runId) {
        return sessions.run(runId).map(AgentRuntime::info).orElseThrow(() -> new ApiException(ApiException.Kind.NOT_FOUND,
                "No run '" + Agents.clip(runId) + "'.", "run", "run_not_found", null, false));
    }

    /** The session's runs, oldest first. */
    public List<RunInfo> runs(String sessionKey) {
        return sessions.runs(sessionKey).stream().map(AgentRuntime::info).toList();
    }

    /**
     * Waits until the run has ended or {@code timeout} passed, and returns it as stored then.
     */
    public RunInfo await(String runId, Duration timeout) throws InterruptedException {
        Execution ex = executions.get(runId);
        if (ex != null) {
            try {
                ex.done.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                // reported by the status read below
            }
        }
        return run(runId);
    }

    /** The session's transcript. @throws ApiException unknown session (404) */
    public List<TranscriptEntry> transcript(String sessionKey) {
        sessions.session(sessionKey).orElseThrow(() -> sessionNotFound(sessionKey));
        return sessions.entries(sessionKey).stream().map(Transcript::entry).toList();
    }

    /**
     * Live events of one run until it ends. A run that has already ended gets its final status at once.
     */
    public RunEvents.Subscription subscribeRun(String runId, java.util.function.Consumer<RunEvent> listener) {
        RunInfo before = run(runId);
        RunEvents.Subscription s = events.subscribeRun(runId, listener);
        RunInfo now = before.status().isFinal() ? before : run(runId);
        if (now.status().isFinal()) {
            events.publishTo(s, new RunEvent.StatusChanged(runId, now.sessionKey(), now.status(), now.reason()));
        }
        return s;
    }

    /** Live events of every run of a session, until closed. */
    public RunEvents.Subscription subscribeSession(String sessionKey, java.util.function.Consumer<RunEvent> listener) {
        return events.subscribeSession(sessionKey, listener);
    }

    /**
     * Stops every run: running ones end {@code interrupted} (resumable), queued ones too. Waits up to 10 s for runs
     * to write their end.
     */
    @Override
    public void close() {
        List<Execution> all;
        synchronized (laneLock) {
            closed = true;
            all = List.copyOf(executions.values());
        }
        for (Execution ex : all) stop(ex, RunStatus.INTERRUPTED, "the gateway shut down during this run; resume the session to continue");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (Execution ex : all) {
            try {
                ex.done.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (ExecutionException | TimeoutException e) {
                log.warn("run {} did not end within the shutdown grace period", ex.runId);
            }
        }
        timers.shutdownNow();
        events.close();
    }

    // ---- sessions: one run at a time ----------------------------------------------------------------------------

    /** The runs of one session: the one executing, and those waiting their turn. */
    private static final class Lane {
        Execution active;
        final ArrayDeque<Execution> waiting = new ArrayDeque<>();
    }

    /** The state of a run this runtime is handling. */
    static final class Execution {
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
        final String sessionKey;
        final String input;
        final List<EntryRow> carried;
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

        Execution(String runId, AgentSpec agent, List<String> tools, String sessionKey, String input,
                  List<EntryRow> carried, SubAgents.Family family, long maxTokens, Execution parent,
                  SubAgents.Result result, Principal startedBy) {
            this.runId = runId;
            this.startedBy = startedBy;
            this.agent = agent;
            this.tools = List.copyOf(tools);
            this.sessionKey = sessionKey;
            this.input = input;
            this.carried = carried;
            this.family = family;
            this.maxTokens = maxTokens;
            this.parent = parent;
            this.result = result;
        }

        boolean stopped() { return stop.get() != null; }

        /** Its own tokens and those of its children that have ended. */
        long totalTokens() { return tokens + childTokens.get(); }
    }

    /** How a run ended. */
    private record Outcome(RunStatus status, String reason) {}

    private Execution submit(AgentSpec agent, List<String> tools, String sessionKey, String input, List<EntryRow> carried,
                             String parentRunId, SubAgents.Family family, long maxTokens, SubAgents.Result result,
                             Principal startedBy) {
        if (closed) throw closedError();
        Execution parent = parentRunId == null ? null : executions.get(parentRunId);
        if (parentRunId != null && parent == null) throw closedError();
        String runId = "run_" + UUID.randomUUID().toString().replace("-", "");
        Instant now = clock.instant();
        sessions.acceptRun(new Sessions.SessionRow(sessionKey, agent.id(), now),
                new RunRow(runId, sessionKey, agent.id(), parentRunId, RunStatus.QUEUED.label(), null, input, 0, 0, now, null, null), instance);
        Execution ex = new Execution(runId, agent, tools, sessionKey, input, carried,
                family != null ? family : SubAgents.Family.root(agent), maxTokens, parent, result, startedBy);
        Execution interrupt = null;
        boolean launch;
        synchronized (laneLock) {
            if (closed) {
                sessions.finishRun(runId, RunStatus.INTERRUPTED.label(), "the gateway is shutting down", 0, 0, now);
                throw closedError();
            }
            executions.put(runId, ex);
            Lane lane = lanes.computeIfAbsent(sessionKey, k -> new Lane());
            launch = lane.active == null;
            if (launch) {
                lane.active = ex;
            } else {
                lane.waiting.add(ex);
                if (agent.onBusy() == AgentSpec.OnBusy.INTERRUPT) interrupt = lane.active;
            }
        }
        events.publish(new RunEvent.StatusChanged(runId, sessionKey, RunStatus.QUEUED, null));
        if (interrupt != null) stop(interrupt, RunStatus.INTERRUPTED, "interrupted by a newer message (on_busy: interrupt)");
        if (launch) launch(ex);
        return ex;
    }

    private void launch(Execution ex) {
        ex.thread = Thread.ofVirtual().name("agent-run-" + ex.runId).start(() -> execute(ex));
    }

    /** Ends a run with {@code status} unless it has ended already; true if this call decided how it ends. */
    private boolean stop(Execution ex, RunStatus status, String reason) {
        boolean dequeued;
        synchronized (laneLock) {
            if (!ex.stop.compareAndSet(null, new Outcome(status, reason))) return false;
            Lane lane = lanes.get(ex.sessionKey);
            dequeued = lane != null && lane.waiting.remove(ex);
        }
        stopChildren(ex, status);
        if (dequeued) {
            // Never started: nothing to interrupt.
            end(ex, new Outcome(status, reason));
            executions.remove(ex.runId);
            ended(ex);
            ex.done.complete(status);
            return true;
        }
        Thread t = ex.thread;
        if (t != null) t.interrupt();
        return true;
    }

    /** A tree ends with its root: the children a run leaves behind are cancelled (and theirs, in turn). */
    private void stopChildren(Execution ex, RunStatus parentStatus) {
        for (SubAgents.Child c : ex.family.children()) {
            Execution child = executions.get(c.runId());
            if (child != null) {
                stop(child, RunStatus.CANCELLED, "its parent run " + ex.runId + " ended (" + parentStatus.label() + ")");
            }
        }
    }

    /** Reports a child's end to its parent: its result, and its tokens into the parent's. */
    private void ended(Execution ex) {
        if (ex.parent == null) return;
        ex.family.tree.active.decrementAndGet();
        long total = ex.totalTokens();
        if (ex.result != null) {
            ex.result.text = ex.lastText;
            ex.result.tokens.set(total);
        }
        ex.parent.childTokens.addAndGet(total);
        SubAgents.Family pf = ex.parent.family;
        synchronized (pf) {
            for (SubAgents.Child c : pf.children) if (c.runId().equals(ex.runId)) pf.reserved -= c.slice();
        }
    }

    private void execute(Execution ex) {
        Outcome outcome;
        ScheduledFuture<?> wall = timers.schedule(() -> stop(ex, RunStatus.LIMIT_EXCEEDED,
                "max_wall: the run took longer than " + describe(ex.agent.limits().maxWall())),
                ex.agent.limits().maxWall().toNanos(), TimeUnit.NANOSECONDS);
        try {
            outcome = loop(ex);
        } catch (ApiException e) {
            outcome = ex.stopped() ? ex.stop.get() : new Outcome(RunStatus.FAILED, "model call failed: " + e.getMessage());
        } catch (RuntimeException | Error e) {
            if (ex.stopped()) {
                outcome = ex.stop.get();
            } else {
                log.error("run {} failed", ex.runId, e);
                outcome = new Outcome(RunStatus.FAILED, "internal error (" + e.getClass().getSimpleName() + "); see the gateway log");
            }
        } finally {
            wall.cancel(false);
        }
        Thread.interrupted();   // a stop may have interrupted this thread after its last wait: the store must still work
        // The first outcome decided wins (a cancel racing a natural end is reported as the end that was recorded).
        if (!ex.stop.compareAndSet(null, outcome)) outcome = ex.stop.get();
        // Children still running end now, and are waited for, so that this run's tokens include theirs.
        stopChildren(ex, outcome.status());
        for (SubAgents.Child c : ex.family.children()) {
            try {
                c.done().get(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (ExecutionException | TimeoutException e) {
                log.warn("run {}: sub-agent run {} did not end in time", ex.runId, c.runId());
            }
        }
        Thread.interrupted();
        try {
            end(ex, outcome);
        } finally {
            Execution next;
            synchronized (laneLock) {
                executions.remove(ex.runId);
                Lane lane = lanes.get(ex.sessionKey);
                next = lane == null ? null : lane.waiting.poll();
                if (lane != null) {
                    lane.active = next;
                    if (next == null) lanes.remove(ex.sessionKey);
                }
                if (next != null && closed) next.stop.compareAndSet(null, new Outcome(RunStatus.INTERRUPTED, "the gateway shut down"));
            }
            ended(ex);
            ex.done.complete(outcome.status());
            if (next != null) launch(next);
        }
    }

    /** Records how a run ended and tells the subscribers. */
    private void end(Execution ex, Outcome outcome) {
        try {
            sessions.finishRun(ex.runId, outcome.status().label(), outcome.reason(), ex.steps, ex.totalTokens(), clock.instant());
        } catch (RuntimeException e) {
            log.error("run {}: could not record its end ({})", ex.runId, outcome.status().label(), e);
        }
        if (outcome.status() == RunStatus.FAILED) events.publish(new RunEvent.Error(ex.runId, ex.sessionKey, outcome.reason()));
        events.publish(new RunEvent.StatusChanged(ex.runId, ex.sessionKey, outcome.status(), outcome.reason()));
    }

    // ---- the loop -----------------------------------------------------------------------------------------------

    private Outcome loop(Execution ex) {
        if (ex.stopped()) return ex.stop.get();
        AgentSpec agent = ex.agent;
        List<EntryRow> first = new ArrayList<>(ex.carried);
        if (ex.input != null) first.add(entry(ex.sessionKey, ex.runId, "user", Transcript.user(ex.input), null, null));
        if (!sessions.beginRun(ex.runId, clock.instant(), first)) {
            return new Outcome(RunStatus.CANCELLED, "the run was ended before it began");
        }
        events.publish(new RunEvent.StatusChanged(ex.runId, ex.sessionKey, RunStatus.RUNNING, null));
        Principal principal = ex.parent == null ? chargedTo(principals.apply(agent), ex.startedBy)
                : asAgent(ex.parent.principal, agent.id());
        ex.principal = principal;
        // The system prompt and the tool schemas are the same on every turn, in config order, so the prefix a
        // provider caches (explicitly, by the breakpoint on the system prompt, or automatically) is hit every time.
        Message system = new Message(Role.SYSTEM, List.of(new Part.Text(systemPrompt(agent), true)), List.of(), null, false);
        List<Tool> schemas = schemas(ex.tools, ex.family);
        AgentSpec.Limits limits = agent.limits();
        while (true) {
            if (ex.stopped()) return ex.stop.get();
            if (ex.steps >= limits.maxSteps()) {
                return new Outcome(RunStatus.LIMIT_EXCEEDED, "max_steps: the run made " + ex.steps
                        + " model calls, its limit, and the model still asked for tools");
            }
            if (ex.totalTokens() >= ex.maxTokens) return tokenLimit(ex);
            List<Message> messages = prompt(ex, principal, system, schemas);
            if (ex.stopped()) return ex.stop.get();
            Turn turn = callModel(ex, principal, messages, schemas);
            ex.steps++;
            ex.tokens += turn.usage.inputTokens() + turn.usage.outputTokens();
            if (!turn.text.isEmpty()) ex.lastText = turn.text;
            boolean cut = ex.stopped();
            if (!turn.text.isEmpty() || (!cut && !turn.calls.isEmpty())) {
                append(ex, entry(ex.sessionKey, ex.runId, "assistant",
                        Transcript.assistant(turn.text, cut ? List.of() : turn.calls, turn.finish, cut), turn.model, turn.usage));
            }
            events.publish(new RunEvent.UsageReported(ex.runId, ex.sessionKey, ex.steps, turn.model, turn.usage));
            sessions.progress(ex.runId, ex.steps, ex.totalTokens());
            if (cut) return ex.stop.get();
            if (turn.calls.isEmpty()) return new Outcome(RunStatus.COMPLETED, null);
            if (ex.totalTokens() >= ex.maxTokens) return tokenLimit(ex);
            runTools(ex, turn.calls);
        }
    }

    /**
     * Whom a run's model calls are charged to: the user who started it (issue 14: runs of a team-owned agent were
     * charged to no user, "-" in the spend report), within the agent's owner team, as the agent, with the prefix of
     * the key that started it. A starter without a user (a team key) leaves the owner's user, if any.
     */
    static Principal chargedTo(Principal owner, Principal startedBy) {
        if (startedBy == null) return owner;
        return new Principal(owner.org(), owner.team(), startedBy.user() != null ? startedBy.user() : owner.user(),
                owner.role(), startedBy.keyPrefix(), owner.agent());
    }

    /** A parent's principal, as the child agent {@code agentId}: the same owner, the child's own agent budget. */
    private static Principal asAgent(Principal parent, String agentId) {
        return new Principal(parent.org(), parent.team(), parent.user(), parent.role(), parent.keyPrefix(), agentId);
    }

    private static Outcome tokenLimit(Execution ex) {
        return new Outcome(RunStatus.LIMIT_EXCEEDED, "max_tokens: the run used " + ex.totalTokens() + " tokens, its limit is "
                + ex.maxTokens + (ex.maxTokens < ex.agent.limits().maxTokens() ? " (its share of its parent's budget)" : ""));
    }

    /**
     * The schemas of the agent's tools, in its config's order. A run as deep as its tree may go does not get the
     * sub-agent tools: it could not use them.
     */
    private List<Tool> schemas(List<String> enabled, SubAgents.Family family) {
        boolean canSpawn = family.depth < family.tree.limits.maxDepth();
        return enabled.stream()
                .filter(n -> canSpawn || !(n.equals(AgentSpec.SPAWN_AGENT) || n.equals(AgentSpec.WAIT_AGENTS)))
                .map(tools::get).map(t -> new Tool(t.name(), t.description(), t.parameters())).toList();
    }

    /**
     * The messages of the next model call: the system prompt, then the transcript as the model sees it (from the
     * last summary on). When that would fill more of the model's context window than the agent's compaction
     * threshold allows, older turns are summarized first (see {@link Compactor}).
     */
    private List<Message> prompt(Execution ex, Principal principal, Message system, List<Tool> schemas) {
        List<EntryRow> visible = Compactor.visible(sessions.entries(ex.sessionKey));
        List<Message> messages = assemble(system, visible);
        AgentSpec.Compaction settings = ex.agent.compaction();
        long window = contextWindow(ex.agent.model());
        if (window <= 0) return messages;
        long limit = (long) (window * settings.threshold());
        long estimate = Compactor.estimate(visible, messages, schemas, limit);
        if (estimate <= limit) return messages;
        Compactor.Split split = Compactor.split(visible, settings.keepTurns());
        if (split == null) return messages;   // nothing older than the turns kept verbatim: send as is
        String model = settings.model() != null ? settings.model() : ex.agent.model();
        ChatRequest request = new ChatRequest(model, Compactor.request(split.old()), List.of(), null, null, null, null,
                null, null, false, false, null, null);
        Call call = new Call("agt_" + UUID.randomUUID().toString().replace("-", ""), principal, WireApi.OPENAI, request,
                ex.sessionKey + "#compaction");
        ChatResponse answer;
        try {
            answer = gateway.complete(call);
        } catch (ApiException e) {
            if (ex.stopped()) return messages;
            // A run that cannot be compacted still tries its call: the upstream may yet accept the prompt.
            log.warn("run {}: compaction with {} failed ({}); sending the full conversation", ex.runId, model, e.code());
            return messages;
        }
        Usage usage = answer.usage() == null ? Usage.ZERO : answer.usage();
        ex.tokens += usage.inputTokens() + usage.outputTokens();
        String text = answer.text() == null ? "" : answer.text().strip();
        String content = Transcript.JSON.createObjectNode().put("text", text).put("through", split.through())
                .put("replaced", split.old().size()).put("tokens_before", estimate).toString();
        append(ex, entry(ex.sessionKey, ex.runId, "summary", content, answer.model(), usage));
        events.publish(new RunEvent.Compacted(ex.runId, ex.sessionKey, split.through(), split.old().size(), estimate,
                answer.model(), usage));
        return assemble(system, Compactor.visible(sessions.entries(ex.sessionKey)));
    }

    /**
     * System prompt, then the conversation. The last message carries a cache breakpoint, so a provider with
     * explicit prompt caching also caches the conversation so far for the next turn.
     */
    private static List<Message> assemble(Message system, List<EntryRow> visible) {
        List<Message> messages = new ArrayList<>();
        messages.add(system);
        messages.addAll(Transcript.messages(visible));
        int last = messages.size() - 1;
        Message m = messages.get(last);
        if (last > 0 && (m.role() == Role.USER || m.role() == Role.TOOL) && m.content().size() == 1
                && m.content().get(0) instanceof Part.Text t) {
            messages.set(last, new Message(m.role(), List.of(new Part.Text(t.text(), true)), m.toolCalls(), m.toolCallId(),
                    m.toolError()));
        }
        return messages;
    }

    /** The model's context window in tokens; for a tier, the smallest of its models'. 0 when unknown. */
    private long contextWindow(String model) {
        return smallest(model, ModelSpec::contextWindow);
    }

    /**
     * The output limit of the next call: what the run has left of its token limit, when that is less than the
     * model's own output limit (so one answer cannot run far past the run's limit); else none, the model's default.
     */
    private Integer outputCap(Execution ex, String model) {
        long left = Math.max(1, ex.maxTokens - ex.totalTokens());
        long modelMax = smallest(model, ModelSpec::maxOutputTokens);
        return modelMax > 0 && left < modelMax ? (int) left : null;
    }

    /** For a model id or {@code tier:NAME}, the smallest positive value of {@code field} over its models; 0 if none. */
    private long smallest(String model, java.util.function.ToLongFunction<ModelSpec> field) {
        long min = 0;
        for (var e : gateway.portfolio().models()) {
            boolean match = model.startsWith(dev.carapace.model.Portfolio.TIER_PREFIX)
                    ? e.tier().equals(model.substring(dev.carapace.model.Portfolio.TIER_PREFIX.length()))
                    : e.id().equals(model);
            long v = match ? field.applyAsLong(e.spec()) : 0;
            if (v > 0 && (min == 0 || v < min)) min = v;
        }
        return min;
    }

    /** One model answer: its text, the tool calls it asked for, and what it cost. */
    private record Turn(String text, List<ToolCall> calls, FinishReason finish, String model, Usage usage) {}

    /**
     * Calls the agent's model, then its fallbacks while a model is unavailable or refused before answering anything.
     * A stop (cancel, interrupt, wall-time limit) ends the stream at the next event, or at once through the
     * interrupt when the upstream is silent; what arrived until then is returned.
     */
    private Turn callModel(Execution ex, Principal principal, List<Message> messages, List<Tool> schemas) {
        ApiException last = null;
        for (String model : ex.agent.models()) {
            ChatRequest request = new ChatRequest(model, messages, schemas, schemas.isEmpty() ? null : ToolChoice.AUTO,
                    outputCap(ex, model), null, null, null, null, true, true, null, null);
            Call call = new Call("agt_" + UUID.randomUUID().toString().replace("-", ""), principal, WireApi.OPENAI,
                    request, ex.sessionKey);
            Accumulator acc = new Accumulator(ex);
            try {
                gateway.stream(call, acc);
            } catch (ApiException e) {
                if (ex.stopped()) return acc.turn(call, model);
                if (acc.received || !worthFallback(e)) throw e;
                last = e;
                log.info("run {}: model {} refused or unavailable ({}); trying the next", ex.runId, model, e.code());
                continue;
            }
            return acc.turn(call, model);
        }
        throw last;
    }

    private static boolean worthFallback(ApiException e) {
        return Router.worthFailover(e) || e.kind() == ApiException.Kind.PERMISSION || e.kind() == ApiException.Kind.NOT_FOUND;
    }

    /** Collects a streamed answer and relays its text to the subscribers. */
    private final class Accumulator implements StreamSink {
        private final Execution ex;
        private final StringBuilder text = new StringBuilder();
        private final TreeMap<Integer, String[]> calls = new TreeMap<>();   // index -> {id, name}
        private final Map<Integer, StringBuilder> arguments = new HashMap<>();
        private FinishReason finish;
        boolean received;

        Accumulator(Execution ex) { this.ex = ex; }

        @Override
        public void accept(StreamEvent event) {
            // Throwing here makes the gateway abandon the upstream call as if its client had gone away.
            if (ex.stopped()) throw new RunStopped();
            received = true;
            switch (event) {
                case StreamEvent.TextDelta t -> {
                    text.append(t.text());
                    events.publish(new RunEvent.TextDelta(ex.runId, ex.sessionKey, t.text()));
                }
                case StreamEvent.ToolCallStarted s -> calls.put(s.index(), new String[]{s.id(), s.name()});
                case StreamEvent.ToolCallDelta d -> arguments.computeIfAbsent(d.index(), i -> new StringBuilder()).append(d.argumentsDelta());
                case StreamEvent.Finished f -> finish = f.reason();
                default -> { }
            }
        }

        Turn turn(Call call, String asked) {
            List<ToolCall> list = new ArrayList<>();
            for (var e : calls.entrySet()) {
                String id = e.getValue()[0] == null || e.getValue()[0].isEmpty() ? "call_" + e.getKey() : e.getValue()[0];
                StringBuilder args = arguments.get(e.getKey());
                list.add(new ToolCall(id, e.getValue()[1], args == null || args.isEmpty() ? "{}" : args.toString()));
            }
            String model = call.model() != null ? call.model().id() : asked;
            return new Turn(text.toString(), list, finish, model, call.usage() == null ? Usage.ZERO : call.usage());
        }
    }

    /** Unwinds the gateway's stream when the run is stopped; never seen outside this class. */
    private static final class RunStopped extends RuntimeException {
        RunStopped() { super(null, null, false, false); }
    }

    // ---- tools --------------------------------------------------------------------------------------------------

    /**
     * Runs one turn's tool calls in parallel, each on its own virtual thread with the agent's timeout. Each result is
     * committed the moment it is known; exactly one result is recorded per call. Returns when every call has a
     * result, or at once when the run is stopped (unfinished calls are then interrupted and recorded as cancelled).
     */
    private void runTools(Execution ex, List<ToolCall> calls) {
        AgentSpec agent = ex.agent;
        ToolContext context = new ToolContext(agent.id(), ex.sessionKey, agent.workspace(),
                agent.limits().toolTimeout(), agent.limits().maxToolOutputBytes(), guard.files(agent.id(), ex.sessionKey),
                guard.urls(agent.id(), ex.sessionKey));
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<?>> futures = new ArrayList<>(calls.size());
        List<AtomicBoolean> settled = new ArrayList<>(calls.size());
        List<Prepared> prepared = new ArrayList<>(calls.size());
        for (ToolCall call : calls) {
            events.publish(new RunEvent.ToolStarted(ex.runId, ex.sessionKey, call.id(), call.name(), call.arguments()));
            prepared.add(prepare(ex, call));
        }
        // Calls waiting for an operator are decided before any call of the turn runs (their wait is not tool time).
        settleApprovals(ex, calls, prepared);
        try {
            for (int c = 0; c < calls.size(); c++) {
                ToolCall call = calls.get(c);
                AtomicBoolean once = new AtomicBoolean();
                settled.add(once);
                Prepared p = prepared.get(c);
                if (ex.stopped()) {
                    futures.add(null);   // recorded as cancelled below
                } else if (p.refusal != null) {
                    once.set(true);
                    record(ex, call, p.refusal);
                    futures.add(null);
                } else {
                    ToolContext forCall = context.forCall(p.target);
                    futures.add(pool.submit(() -> {
                        ToolResult r = p.tool == SubAgents.SPAWN || p.tool == SubAgents.WAIT
                                ? subAgentCall(ex, p.tool, p.arguments, forCall)
                                : invoke(p.tool, p.arguments, forCall);
                        // An interrupt that came as the tool finished must not fail the store write of its result.
                        Thread.interrupted();
                        if (once.compareAndSet(false, true)) record(ex, call, r);
                    }));
                }
            }
            long deadline = System.nanoTime() + agent.limits().toolTimeout().toNanos();
            for (int i = 0; i < calls.size(); i++) {
                Future<?> f = futures.get(i);
                if (f == null) continue;
                try {
                    f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    // settled first, then interrupted: the tool's own (interrupted) result must not win the race
                    if (settled.get(i).compareAndSet(false, true)) {
                        record(ex, calls.get(i), ToolResult.error(json("timeout", "the tool did not finish within "
                                + describe(agent.limits().toolTimeout()) + " and was stopped")));
                    }
                    f.cancel(true);
                } catch (ExecutionException e) {
                    log.error("run {}: tool {} task failed", ex.runId, calls.get(i).name(), e.getCause());
                    if (settled.get(i).compareAndSet(false, true)) {
                        record(ex, calls.get(i), ToolResult.error(json("tool_failed", "the tool failed unexpectedly")));
                    }
                } catch (InterruptedException e) {
                    break;   // the run was stopped
                }
            }
        } finally {
            pool.shutdownNow();   // interrupts calls still running; never waits for a tool that ignores interrupts
        }
        if (ex.stopped()) {
            Thread.interrupted();
            for (int i = 0; i < calls.size(); i++) {
                if (settled.get(i).compareAndSet(false, true)) {
                    record(ex, calls.get(i), ToolResult.error(json("cancelled", "the run was stopped ("
                            + ex.stop.get().status().label() + ") before this tool call finished")));
                }
            }
        }
    }

    /**
     * A call ready to run, or the result that refuses it, or (with {@code ask}) one that waits for an operator; and
     * {@code target}, what the guard's decision named (a file tool's real path): asking rules on it are
     * satisfied for this call, since the decision (with an operator, if it asked) was about exactly that path.
     */
    private record Prepared(AgentTool tool, JsonNode arguments, ToolResult refusal, Guard.Decision ask, String target) {
        Prepared(AgentTool tool, JsonNode arguments, ToolResult refusal) { this(tool, arguments, refusal, null, null); }
    }

    /**
     * Asks an operator about every call the guard answered {@code ask}, all at once, and waits for the answers: an
     * approved call becomes ready to run, any other answer a refusal. A stop interrupts the waits (the approvals are
     * withdrawn) and leaves the calls to be recorded as cancelled.
     */
    private void settleApprovals(Execution ex, List<ToolCall> calls, List<Prepared> prepared) {
        List<Integer> asking = new ArrayList<>();
        for (int i = 0; i < prepared.size(); i++) if (prepared.get(i).ask != null) asking.add(i);
        if (asking.isEmpty()) return;
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        Map<Integer, Future<Approvals.Outcome>> waits = new LinkedHashMap<>();
        try {
            for (int i : asking) {
                ToolCall call = calls.get(i);
                Guard.Decision d = prepared.get(i).ask;
                Approvals.Request request = new Approvals.Request(ex.agent.id(), ex.sessionKey, ex.runId, call.id(),
                        call.name(), d);
                waits.put(i, pool.submit(() -> approvals.await(request, pending -> events.publish(
                        new RunEvent.ApprovalRequested(ex.runId, ex.sessionKey, pending.id(), call.id(), call.name(),
                                d.layer(), d.target(), d.rule(), d.reason(), pending.expiresAt())))));
            }
            for (var w : waits.entrySet()) {
                int i = w.getKey();
                ToolCall call = calls.get(i);
                Prepared p = prepared.get(i);
                Approvals.Outcome o;
                try {
                    o = w.getValue().get();
                } catch (ExecutionException e) {
                    log.error("run {}: approval for {} failed", ex.runId, call.name(), e.getCause());
                    prepared.set(i, new Prepared(null, null, ToolResult.error(refusal(call, p.ask, "denied",
                            "the approval could not be requested; the call is refused").toString())));
                    continue;
                }
                events.publish(new RunEvent.ApprovalResolved(ex.runId, ex.sessionKey, o.id(), call.id(), call.name(),
                        o.status(), o.decidedBy(), o.reason()));
                if (o.approved()) {
                    prepared.set(i, new Prepared(p.tool, p.arguments, null, null, p.target));
                } else {
                    String why = "expired".equals(o.status())
                            ? (o.reason() == null ? "approval timed out" : o.reason())
                            : "rejected by " + o.decidedBy() + (o.reason() == null || o.reason().isBlank() ? "" : ": " + o.reason());
                    prepared.set(i, new Prepared(null, null, ToolResult.error(refusal(call, p.ask, "denied", why)
                            .put("approval", o.id()).put("approval_status", o.status()).toString())));
                }
            }
        } catch (InterruptedException e) {
            // The run was stopped: runTools records every call as cancelled.
        } finally {
            pool.shutdownNow();   // interrupts waits still open, which withdraws their approvals
        }
    }

    /** The structured refusal the model gets: what was refused, by which layer and rule, and what could allow it. */
    private static com.fasterxml.jackson.databind.node.ObjectNode refusal(ToolCall call, Guard.Decision d, String error,
                                                                          String reason) {
        var r = Transcript.JSON.createObjectNode().put("error", error).put("tool", call.name()).put("reason", reason)
                .put("rule", d == null ? null : d.rule()).put("layer", d == null ? "tool" : d.layer());
        if (d != null && d.target() != null) r.put("target", d.target());
        if (d != null && d.remedy() != null) r.put("remedy", d.remedy());
        return r;
    }

    private Prepared prepare(Execution ex, ToolCall call) {
        JsonNode args;
        try {
            args = Transcript.JSON.readTree(call.arguments() == null || call.arguments().isBlank() ? "{}" : call.arguments());
        } catch (JsonProcessingException e) {
            return new Prepared(null, null, ToolResult.error(json("invalid_arguments",
                    "the arguments are not valid JSON (" + e.getOriginalMessage() + "); send a JSON object")));
        }
        // A root run's tools are its agent's, which the guard knows; a sub-agent's may be fewer (see SpawnRule).
        Guard.Decision d = ex.parent == null || ex.tools.contains(call.name()) ? decide(ex, call, args)
                : Guard.Decision.deny("tool '" + Agents.clip(call.name()) + "' is not available to this sub-agent (its "
                + "tools: " + (ex.tools.isEmpty() ? "none" : String.join(", ", ex.tools)) + "): a sub-agent gets only "
                + "the tools its parent run has", "agent.spawn.tools");
        boolean ask = d != null && d.verdict() == Guard.Decision.Verdict.ASK;
        if (d == null || (d.verdict() != Guard.Decision.Verdict.ALLOW && !(ask && approvals != null))) {
            // Without an approval queue, "ask" is a denial the model is told needs a human.
            String reason = ask ? "needs approval" + (d.reason() == null ? "" : ": " + d.reason())
                    : d == null || d.reason() == null ? "denied by policy" : d.reason();
            return new Prepared(null, null, ToolResult.error(refusal(call, d, ask ? "needs_approval" : "denied", reason)
                    .toString()));
        }
        AgentTool tool = tools.get(call.name());
        if (tool == null) {
            return new Prepared(null, null, ToolResult.error(json("unknown_tool", "there is no tool '"
                    + Agents.clip(call.name()) + "'")));
        }
        return new Prepared(tool, args, null, ask ? d : null, d.target());
    }

    /**
     * The guard's decision for this run's agent and, for a sub-agent, for every ancestor's agent as well: a child
     * acts under its own policy and never beyond its parent's. A denial anywhere denies; else an ask anywhere asks.
     */
    private Guard.Decision decide(Execution ex, ToolCall call, JsonNode args) {
        Guard.Decision own = null;
        Guard.Decision asked = null;
        for (Execution e = ex; e != null; e = e.parent) {
            Guard.Decision d;
            try {
                d = guard.decide(e.agent.id(), ex.sessionKey, call.name(), args);
            } catch (RuntimeException failure) {
                log.error("run {}: guard failed on {}", ex.runId, call.name(), failure);
                return Guard.Decision.deny("the guard could not decide", "guard.error");
            }
            if (d == null) return null;
            if (e == ex) own = d;
            if (d.verdict() == Guard.Decision.Verdict.DENY) {
                return e == ex ? d : new Guard.Decision(d.verdict(), "denied for agent '" + e.agent.id() + "', which "
                        + "started this sub-agent: " + d.reason(), d.rule(), d.layer(), d.target(), d.remedy());
            }
            if (d.verdict() == Guard.Decision.Verdict.ASK && asked == null) asked = d;
        }
        return asked != null ? asked : own;
    }

    /**
     * spawn_agent and wait_agents wait at most until shortly before the tool timeout, then report what is still
     * running: the model may wait again, and the children are not lost to a timeout.
     */
    private ToolResult subAgentCall(Execution ex, AgentTool tool, JsonNode args, ToolContext context) {
        Duration patience = context.timeout().minus(context.timeout().dividedBy(10)).minusMillis(50);
        if (patience.isNegative()) patience = Duration.ZERO;
        try {
            ToolResult r = tool == SubAgents.SPAWN ? subAgents.spawn(ex, args, patience) : subAgents.await(ex, args, patience);
            return cap(r, context.maxOutputBytes());
        } catch (InterruptedException e) {
            return ToolResult.error(json("cancelled", "the tool call was stopped"));
        }
    }

    private ToolResult invoke(AgentTool tool, JsonNode args, ToolContext context) {
        ToolResult r;
        try {
            r = tool.run(args, context);
        } catch (InterruptedException e) {
            return ToolResult.error(json("cancelled", "the tool call was stopped"));
        } catch (RuntimeException e) {
            // The exception's text may hold paths or data the model must not see; the log has it.
            log.error("tool {} failed", tool.name(), e);
            return ToolResult.error(json("tool_failed", "the tool failed unexpectedly (" + e.getClass().getSimpleName() + ")"));
        }
        if (r == null) return ToolResult.error(json("tool_failed", "the tool returned nothing"));
        return cap(r, context.maxOutputBytes());
    }

    /** Holds a result to the byte cap even when a tool does not. */
    static ToolResult cap(ToolResult r, int maxBytes) {
        String c = r.content() == null ? "" : r.content();
        byte[] bytes = c.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= maxBytes) return r;
        int keep = Math.max(0, maxBytes - 64);
        while (keep > 0 && (bytes[keep] & 0xC0) == 0x80) keep--;
        String cut = new String(bytes, 0, keep, StandardCharsets.UTF_8) + "\n[truncated: " + (bytes.length - keep) + " more bytes]";
        return new ToolResult(cut, r.error());
    }

    private void record(Execution ex, ToolCall call, ToolResult result) {
        append(ex, entry(ex.sessionKey, ex.runId, "tool", Transcript.tool(call.id(), call.name(), result), null, null));
        ResultExcerpt shown = ResultExcerpt.of(result.content());
        events.publish(new RunEvent.ToolFinished(ex.runId, ex.sessionKey, call.id(), call.name(), !result.error(),
                shown.text(), shown.moreLines(), shown.moreChars()));
    }

    /** Appends to the transcript; one writer per session at a time, so seq numbers never collide. */
    private void append(Execution ex, EntryRow e) {
        synchronized (ex) {
            sessions.append(e);
        }
    }

    private static String json(String error, String reason) {
        return Transcript.JSON.createObjectNode().put("error", error).put("reason", reason).toString();
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /** A short preamble, then the agent's own instructions. Kept stable across turns so prompt caches hit. */
    static String systemPrompt(AgentSpec agent) {
        String preamble = "You are the agent '" + agent.id() + "', running in Carapace. File paths are relative to your "
                + "workspace. Tool results that are JSON with an \"error\" field are failures or denials: adapt instead "
                + "of repeating the same call. When done, answer in plain text without calling tools.";
        Path file = agent.workspace().resolve(INSTRUCTIONS_FILE);
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) return preamble;
        try (var in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            byte[] bytes = in.readNBytes(MAX_INSTRUCTIONS_BYTES + 1);
            boolean cut = bytes.length > MAX_INSTRUCTIONS_BYTES;
            String text = new String(bytes, 0, Math.min(bytes.length, MAX_INSTRUCTIONS_BYTES), StandardCharsets.UTF_8);
            return preamble + "\n\n" + text.strip() + (cut ? "\n[" + INSTRUCTIONS_FILE + " truncated]" : "");
        } catch (IOException e) {
            log.warn("agent {}: cannot read {}: {}", agent.id(), INSTRUCTIONS_FILE, e.getClass().getSimpleName());
            return preamble;
        }
    }

    private EntryRow entry(String sessionKey, String runId, String role, String content, String model, Usage usage) {
        return new EntryRow(sessionKey, 0, runId, role, content, model,
                usage == null ? null : usage.inputTokens(), usage == null ? null : usage.outputTokens(),
                usage == null ? null : usage.cachedInputTokens(), clock.instant());
    }

    private static RunInfo info(RunRow r) {
        return new RunInfo(r.id(), r.sessionKey(), r.agent(), r.parentRunId(), RunStatus.of(r.status()), r.reason(),
                r.steps(), r.tokens(), r.createdAt(), r.startedAt(), r.endedAt());
    }

    private static ApiException sessionNotFound(String key) {
        return new ApiException(ApiException.Kind.NOT_FOUND, "No session '" + Agents.clip(key) + "'.", "session",
                "session_not_found", null, false);
    }

    /**
     * A sub-agent's session holds what its parent run told it and ran with what that run allowed: continued on its
     * own, as a run no run started, it would get its agent's full tools on instructions a parent (perhaps another
     * agent's) wrote. So it is continued only through its parent.
     */
    private static ApiException subAgentSession(String key, String parentRunId) {
        return ApiException.invalid("session", "session '" + Agents.clip(key) + "' belongs to a sub-agent started by run "
                + parentRunId + "; it cannot be continued on its own: message or resume the parent's session, or use "
                + "another session name");
    }

    private static ApiException closedError() {
        return ApiException.of(ApiException.Kind.UNAVAILABLE, "agent_runtime_closed", "the agent runtime is shutting down");
    }

    static String describe(Duration d) {
        if (d.toMillis() % 60_000 == 0 && d.toMinutes() > 0) return d.toMinutes() + "m";
        if (d.toMillis() % 1000 == 0) return d.toSeconds() + "s";
        return d.toMillis() + "ms";
    }
}
