package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.TokenCounter;
import dev.carapace.model.Usage;

import java.util.ArrayList;
import java.util.List;

/**
 * Deciding when a session's conversation is too long for its model, and which entries a summary replaces.
 *
 * <p>The unit is the turn: a user message, or an assistant message together with the results of the tool calls it
 * made (a call is never separated from its result, which upstreams would refuse). The most recent turns stay
 * verbatim; everything before them, including an earlier summary, is summarized.
 */
final class Compactor {

    private Compactor() {}

    /**
     * The entries the model sees: the last summary (if any) then what came after what it summarizes; never a memory
     * flush's record, which is the operator's, not the conversation's.
     */
    static List<SessionStore.Entry> visible(List<SessionStore.Entry> rows) {
        if (rows.stream().anyMatch(r -> r.role().equals(MemoryFlush.ROLE))) {
            rows = rows.stream().filter(r -> !r.role().equals(MemoryFlush.ROLE)).toList();
        }
        int last = -1;
        for (int i = rows.size() - 1; i >= 0; i--) {
            if (rows.get(i).role().equals("summary")) {
                last = i;
                break;
            }
        }
        if (last < 0) return rows;
        SessionStore.Entry summary = rows.get(last);
        long through = Transcript.parse(summary.content()).path("through").asLong(0);
        List<SessionStore.Entry> out = new ArrayList<>();
        out.add(summary);
        for (SessionStore.Entry r : rows) if (r.seq() > through && !r.role().equals("summary")) out.add(r);
        return out;
    }

    /**
     * The prompt size of the next call, in tokens. When the upstream reported the prompt of the last call (it is
     * authoritative: its tokenizer is the one that counts), that plus its answer plus what was added since;
     * otherwise the whole prompt counted with {@link TokenCounter}.
     */
    static long estimate(List<SessionStore.Entry> visible, List<Message> prompt, List<dev.carapace.model.Tool> tools, long limit) {
        // A token is at least one UTF-8 byte and a char at most three: a prompt this short is under the limit
        // without running the tokenizer (whose vocabulary takes a while to load on first use).
        if (upperBound(prompt, tools) <= limit) return upperBound(prompt, tools);
        return estimate(visible, prompt, tools);
    }

    private static long upperBound(List<Message> prompt, List<dev.carapace.model.Tool> tools) {
        long chars = 0;
        for (Message m : prompt) {
            chars += 2;   // the per-message framing tokens, counted generously
            for (Part p : m.content()) if (p instanceof Part.Text t) chars += t.text().length();
            for (dev.carapace.model.ToolCall c : m.toolCalls()) chars += c.name().length() + c.arguments().length();
        }
        for (dev.carapace.model.Tool t : tools) {
            chars += t.name().length() + (t.description() == null ? 0 : t.description().length())
                    + (t.parameters() == null ? 0 : t.parameters().toString().length());
        }
        return 3 * chars + 3;
    }

    static long estimate(List<SessionStore.Entry> visible, List<Message> prompt, List<dev.carapace.model.Tool> tools) {
        int lastAssistant = -1;
        for (int i = visible.size() - 1; i >= 0; i--) {
            SessionStore.Entry r = visible.get(i);
            if (r.role().equals("assistant") && r.usage() != null && r.usage().inputTokens() > 0) {
                lastAssistant = i;
                break;
            }
        }
        // A summary after that call changed the prompt it measured.
        boolean summarizedSince = false;
        for (int i = Math.max(0, lastAssistant); i < visible.size(); i++) {
            if (visible.get(i).role().equals("summary")) summarizedSince = true;
        }
        if (lastAssistant >= 0 && !summarizedSince) {
            Usage a = visible.get(lastAssistant).usage();
            long n = a.inputTokens() + a.outputTokens();
            for (int i = lastAssistant + 1; i < visible.size(); i++) n += 4 + TokenCounter.count(visible.get(i).content());
            return n;
        }
        return TokenCounter.prompt(new dev.carapace.model.ChatRequest(null, prompt, tools, null, null, null, null, null,
                null, false, false, null, null));
    }

    /**
     * Splits {@code visible} into what a summary replaces and what stays verbatim (the last {@code keepTurns}
     * turns). Null when there is nothing older than the kept turns.
     */
    static Split split(List<SessionStore.Entry> visible, int keepTurns) {
        List<Integer> turnStarts = new ArrayList<>();
        for (int i = 0; i < visible.size(); i++) {
            String role = visible.get(i).role();
            if (!role.equals("tool")) turnStarts.add(i);   // a tool result belongs to the assistant turn before it
        }
        if (turnStarts.size() <= keepTurns) return null;
        int cut = turnStarts.get(turnStarts.size() - keepTurns);
        if (cut == 0) return null;
        List<SessionStore.Entry> old = visible.subList(0, cut);
        return new Split(List.copyOf(old), List.copyOf(visible.subList(cut, visible.size())), old.get(old.size() - 1).seq());
    }

    /**
     * @param through the seq of the last entry the summary replaces; entries after it are sent verbatim
     */
    record Split(List<SessionStore.Entry> old, List<SessionStore.Entry> kept, long through) {}

    static final String INSTRUCTIONS = "You compress an AI agent's conversation so it can continue with less context. "
            + "Write a concise summary of the conversation below: the user's goals and instructions, decisions made, "
            + "facts learned (file names, values, results of tool calls that still matter), work done, and what "
            + "remains open. Plain text, no preamble.";

    /** The request that asks a model for the summary: the old entries rendered as plain text. */
    static List<Message> request(List<SessionStore.Entry> old) {
        StringBuilder sb = new StringBuilder();
        for (SessionStore.Entry r : old) {
            JsonNode c = Transcript.parse(r.content());
            switch (r.role()) {
                case "user" -> sb.append("USER: ").append(c.path("text").asText()).append("\n\n");
                case "summary" -> sb.append("EARLIER SUMMARY: ").append(c.path("text").asText()).append("\n\n");
                case "assistant" -> {
                    String text = c.path("text").asText("");
                    if (!text.isEmpty()) sb.append("ASSISTANT: ").append(text).append("\n\n");
                    for (JsonNode t : c.path("tool_calls")) {
                        sb.append("TOOL CALL ").append(t.path("name").asText()).append(' ')
                                .append(t.path("arguments").asText()).append("\n\n");
                    }
                }
                case "tool" -> sb.append(c.path("error").asBoolean() ? "TOOL ERROR: " : "TOOL RESULT: ")
                        .append(c.path("content").asText()).append("\n\n");
                default -> { }
            }
        }
        return List.of(new Message(Role.SYSTEM, List.of(new Part.Text(INSTRUCTIONS)), List.of(), null, false),
                Message.of(Role.USER, sb.toString().strip()));
    }
}
