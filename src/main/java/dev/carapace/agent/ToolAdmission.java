package dev.carapace.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ToolCall;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.carapace.text.Excerpt.clip;

/**
 * Whether each tool call of a turn may run: its arguments parsed, the {@link Guard} asked for the run's agent and
 * every ancestor's, a call the guard answers {@code ask} put to an operator through the {@link Approvals}, and a
 * refused call turned into the structured result the model gets (what was refused, by which layer and rule, and
 * what could allow it). Running the admitted calls is the {@link ToolRunner}'s.
 */
final class ToolAdmission {

    private static final Logger log = LoggerFactory.getLogger(ToolAdmission.class);

    /**
     * A call ready to run, or the result that refuses it, or (with {@code ask}) one that waits for an operator; and
     * {@code target}, what the guard's decision named (a file tool's real path): asking rules on it are
     * satisfied for this call, since the decision (with an operator, if it asked) was about exactly that path.
     */
    record Admitted(AgentTool tool, JsonNode arguments, ToolResult refusal, Guard.Decision ask, String target) {
        Admitted(AgentTool tool, JsonNode arguments, ToolResult refusal) { this(tool, arguments, refusal, null, null); }
    }

    private final Guard guard;
    /** Where {@code ask} decisions wait for an operator; null: they are refused as needing approval. */
    private final Approvals approvals;
    private final Toolbox toolbox;
    private final RunEvents events;

    ToolAdmission(Guard guard, Approvals approvals, Toolbox toolbox, RunEvents events) {
        this.guard = guard;
        this.approvals = approvals;
        this.toolbox = toolbox;
        this.events = events;
    }

    /** The guard's answer on one call, before any operator is asked. */
    Admitted admit(Execution ex, ToolCall call) {
        JsonNode args;
        try {
            args = Transcript.JSON.readTree(call.arguments() == null || call.arguments().isBlank() ? "{}" : call.arguments());
        } catch (JsonProcessingException e) {
            return new Admitted(null, null, ToolResult.error(Transcript.error("invalid_arguments",
                    "the arguments are not valid JSON (" + e.getOriginalMessage() + "); send a JSON object")));
        }
        // A run may call only the tools it was offered: a job's run those the job lists (fewer than its agent's), a
        // sub-agent's those its parent has (see SpawnRule). A model that calls another anyway is refused here, before
        // the guard, which judges by the agent's tools.
        // (A tool the root run's agent lacks altogether goes on to the guard, which says so in its own words.)
        boolean offered = ex.tools.contains(call.name())
                || ex.parent == null && !ex.agent.enabledTools().contains(call.name());
        Guard.Decision d = offered ? decide(ex, call, args)
                : Guard.Decision.deny("tool '" + clip(call.name(), 60) + "' is not available to this " + (ex.parent != null
                ? "sub-agent" : "run") + " (its tools: " + (ex.tools.isEmpty() ? "none" : String.join(", ", ex.tools))
                + "): " + (ex.parent != null ? "a sub-agent gets only the tools its parent run has"
                : "a job's run gets only the tools the job lists"), ex.parent != null ? "agent.spawn.tools" : "agent.run.tools");
        boolean ask = d != null && d.verdict() == Guard.Decision.Verdict.ASK;
        if (d == null || (d.verdict() != Guard.Decision.Verdict.ALLOW && !(ask && approvals != null))) {
            // Without an approval queue, "ask" is a denial the model is told needs a human.
            String reason = ask ? "needs approval" + (d.reason() == null ? "" : ": " + d.reason())
                    : d == null || d.reason() == null ? "denied by policy" : d.reason();
            return new Admitted(null, null, ToolResult.error(refusal(call, d, ask ? "needs_approval" : "denied", reason)
                    .toString()));
        }
        AgentTool tool = toolbox.get(call.name());
        if (tool == null) {
            return new Admitted(null, null, ToolResult.error(Transcript.error("unknown_tool", "there is no tool '"
                    + clip(call.name(), 60) + "'")));
        }
        return new Admitted(tool, args, null, ask ? d : null, d.target());
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
                d = guard.decide(e.agent.id(), ex.sessionKey, call.name(), args, e.following());
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
     * Asks an operator about every call the guard answered {@code ask}, all at once, and waits for the answers: an
     * approved call becomes ready to run, any other answer a refusal. A stop interrupts the waits (the approvals are
     * withdrawn) and leaves the calls to be recorded as cancelled.
     */
    void settleApprovals(Execution ex, List<ToolCall> calls, List<Admitted> admitted) {
        List<Integer> asking = new ArrayList<>();
        for (int i = 0; i < admitted.size(); i++) if (admitted.get(i).ask() != null) asking.add(i);
        if (asking.isEmpty()) return;
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        Map<Integer, Future<Approvals.Outcome>> waits = new LinkedHashMap<>();
        try {
            for (int i : asking) {
                ToolCall call = calls.get(i);
                Guard.Decision d = admitted.get(i).ask();
                Approvals.Request request = new Approvals.Request(ex.agent.id(), ex.sessionKey, ex.runId, call.id(),
                        call.name(), d);
                waits.put(i, pool.submit(() -> approvals.await(request, pending -> events.publish(
                        new RunEvent.ApprovalRequested(ex.runId, ex.sessionKey, pending.id(), call.id(), call.name(),
                                d.layer(), d.target(), d.rule(), d.reason(), pending.expiresAt())))));
            }
            for (var w : waits.entrySet()) {
                int i = w.getKey();
                ToolCall call = calls.get(i);
                Admitted p = admitted.get(i);
                Approvals.Outcome o;
                try {
                    o = w.getValue().get();
                } catch (ExecutionException e) {
                    log.error("run {}: approval for {} failed", ex.runId, call.name(), e.getCause());
                    admitted.set(i, new Admitted(null, null, ToolResult.error(refusal(call, p.ask(), "denied",
                            "the approval could not be requested; the call is refused").toString())));
                    continue;
                }
                events.publish(new RunEvent.ApprovalResolved(ex.runId, ex.sessionKey, o.id(), call.id(), call.name(),
                        o.status(), o.decidedBy(), o.reason()));
                if (o.approved()) {
                    admitted.set(i, new Admitted(p.tool(), p.arguments(), null, null, p.target()));
                } else {
                    String why = "expired".equals(o.status())
                            ? (o.reason() == null ? "approval timed out" : o.reason())
                            : "rejected by " + o.decidedBy() + (o.reason() == null || o.reason().isBlank() ? "" : ": " + o.reason());
                    admitted.set(i, new Admitted(null, null, ToolResult.error(refusal(call, p.ask(), "denied", why)
                            .put("approval", o.id()).put("approval_status", o.status()).toString())));
                }
            }
        } catch (InterruptedException e) {
            // The run was stopped: the runner records every call as cancelled.
        } finally {
            pool.shutdownNow();   // interrupts waits still open, which withdraws their approvals
        }
    }

    /** The structured refusal the model gets: what was refused, by which layer and rule, and what could allow it. */
    private static ObjectNode refusal(ToolCall call, Guard.Decision d, String error, String reason) {
        var r = Transcript.JSON.createObjectNode().put("error", error).put("tool", call.name()).put("reason", reason)
                .put("rule", d == null ? null : d.rule()).put("layer", d == null ? "tool" : d.layer());
        if (d != null && d.target() != null) r.put("target", d.target());
        if (d != null && d.remedy() != null) r.put("remedy", d.remedy());
        return r;
    }
}
