package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.ToolCall;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

/**
 * Runs one turn's tool calls: each admitted by the {@link ToolAdmission} first, then all in parallel, each on its
 * own virtual thread with the agent's timeout and output cap, the sub-agent tools through {@link SubAgents}. Each
 * result is committed to the transcript the moment it is known, exactly one per call.
 */
final class ToolRunner {

    private static final Logger log = LoggerFactory.getLogger(ToolRunner.class);

    private final ToolAdmission admission;
    private final Guard guard;
    private final SubAgents subAgents;
    private final RunJournal journal;
    private final RunEvents events;

    ToolRunner(ToolAdmission admission, Guard guard, SubAgents subAgents, RunJournal journal, RunEvents events) {
        this.admission = admission;
        this.guard = guard;
        this.subAgents = subAgents;
        this.journal = journal;
        this.events = events;
    }

    /**
     * Returns when every call has a result, or at once when the run is stopped (unfinished calls are then
     * interrupted and recorded as cancelled).
     */
    void run(Execution ex, List<ToolCall> calls) {
        run(ex, calls, (call, result) -> journal.append(ex, "tool", Transcript.tool(call.id(), call.name(), result), null, null));
    }

    /**
     * As {@link #run(Execution, List)}, each result handed to {@code keep} instead of the transcript (the memory
     * flush keeps its calls' results in its own entry, out of the conversation). Live events are published either way.
     */
    void run(Execution ex, List<ToolCall> calls, BiConsumer<ToolCall, ToolResult> keep) {
        AgentSpec agent = ex.agent;
        Following following = ex.following();
        ToolContext context = new ToolContext(agent.id(), ex.sessionKey, agent.workspace(),
                agent.limits().toolTimeout(), agent.limits().maxToolOutputBytes(), guard.files(agent.id(), ex.sessionKey),
                guard.urls(agent.id(), ex.sessionKey, following), following, ex.principal);
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<?>> futures = new ArrayList<>(calls.size());
        List<AtomicBoolean> settled = new ArrayList<>(calls.size());
        List<ToolAdmission.Admitted> admitted = new ArrayList<>(calls.size());
        for (ToolCall call : calls) {
            events.publish(new RunEvent.ToolStarted(ex.runId, ex.sessionKey, call.id(), call.name(), call.arguments()));
            admitted.add(admission.admit(ex, call));
        }
        // Calls waiting for an operator are decided before any call of the turn runs (their wait is not tool time).
        admission.settleApprovals(ex, calls, admitted);
        try {
            for (int c = 0; c < calls.size(); c++) {
                ToolCall call = calls.get(c);
                AtomicBoolean once = new AtomicBoolean();
                settled.add(once);
                ToolAdmission.Admitted p = admitted.get(c);
                if (ex.stopped()) {
                    futures.add(null);   // recorded as cancelled below
                } else if (p.refusal() != null) {
                    once.set(true);
                    record(ex, call, p.refusal(), keep);
                    futures.add(null);
                } else {
                    ToolContext forCall = context.forCall(p.target());
                    futures.add(pool.submit(() -> {
                        ToolResult r = p.tool() == SubAgents.SPAWN || p.tool() == SubAgents.WAIT
                                ? subAgentCall(ex, p.tool(), p.arguments(), forCall)
                                : invoke(p.tool(), p.arguments(), forCall);
                        // An interrupt that came as the tool finished must not fail the store write of its result.
                        Thread.interrupted();
                        if (once.compareAndSet(false, true)) {
                            // followed exactly when the transcript says the model got the skill (see Transcript.skillsRead)
                            if (!r.error() && Following.SKILL_TOOL.equals(call.name())) follow(ex, p.arguments());
                            record(ex, call, r, keep);
                        }
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
                        record(ex, calls.get(i), ToolResult.error(Transcript.error("timeout", "the tool did not finish "
                                + "within " + RunLifecycle.describe(agent.limits().toolTimeout()) + " and was stopped")), keep);
                    }
                    f.cancel(true);
                } catch (ExecutionException e) {
                    log.error("run {}: tool {} task failed", ex.runId, calls.get(i).name(), e.getCause());
                    if (settled.get(i).compareAndSet(false, true)) {
                        record(ex, calls.get(i), ToolResult.error(Transcript.error("tool_failed",
                                "the tool failed unexpectedly")), keep);
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
                    record(ex, calls.get(i), ToolResult.error(Transcript.error("cancelled", "the run was stopped ("
                            + ex.stop.get().status().label() + ") before this tool call finished")), keep);
                }
            }
        }
    }

    /**
     * The run follows the skill a successful {@value Following#SKILL_TOOL} call loaded, from its next turn on: the
     * name as the model wrote it (the guard resolves it, and refuses what it cannot resolve).
     */
    private static void follow(Execution ex, JsonNode arguments) {
        String name = Following.loaded(arguments);
        if (name != null) ex.skills.add(name);
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
            return ToolResult.error(Transcript.error("cancelled", "the tool call was stopped"));
        }
    }

    private static ToolResult invoke(AgentTool tool, JsonNode args, ToolContext context) {
        ToolResult r;
        try {
            r = tool.run(args, context);
        } catch (InterruptedException e) {
            return ToolResult.error(Transcript.error("cancelled", "the tool call was stopped"));
        } catch (RuntimeException e) {
            // The exception's text may hold paths or data the model must not see; the log has it.
            log.error("tool {} failed", tool.name(), e);
            return ToolResult.error(Transcript.error("tool_failed", "the tool failed unexpectedly ("
                    + e.getClass().getSimpleName() + ")"));
        }
        if (r == null) return ToolResult.error(Transcript.error("tool_failed", "the tool returned nothing"));
        return cap(r, context.maxOutputBytes());
    }

    /** Holds a result to the byte cap even when a tool does not. */
    private static ToolResult cap(ToolResult r, int maxBytes) {
        String c = r.content() == null ? "" : r.content();
        byte[] bytes = c.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= maxBytes) return r;
        int keep = Math.max(0, maxBytes - 64);
        while (keep > 0 && (bytes[keep] & 0xC0) == 0x80) keep--;
        String cut = new String(bytes, 0, keep, StandardCharsets.UTF_8) + "\n[truncated: " + (bytes.length - keep) + " more bytes]";
        return new ToolResult(cut, r.error());
    }

    private void record(Execution ex, ToolCall call, ToolResult result, BiConsumer<ToolCall, ToolResult> keep) {
        keep.accept(call, result);
        ResultExcerpt shown = ResultExcerpt.of(result.content());
        events.publish(new RunEvent.ToolFinished(ex.runId, ex.sessionKey, call.id(), call.name(), !result.error(),
                shown.text(), shown.moreLines(), shown.moreChars()));
    }
}
