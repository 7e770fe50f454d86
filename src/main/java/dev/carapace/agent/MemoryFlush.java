package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.gateway.Call;
import dev.carapace.gateway.Gateway;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.Message;
import dev.carapace.model.Role;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.Usage;
import dev.carapace.model.WireApi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import static dev.carapace.text.Excerpt.clip;

/**
 * The memory flush: before a compaction replaces older turns with a summary, the agent gets one model call, on the
 * conversation as it still is, in which it may save what should outlive the summary with {@code memory_write}.
 *
 * <p>Rules (OpenClaw's users report its flush being skipped on the overflow path; here no compaction skips it):
 * <ul>
 *   <li>Every compaction flushes first: at the threshold, and after an upstream refused a call as too long (see
 *       {@link ContextOverflow}), whose flush carries only the turns about to be replaced (the whole conversation
 *       did not fit; the kept turns are not lost). Not when the run has no {@code memory_write} tool, and not when
 *       every entry the compaction replaces was already seen by an earlier successful flush (so a compaction
 *       retried after an overflow does not flush twice).</li>
 *   <li>Bounded: one model call (the agent's own model, charged to the run and its budgets like any call, its answer
 *       capped at {@link #MAX_OUTPUT_TOKENS} and at what the run has left), offered only {@code memory_write}; of
 *       its calls, at most {@link #MAX_WRITES} {@code memory_write} calls run, through the guard and the tool path
 *       as any call; anything else it asks is refused.</li>
 *   <li>Recorded: a {@code memory_flush} transcript entry (outside the conversation the model sees) says what was
 *       written, or why the flush failed; a failed flush never stops the compaction.</li>
 * </ul>
 */
final class MemoryFlush {

    private static final Logger log = LoggerFactory.getLogger(MemoryFlush.class);

    /** The tool the flush offers. The memory package provides it; the runtime only knows its name. */
    static final String TOOL = "memory_write";
    /** The transcript role of the flush's record. */
    static final String ROLE = "memory_flush";
    static final int MAX_WRITES = 5;
    static final int MAX_OUTPUT_TOKENS = 2_000;

    static final String NOTE = "[Carapace: pre-compaction memory flush] The conversation above is about to be "
            + "compacted: older turns will be replaced by a short summary. If anything in it should be remembered "
            + "beyond this session (decisions, facts learned, user preferences, open tasks), save it now with "
            + TOOL + " (at most " + MAX_WRITES + " calls). Do not call any other tool. If there is nothing worth "
            + "keeping, answer NO_REPLY.";

    private final Gateway gateway;
    private final ModelLimits limits;
    private final Toolbox toolbox;
    private final ToolRunner tools;
    private final RunJournal journal;
    private final RunEvents events;

    MemoryFlush(Gateway gateway, ModelLimits limits, Toolbox toolbox, ToolRunner tools, RunJournal journal,
                RunEvents events) {
        this.gateway = gateway;
        this.limits = limits;
        this.toolbox = toolbox;
        this.tools = tools;
        this.journal = journal;
        this.events = events;
    }

    /**
     * Flushes before the compaction that replaces {@code split.old()}, when the rules above say so.
     *
     * @param rows     the session's whole transcript (earlier flushes' records included)
     * @param prompt   the messages of the call about to be made, not yet compacted
     * @param overflow the upstream refused {@code prompt} as too long
     */
    void beforeCompaction(Execution ex, Principal principal, List<SessionStore.Entry> rows, List<Message> prompt,
                          Compactor.Split split, boolean overflow) {
        AgentTool tool = toolbox.get(TOOL);
        if (tool == null || !ex.tools.contains(TOOL) || ex.stopped()) return;
        if (flushedThrough(rows) >= newest(split.old())) return;
        long through = rows.isEmpty() ? 0 : rows.get(rows.size() - 1).seq();
        long left = ex.maxTokens - ex.totalTokens();
        if (left <= 0) {
            record(ex, Outcome.failed(through, overflow, "the run's token limit (" + ex.maxTokens + ") leaves no "
                    + "tokens for the flush"));
            return;
        }
        List<Message> messages = new ArrayList<>();
        if (overflow) {
            messages.add(prompt.get(0));
            messages.addAll(Transcript.messages(split.old()));
        } else {
            // The prompt as it would have been sent, so the provider's cache of its prefix is hit.
            messages.addAll(prompt);
        }
        messages.add(Message.of(Role.USER, NOTE));
        String model = ex.agent.model();
        long modelMax = limits.maxOutputTokens(model);
        int cap = (int) Math.min(left, modelMax > 0 ? Math.min(modelMax, MAX_OUTPUT_TOKENS) : MAX_OUTPUT_TOKENS);
        ChatRequest request = new ChatRequest(model, messages, List.of(new Tool(tool.name(), tool.description(),
                tool.parameters())), ToolChoice.AUTO, cap, null, null, null, null, false, false, null, null);
        Call call = new Call("agt_" + UUID.randomUUID().toString().replace("-", ""), principal, WireApi.OPENAI, request,
                ex.sessionKey);
        ChatResponse answer;
        try {
            answer = gateway.complete(call);
        } catch (ApiException e) {
            log.warn("run {}: memory flush with {} failed ({}); compacting anyway", ex.runId, model, e.code());
            record(ex, Outcome.failed(through, overflow, "the flush call failed (" + e.code() + "): "
                    + clip(e.getMessage(), 300)));
            return;
        }
        Usage usage = answer.usage() == null ? Usage.ZERO : answer.usage();
        ex.tokens += usage.inputTokens() + usage.outputTokens();
        List<ToolCall> asked = answer.toolCalls() == null ? List.of() : answer.toolCalls();
        List<ToolCall> runnable = new ArrayList<>();
        Map<String, ToolResult> results = new ConcurrentHashMap<>();
        for (ToolCall c : asked) {
            if (!TOOL.equals(c.name())) {
                results.put(c.id(), ToolResult.error(Transcript.error("denied", "only " + TOOL
                        + " may be called during the memory flush")));
            } else if (runnable.size() >= MAX_WRITES) {
                results.put(c.id(), ToolResult.error(Transcript.error("denied", "the memory flush runs at most "
                        + MAX_WRITES + " " + TOOL + " calls")));
            } else {
                runnable.add(c);
            }
        }
        // One after another, in the model's order: a turn's tool calls run in parallel, but two writes of one note
        // (an append after a replace) must land in the order the model wrote them.
        for (ToolCall c : runnable) {
            if (ex.stopped()) break;
            tools.run(ex, List.of(c), (ran, r) -> results.put(ran.id(), r));
        }
        record(ex, new Outcome(through, overflow, asked, results, null, answer.model(), usage));
    }

    /** The last conversation entry among {@code replaced}: a summary there only restates entries before it. */
    private static long newest(List<SessionStore.Entry> replaced) {
        long seq = -1;
        for (SessionStore.Entry r : replaced) if (!r.role().equals("summary")) seq = Math.max(seq, r.seq());
        return seq;
    }

    /** The last entry an earlier successful flush of this session saw; -1 if none. */
    private static long flushedThrough(List<SessionStore.Entry> rows) {
        for (int i = rows.size() - 1; i >= 0; i--) {
            SessionStore.Entry r = rows.get(i);
            if (!r.role().equals(ROLE)) continue;
            JsonNode c = Transcript.parse(r.content());
            if (!c.path("status").asText().equals("failed")) return c.path("through").asLong(-1);
        }
        return -1;
    }

    private void record(Execution ex, Outcome o) {
        journal.append(ex, ROLE, o.json().toString(), o.model(), o.usage());
        events.publish(new RunEvent.MemoryFlushed(ex.runId, ex.sessionKey, o.status(), o.written(), o.failure(),
                o.model(), o.usage()));
    }

    /**
     * What one flush did: the calls the model asked for and each one's result (a call never run is refused in
     * {@code results}), or why it failed before any.
     */
    private record Outcome(long through, boolean overflow, List<ToolCall> asked, Map<String, ToolResult> results,
                           String failure, String model, Usage usage) {

        static Outcome failed(long through, boolean overflow, String why) {
            return new Outcome(through, overflow, List.of(), Map.of(), why, null, null);
        }

        int written() {
            int n = 0;
            for (ToolCall c : asked) {
                ToolResult r = results.get(c.id());
                if (TOOL.equals(c.name()) && r != null && !r.error()) n++;
            }
            return n;
        }

        /** {@code written}, {@code nothing} (the model saved nothing) or {@code failed}. */
        String status() {
            if (failure != null || (!asked.isEmpty() && written() == 0)) return "failed";
            return asked.isEmpty() ? "nothing" : "written";
        }

        ObjectNode json() {
            ObjectNode n = Transcript.JSON.createObjectNode().put("status", status()).put("through", through)
                    .put("overflow", overflow).put("written", written());
            if (failure != null) n.put("reason", failure);
            else if (status().equals("failed")) n.put("reason", "no " + TOOL + " call succeeded");
            ArrayNode calls = n.putArray("calls");
            for (ToolCall c : asked) {
                ToolResult r = results.get(c.id());
                calls.addObject().put("id", c.id()).put("name", c.name()).put("arguments", c.arguments())
                        .put("ok", r != null && !r.error()).put("result", r == null ? Transcript.NO_RESULT : r.content());
            }
            return n;
        }
    }
}
