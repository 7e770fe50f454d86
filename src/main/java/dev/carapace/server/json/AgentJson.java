package dev.carapace.server.json;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.RunEvent;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.TranscriptEntry;
import dev.carapace.model.Usage;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/** Agents, runs, transcripts and live events as the API, the WebSocket and the CLI show them. */
public final class AgentJson {

    public static final ObjectMapper JSON = new ObjectMapper();

    private AgentJson() {}

    /** What an agent is, without its workspace path or instructions (the server's business, not the caller's). */
    public static ObjectNode agent(AgentSpec a) {
        ObjectNode n = JSON.createObjectNode().put("id", a.id()).put("model", a.model());
        ArrayNode fallbacks = n.putArray("fallbacks");
        a.fallbacks().forEach(fallbacks::add);
        ArrayNode tools = n.putArray("tools");
        a.tools().forEach(tools::add);
        n.putObject("owner").put("user", a.owner().user()).put("team", a.owner().team());
        AgentSpec.Limits l = a.limits();
        n.putObject("limits").put("max_steps", l.maxSteps()).put("max_wall", duration(l.maxWall()))
                .put("max_tokens", l.maxTokens()).put("tool_timeout", duration(l.toolTimeout()))
                .put("max_tool_output_bytes", l.maxToolOutputBytes());
        n.put("on_busy", a.onBusy().name().toLowerCase(Locale.ROOT));
        n.put("policy", a.policy());
        return n;
    }

    public static ObjectNode run(RunInfo r) {
        return JSON.createObjectNode().put("id", r.id()).put("session_key", r.sessionKey()).put("agent", r.agent())
                .put("parent_run_id", r.parentRunId()).put("status", r.status().label()).put("reason", r.reason())
                .put("steps", r.steps()).put("tokens", r.tokens()).put("created_at", time(r.createdAt()))
                .put("started_at", time(r.startedAt())).put("ended_at", time(r.endedAt()));
    }

    public static ObjectNode entry(TranscriptEntry e) {
        ObjectNode n = JSON.createObjectNode().put("seq", e.seq()).put("run_id", e.runId()).put("role", e.role());
        n.set("content", e.content());
        n.put("model", e.model());
        if (e.usage() == null) n.putNull("usage");
        else usage(n.putObject("usage"), e.usage());
        return n.put("created_at", time(e.createdAt()));
    }

    /** One live event: {@code type} names it, the rest is its record's fields in snake case. */
    public static ObjectNode event(RunEvent event) {
        ObjectNode n = JSON.createObjectNode().put("type", type(event)).put("run_id", event.runId())
                .put("session_key", event.sessionKey());
        switch (event) {
            case RunEvent.StatusChanged s -> n.put("status", s.status().label()).put("reason", s.reason());
            case RunEvent.TextDelta t -> n.put("text", t.text());
            case RunEvent.ToolStarted t -> n.put("call_id", t.callId()).put("tool", t.tool()).put("arguments", t.arguments());
            case RunEvent.ToolFinished t -> n.put("call_id", t.callId()).put("tool", t.tool()).put("ok", t.ok())
                    .put("summary", t.summary()).put("more_lines", t.moreLines()).put("more_chars", t.moreChars());
            case RunEvent.UsageReported u -> usage(n.put("step", u.step()).put("model", u.model()), u.usage());
            case RunEvent.Error e -> n.put("message", e.message());
            case RunEvent.Dropped d -> n.put("count", d.count());
            case RunEvent.ApprovalRequested a -> n.put("approval_id", a.approvalId()).put("call_id", a.callId())
                    .put("tool", a.tool()).put("layer", a.layer()).put("target", a.target()).put("rule", a.rule())
                    .put("reason", a.reason()).put("expires_at", time(a.expiresAt()));
            case RunEvent.ApprovalResolved a -> n.put("approval_id", a.approvalId()).put("call_id", a.callId())
                    .put("tool", a.tool()).put("outcome", a.outcome()).put("decided_by", a.decidedBy())
                    .put("reason", a.reason());
            case RunEvent.Compacted c -> usage(n.put("through", c.through()).put("replaced_entries", c.replacedEntries())
                    .put("prompt_tokens", c.promptTokens()).put("model", c.model()), c.usage());
            case RunEvent.MemoryFlushed f -> {
                n.put("status", f.status()).put("written", f.written()).put("reason", f.reason()).put("model", f.model());
                if (f.usage() != null) usage(n, f.usage());
            }
        }
        return n;
    }

    public static String type(RunEvent event) {
        return switch (event) {
            case RunEvent.StatusChanged s -> "status";
            case RunEvent.TextDelta t -> "text";
            case RunEvent.ToolStarted t -> "tool_started";
            case RunEvent.ToolFinished t -> "tool_finished";
            case RunEvent.UsageReported u -> "usage";
            case RunEvent.Error e -> "error";
            case RunEvent.Dropped d -> "dropped";
            case RunEvent.Compacted c -> "compacted";
            case RunEvent.MemoryFlushed f -> "memory_flushed";
            case RunEvent.ApprovalRequested a -> "approval_requested";
            case RunEvent.ApprovalResolved a -> "approval_resolved";
        };
    }

    private static ObjectNode usage(ObjectNode n, Usage u) {
        return n.put("input_tokens", u.inputTokens()).put("output_tokens", u.outputTokens())
                .put("cached_input_tokens", u.cachedInputTokens()).put("reasoning_tokens", u.reasoningTokens())
                .put("estimated", u.estimated());
    }

    /** In the config's own syntax: 250ms, 60s, 10m, 1h. */
    public static String duration(Duration d) {
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0 && ms > 0) return ms / 3_600_000 + "h";
        if (ms % 60_000 == 0 && ms > 0) return ms / 60_000 + "m";
        if (ms % 1000 == 0) return ms / 1000 + "s";
        return ms + "ms";
    }

    private static String time(Instant t) { return t == null ? null : t.toString(); }
}
