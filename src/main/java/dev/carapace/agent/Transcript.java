package dev.carapace.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.identity.Principal;
import dev.carapace.model.FinishReason;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.ToolCall;

import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The transcript's JSON shapes (see {@link TranscriptEntry}) and the conversation a model sees from them. */
final class Transcript {

    static final ObjectMapper JSON = new ObjectMapper();

    /** What the model is told about a call whose result never came (the run was stopped or the gateway died). */
    static final String NO_RESULT = "{\"error\":\"no_result\",\"reason\":\"the run stopped before this tool call finished;"
            + " it may or may not have taken effect\"}";

    private Transcript() {}

    static String user(String text) {
        return user(text, null);
    }

    /** A user entry, with who sent it ({@link #sender}'s JSON) when known. */
    static String user(String text, String sender) {
        return user(text, sender, List.of());
    }

    /** A user entry with images sent with its text (as base64 with their media types). */
    static String user(String text, String sender, List<Part.Image> images) {
        ObjectNode n = JSON.createObjectNode().put("text", text);
        if (!images.isEmpty()) {
            ArrayNode a = n.putArray("images");
            for (Part.Image i : images) a.addObject().put("media_type", i.mediaType()).put("data", i.data());
        }
        if (sender != null) {
            try {
                n.set("sender", JSON.readTree(sender));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("a run's sender is not JSON", e);
            }
        }
        return n.toString();
    }

    /**
     * Who sent a message, as its user entry records it: {@code {team, user, via}} (each when known; {@code via} the
     * channel identity it came through, {@code key} the API key's public prefix), so a team's shared session tells
     * who said what. The model is not shown it. Null when nothing is known.
     */
    static String sender(Principal startedBy, String via) {
        if (startedBy == null && via == null) return null;
        ObjectNode n = JSON.createObjectNode();
        if (startedBy != null) {
            if (startedBy.team() != null) n.put("team", startedBy.team());
            if (startedBy.user() != null) n.put("user", startedBy.user());
            if (startedBy.keyPrefix() != null) n.put("key", startedBy.keyPrefix());
        }
        if (via != null) n.put("via", via);
        return n.toString();
    }

    static String assistant(String text, List<ToolCall> calls, FinishReason finish, boolean partial) {
        ObjectNode n = JSON.createObjectNode().put("text", text);
        ArrayNode a = n.putArray("tool_calls");
        for (ToolCall c : calls) a.addObject().put("id", c.id()).put("name", c.name()).put("arguments", c.arguments());
        if (finish != null) n.put("finish", finish.name().toLowerCase(Locale.ROOT));
        if (partial) n.put("partial", true);
        return n.toString();
    }

    /** A failure or refusal as the model sees it: {@code {error, reason}}. */
    static String error(String error, String reason) {
        return JSON.createObjectNode().put("error", error).put("reason", reason).toString();
    }

    static String tool(String callId, String name, ToolResult result) {
        return JSON.createObjectNode().put("tool_call_id", callId).put("name", name).put("content", result.content())
                .put("error", result.error()).toString();
    }

    static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException("transcript entry is not JSON", e);
        }
    }

    static TranscriptEntry entry(SessionStore.Entry r) {
        return new TranscriptEntry(r.seq(), r.runId(), r.role(), parse(r.content()), r.model(), r.usage(), r.createdAt());
    }

    /**
     * The skills whose instructions the {@value Following#SKILL_TOOL} tool gave in {@code rows} (a session's whole
     * transcript): the names of its calls that read a skill ({@link Following#loaded}) and whose result is stored
     * and not an error. Entries a summary replaced count too: the summary may carry the instructions on, so a skill
     * once read stays followed for the rest of the session. A memory flush's record holds no such call.
     *
     * <p>Only the runtime writes assistant and tool entries (a client can only add user text, which is never read
     * here), so an entry claiming a read is one the tool really made. Were one forged anyway (in the store itself),
     * it could only narrow what the run may do: following a skill limits a run to what the skill declared, within
     * what the policy allows, and never adds to it.
     */
    static Set<String> skillsRead(List<SessionStore.Entry> rows) {
        Set<String> out = new LinkedHashSet<>();
        Map<String, String> reading = new HashMap<>();   // the last assistant entry's skill calls, by call id
        Set<String> subAgentCalls = new HashSet<>();       // its spawn_agent and wait_agents calls, by call id
        for (SessionStore.Entry row : rows) {
            switch (row.role()) {
                case "assistant" -> {
                    reading.clear();
                    subAgentCalls.clear();
                    for (JsonNode t : parse(row.content()).path("tool_calls")) {
                        String tool = t.path("name").asText();
                        if (tool.equals(AgentSpec.SPAWN_AGENT) || tool.equals(AgentSpec.WAIT_AGENTS)) subAgentCalls.add(t.path("id").asText());
                        if (!Following.SKILL_TOOL.equals(tool)) continue;
                        String name = Following.loaded(arguments(t.path("arguments").asText("{}")));
                        if (name != null) reading.put(t.path("id").asText(), name);
                    }
                }
                case "tool" -> {
                    JsonNode r = parse(row.content());
                    String id = r.path("tool_call_id").asText();
                    String name = reading.get(id);
                    if (name != null && !r.path("error").asBoolean(true)) out.add(name);
                    if (subAgentCalls.contains(id)) out.addAll(passedUp(r.path("content").asText()));
                }
                default -> { }
            }
        }
        return out;
    }

    /**
     * The skills a sub-agent result names as its children's ({@link Following#PASSED_UP}). Read from the text, not
     * parsed as JSON: a long result is stored cut at the tool output cap, and the names are written ahead of it.
     */
    private static Set<String> passedUp(String content) {
        Set<String> out = new LinkedHashSet<>();
        Matcher lists = PASSED_UP_LIST.matcher(content);
        while (lists.find()) {
            Matcher names = JSON_STRING.matcher(lists.group(1));
            while (names.find()) {
                try {
                    out.add(JSON.readValue(names.group(), String.class));
                } catch (JsonProcessingException e) {
                    // not a JSON string after all: the runtime never writes one, so nothing to follow
                }
            }
        }
        return out;
    }

    private static final Pattern JSON_STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
    private static final Pattern PASSED_UP_LIST = Pattern.compile("\"" + Following.PASSED_UP + "\":\\[((?:\\s*"
            + JSON_STRING.pattern() + "\\s*,?)*)\\]");

    /** A call's arguments as stored; null when they are not JSON (such a call ran no tool). */
    private static JsonNode arguments(String json) {
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    /** A user entry as the model sees it: its text, then its images. */
    private static Message userMessage(JsonNode c) {
        if (!c.path("images").isArray() || c.path("images").isEmpty()) return Message.of(Role.USER, c.path("text").asText());
        List<Part> parts = new ArrayList<>();
        parts.add(new Part.Text(c.path("text").asText()));
        for (JsonNode i : c.path("images")) {
            parts.add(new Part.Image(null, i.path("media_type").asText(), i.path("data").asText()));
        }
        return new Message(Role.USER, parts, List.of(), null, false);
    }

    /**
     * The conversation for the model, after the system prompt. Every assistant tool call gets exactly one result,
     * in call order, right after it: results are stored as they complete (any order), and a call whose result was
     * never stored (a cancelled or crashed run) gets {@link #NO_RESULT}, since upstreams refuse a conversation
     * with an unanswered call.
     */
    static List<Message> messages(List<SessionStore.Entry> rows) {
        List<Message> out = new ArrayList<>(rows.size());
        int i = 0;
        while (i < rows.size()) {
            SessionStore.Entry row = rows.get(i++);
            JsonNode c = parse(row.content());
            switch (row.role()) {
                case "user" -> out.add(userMessage(c));
                case "summary" -> out.add(Message.of(Role.USER, "[Summary of the earlier conversation]\n" + c.path("text").asText()));
                case "assistant" -> {
                    List<ToolCall> calls = new ArrayList<>();
                    for (JsonNode t : c.path("tool_calls")) {
                        calls.add(new ToolCall(t.path("id").asText(), t.path("name").asText(), t.path("arguments").asText("{}")));
                    }
                    String text = c.path("text").asText("");
                    if (calls.isEmpty()) {
                        if (!text.isEmpty()) out.add(Message.of(Role.ASSISTANT, text));
                        continue;
                    }
                    out.add(new Message(Role.ASSISTANT, text.isEmpty() ? List.of() : List.of(new Part.Text(text)),
                            calls, null, false));
                    Map<String, JsonNode> results = new HashMap<>();
                    while (i < rows.size() && rows.get(i).role().equals("tool")) {
                        JsonNode r = parse(rows.get(i++).content());
                        results.putIfAbsent(r.path("tool_call_id").asText(), r);
                    }
                    for (ToolCall call : calls) {
                        JsonNode r = results.get(call.id());
                        out.add(r == null ? Message.toolResult(call.id(), NO_RESULT, true)
                                : Message.toolResult(call.id(), r.path("content").asText(), r.path("error").asBoolean()));
                    }
                }
                default -> { }   // a tool result without its call (cannot happen through the runtime): left out
            }
        }
        return out;
    }
}
