package dev.carapace.agent;

import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.regex.Pattern;

import static dev.carapace.text.Excerpt.clip;

/**
 * The life of a run from accepted to ended: it is stored before its id is handed out, waits in its session's lane
 * (one run per session at a time; a newer message queues behind it or interrupts it, as the agent's on_busy says),
 * runs on a virtual thread of its own under its wall-time limit, and ends exactly once (completed, failed, cancelled,
 * interrupted, limit_exceeded), taking the sub-agents it left running with it; then the lane's next run begins.
 *
 * <p>Ownership: this runtime (one per gateway process) owns the runs it executes and heart-beats for them; runs a
 * stopped gateway left queued or running are marked {@code interrupted}, and {@link #resume} continues their session
 * from its transcript. What a run does while it runs is the {@code body}'s ({@link TurnLoop}).
 */
final class RunLifecycle {

    private static final Logger log = LoggerFactory.getLogger(RunLifecycle.class);

    static final Pattern SESSION_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Pattern JOB_RUN = Pattern.compile("job:[A-Za-z0-9][A-Za-z0-9._-]{0,127}:[0-9]{1,12}");

    private final SessionStore store;
    private final RunJournal journal;
    private final RunEvents events;
    private final Clock clock;
    private final Function<Execution, Execution.Outcome> body;
    private final ScheduledThreadPoolExecutor timers;
    private final Object laneLock = new Object();
    private final Map<String, Lane> lanes = new HashMap<>();
    private final Map<String, Execution> executions = new ConcurrentHashMap<>();
    /** This runtime (one per gateway process) as the owner of the runs it executes. */
    private final String instance = UUID.randomUUID().toString();
    private volatile boolean closed;

    /** The runs of one session: the one executing, and those waiting their turn. */
    private static final class Lane {
        Execution active;
        final ArrayDeque<Execution> waiting = new ArrayDeque<>();
    }

    /** @param body what a run does on its thread; returns how it ended */
    RunLifecycle(SessionStore store, RunJournal journal, RunEvents events, Clock clock,
                 Function<Execution, Execution.Outcome> body) {
        this.store = store;
        this.journal = journal;
        this.events = events;
        this.clock = clock;
        this.body = body;
        this.timers = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon().name("agent-timers").unstarted(r));
        timers.setRemoveOnCancelPolicy(true);
    }

    // ---- ownership ----------------------------------------------------------------------------------------------

    /** Marks interrupted the runs a stopped gateway left queued or running. */
    void reapOrphans() {
        int cut = store.interruptOrphans(instance,
                "the gateway stopped while this run was queued or running; resume the session to continue", clock.instant());
        if (cut > 0) log.info("{} agent run(s) cut off by a stopped gateway marked interrupted", cut);
    }

    /** Keeps this runtime's queued and running runs from being taken for orphans by other gateways. */
    void heartbeat() { store.heartbeat(instance, clock.instant()); }

    // ---- accept, resume, cancel ---------------------------------------------------------------------------------

    /** A message for {@code agent}'s session {@code sessionName}: checked, stored, queued; returns the run's id. */
    String accept(AgentSpec agent, String sessionName, String message, Principal startedBy, RunOptions options) {
        // A job's fresh session per run, job:ID:RUN, is a name no client can send: nothing else can write to it.
        boolean jobSession = options.job() != null && sessionName != null
                && sessionName.startsWith("job:" + options.job() + ":") && JOB_RUN.matcher(sessionName).matches();
        if (!jobSession && (sessionName == null || !SESSION_NAME.matcher(sessionName).matches())) {
            throw ApiException.invalid("session", "session: expected a name of letters, digits, '.', '_' and '-', "
                    + "starting with a letter or digit, at most 128 characters; got '" + clip(sessionName, 60) + "'");
        }
        if (AgentRuntime.channelSession(sessionName) && options.via() == null) {
            throw new ApiException(ApiException.Kind.PERMISSION, "session: '" + clip(sessionName, 60) + "' is a channel's "
                    + "conversation (names starting with '" + AgentRuntime.CHANNEL_SESSION_PREFIX + "'); only its channel "
                    + "writes to it: use another session name", "session", "permission_denied", null, false);
        }
        if (message == null || message.isBlank()) throw ApiException.invalid("message", "message: must not be empty");
        if (message.length() > AgentRuntime.MAX_MESSAGE_CHARS) {
            throw ApiException.invalid("message", "message: at most " + AgentRuntime.MAX_MESSAGE_CHARS
                    + " characters; got " + message.length());
        }
        String key = agent.sessionKey(sessionName);
        String parent = store.startedBy(key).orElse(null);
        if (parent != null) throw subAgentSession(key, parent);
        AgentSpec bounded = options.limits() == null ? agent : agent.withLimits(agent.limits().tightest(options.limits()));
        if (options.model() != null) bounded = bounded.withModel(options.model());
        Execution ex = submit(bounded, toolsFor(agent, options.tools()), key, message,
                Transcript.sender(startedBy, options.via()), List.of(), null, null, bounded.limits().maxTokens(), null,
                startedBy, options.job(), options.images());
        return ex.runId;
    }

    /** The tools a run may use: the agent's, or the named ones of them, in the agent's order. */
    private static List<String> toolsFor(AgentSpec agent, List<String> named) {
        List<String> all = agent.enabledTools();
        if (named == null) return all;
        for (String t : named) {
            if (!all.contains(t)) {
                throw ApiException.invalid("tools", "tools: the agent '" + agent.id() + "' has no tool '" + clip(t, 60)
                        + "' (its tools: " + (all.isEmpty() ? "none" : String.join(", ", all)) + ")");
            }
        }
        return all.stream().filter(t -> named.contains(t)
                || t.equals(AgentSpec.WAIT_AGENTS) && named.contains(AgentSpec.SPAWN_AGENT)).toList();
    }

    /**
     * Continues {@code agent}'s session whose last run was interrupted. Messages that were accepted but whose runs
     * never began are added to the transcript first, in order. Returns the new run's id.
     */
    String resume(AgentSpec agent, String sessionKey, Principal startedBy) {
        synchronized (laneLock) {
            if (lanes.containsKey(sessionKey)) {
                throw ApiException.invalid("session", "session '" + sessionKey + "' has a run in progress; nothing to resume");
            }
        }
        List<SessionStore.Run> runs = store.runs(sessionKey);
        if (!runs.isEmpty() && runs.get(0).parentRunId() != null) throw subAgentSession(sessionKey, runs.get(0).parentRunId());
        SessionStore.Run last = runs.isEmpty() ? null : runs.get(runs.size() - 1);
        if (last == null || last.status() != RunStatus.INTERRUPTED) {
            throw ApiException.invalid("session", "session '" + sessionKey + "' has no interrupted run to resume"
                    + (last == null ? "" : " (its last run is " + last.status().label() + ")"));
        }
        Set<String> begun = new HashSet<>();
        for (SessionStore.Entry e : store.entries(sessionKey)) if (e.runId() != null) begun.add(e.runId());
        List<SessionStore.Entry> carried = new ArrayList<>();
        for (SessionStore.Run r : runs) {
            if (r.status() == RunStatus.INTERRUPTED && r.input() != null && !begun.contains(r.id())) {
                carried.add(journal.entry(sessionKey, r.id(), "user", Transcript.user(r.input(), r.sender()), null, null));
            }
        }
        return submit(agent, agent.enabledTools(), sessionKey, null, null, carried, null, null,
                agent.limits().maxTokens(), null, startedBy, null, List.of()).runId;
    }

    /** See {@link AgentRuntime#requester}. */
    Optional<Principal> requester(String sessionKey) {
        Execution ex;
        synchronized (laneLock) {
            Lane lane = lanes.get(sessionKey);
            ex = lane == null ? null : lane.active;
        }
        return Optional.ofNullable(ex == null ? null : ex.requester());
    }

    /** Starts a sub-agent's run for {@code parent}: its own session, tools, family and budget. */
    Execution startChild(Execution parent, AgentSpec agent, List<String> tools, String sessionKey, String task,
                         long maxTokens, SubAgents.Family family, SubAgents.Result result) {
        return submit(agent, tools, sessionKey, task, null, List.of(), parent.runId, family, maxTokens, result, null,
                null, List.of());
    }

    /** See {@link AgentRuntime#cancel}. */
    boolean cancel(String runId) {
        Execution ex = executions.get(runId);
        if (ex == null) {
            run(runId);   // 404 when unknown
            return false;
        }
        return stop(ex, RunStatus.CANCELLED, "cancelled");
    }

    /** The run as stored. @throws ApiException unknown run (404) */
    RunInfo run(String runId) {
        return store.run(runId).map(RunLifecycle::info).orElseThrow(() -> new ApiException(ApiException.Kind.NOT_FOUND,
                "No run '" + clip(runId, 60) + "'.", "run", "run_not_found", null, false));
    }

    /** The session's runs, oldest first. */
    List<RunInfo> runs(String sessionKey) {
        return store.runs(sessionKey).stream().map(RunLifecycle::info).toList();
    }

    /** Waits until the run has ended or {@code timeout} passed, and returns it as stored then. */
    RunInfo await(String runId, Duration timeout) throws InterruptedException {
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

    /** See {@link AgentRuntime#close}. */
    void close() {
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
    }

    // ---- the lanes ----------------------------------------------------------------------------------------------

    private Execution submit(AgentSpec agent, List<String> tools, String sessionKey, String input, String sender,
                             List<SessionStore.Entry> carried, String parentRunId, SubAgents.Family family,
                             long maxTokens, SubAgents.Result result, Principal startedBy, String job,
                             List<dev.carapace.model.Part.Image> images) {
        if (closed) throw closedError();
        Execution parent = parentRunId == null ? null : executions.get(parentRunId);
        if (parentRunId != null && parent == null) throw closedError();
        String runId = "run_" + UUID.randomUUID().toString().replace("-", "");
        Instant now = clock.instant();
        store.acceptRun(new SessionStore.Session(sessionKey, agent.id(), now), new SessionStore.Run(runId, sessionKey,
                agent.id(), parentRunId, RunStatus.QUEUED, null, input, sender, 0, 0, now, null, null), instance);
        Execution ex = new Execution(runId, agent, tools, sessionKey, input, sender, carried,
                family != null ? family : SubAgents.Family.root(agent), maxTokens, parent, result, startedBy, job, images);
        Execution interrupt = null;
        boolean launch;
        synchronized (laneLock) {
            if (closed) {
                store.finishRun(runId, RunStatus.INTERRUPTED, "the gateway is shutting down", 0, 0, now);
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
            if (!ex.stop.compareAndSet(null, new Execution.Outcome(status, reason))) return false;
            Lane lane = lanes.get(ex.sessionKey);
            dequeued = lane != null && lane.waiting.remove(ex);
        }
        stopChildren(ex, status);
        if (dequeued) {
            // Never started: nothing to interrupt.
            end(ex, new Execution.Outcome(status, reason));
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
            ex.result.skills.addAll(ex.skills);
            ex.result.text = ex.lastText;
            ex.result.tokens.set(total);
        }
        ex.parent.childTokens.addAndGet(total);
        SubAgents.Family pf = ex.parent.family;
        synchronized (pf) {
            for (SubAgents.Child c : pf.children) if (c.runId().equals(ex.runId)) pf.reserved -= c.slice();
        }
    }

    /** A run on its own thread: the body under the wall-time limit, then its end, then its lane's next run. */
    private void execute(Execution ex) {
        Execution.Outcome outcome;
        ScheduledFuture<?> wall = timers.schedule(() -> stop(ex, RunStatus.LIMIT_EXCEEDED,
                "max_wall: the run took longer than " + describe(ex.agent.limits().maxWall())),
                ex.agent.limits().maxWall().toNanos(), TimeUnit.NANOSECONDS);
        try {
            outcome = body.apply(ex);
        } catch (ApiException e) {
            outcome = ex.stopped() ? ex.stop.get() : new Execution.Outcome(RunStatus.FAILED, "model call failed: " + e.getMessage());
        } catch (RuntimeException | Error e) {
            if (ex.stopped()) {
                outcome = ex.stop.get();
            } else {
                log.error("run {} failed", ex.runId, e);
                outcome = new Execution.Outcome(RunStatus.FAILED, "internal error (" + e.getClass().getSimpleName()
                        + "); see the gateway log");
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
                if (next != null && closed) {
                    next.stop.compareAndSet(null, new Execution.Outcome(RunStatus.INTERRUPTED, "the gateway shut down"));
                }
            }
            ended(ex);
            ex.done.complete(outcome.status());
            if (next != null) launch(next);
        }
    }

    /** Records how a run ended and tells the subscribers. */
    private void end(Execution ex, Execution.Outcome outcome) {
        try {
            store.finishRun(ex.runId, outcome.status(), outcome.reason(), ex.steps, ex.totalTokens(), clock.instant());
        } catch (RuntimeException e) {
            log.error("run {}: could not record its end ({})", ex.runId, outcome.status().label(), e);
        }
        if (outcome.status() == RunStatus.FAILED) events.publish(new RunEvent.Error(ex.runId, ex.sessionKey, outcome.reason()));
        events.publish(new RunEvent.StatusChanged(ex.runId, ex.sessionKey, outcome.status(), outcome.reason()));
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static RunInfo info(SessionStore.Run r) {
        return new RunInfo(r.id(), r.sessionKey(), r.agent(), r.parentRunId(), r.status(), r.reason(),
                r.steps(), r.tokens(), r.createdAt(), r.startedAt(), r.endedAt());
    }

    static ApiException sessionNotFound(String key) {
        return new ApiException(ApiException.Kind.NOT_FOUND, "No session '" + clip(key, 60) + "'.", "session",
                "session_not_found", null, false);
    }

    /**
     * A sub-agent's session holds what its parent run told it and ran with what that run allowed: continued on its
     * own, as a run no run started, it would get its agent's full tools on instructions a parent (perhaps another
     * agent's) wrote. So it is continued only through its parent.
     */
    private static ApiException subAgentSession(String key, String parentRunId) {
        return ApiException.invalid("session", "session '" + clip(key, 60) + "' belongs to a sub-agent started by run "
                + parentRunId + "; it cannot be continued on its own: message or resume the parent's session, or use "
                + "another session name");
    }

    private static ApiException closedError() {
        return ApiException.of(ApiException.Kind.UNAVAILABLE, "agent_runtime_closed", "the agent runtime is shutting down");
    }

    /** A limit as the config writes it: 10m, 60s, 250ms. */
    static String describe(Duration d) {
        if (d.toMillis() % 60_000 == 0 && d.toMinutes() > 0) return d.toMinutes() + "m";
        if (d.toMillis() % 1000 == 0) return d.toSeconds() + "s";
        return d.toMillis() + "ms";
    }
}
