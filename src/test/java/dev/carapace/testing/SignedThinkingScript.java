package dev.carapace.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

/**
 * An Anthropic Messages upstream with extended thinking, for {@link ScriptedUpstream#respond}: every answer starts
 * with a {@code thinking} block signed with an HMAC of its text, and a request whose history breaks the rules the real
 * API enforces is refused in its words, with a 400: when thinking is on, the assistant turn whose tool calls the last
 * user turn answers must start with its thinking block, and every thinking block must carry the signature this
 * upstream gave it. Everything it was sent is kept ({@link #seen}) for tests to read.
 */
public final class SignedThinkingScript implements Function<RecordedRequest, MockResponse> {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A tool call the answer makes. */
    public record ToolUse(String id, String name, String inputJson) {}

    /**
     * One answer: its thinking, then either a tool call or text, and the usage reported for it (with cache reads, so
     * that a meter that confuses Anthropic's split of input tokens shows).
     */
    public record Answer(String thinking, String text, ToolUse tool, int inputTokens, int cacheReadTokens,
                         int outputTokens) {}

    /** One request received: its body, its {@code anthropic-beta} header (or null), and the status it was answered. */
    public record Seen(String path, JsonNode body, String beta, int status) {}

    private final byte[] key;
    private final Function<JsonNode, Answer> script;
    private final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());

    /** @param script the answer to a valid request, from its body */
    public SignedThinkingScript(String key, Function<JsonNode, Answer> script) {
        this.key = key.getBytes(StandardCharsets.UTF_8);
        this.script = script;
    }

    /** The signature this upstream gives a thinking block with this text. */
    public String sign(String thinking) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return Base64.getEncoder().encodeToString(mac.doFinal(thinking.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public List<Seen> seen() {
        synchronized (seen) {
            return List.copyOf(seen);
        }
    }

    /** The requests answered 200. */
    public List<Seen> answered() {
        return seen().stream().filter(s -> s.status() == 200).toList();
    }

    @Override
    public MockResponse apply(RecordedRequest r) {
        JsonNode body;
        try {
            body = JSON.readTree(ScriptedUpstream.body(r));
        } catch (IOException e) {
            return refuse(r, null, "invalid_request_error", "The request body is not valid JSON");
        }
        String path = r.getUrl().encodedPath();
        if (!"/v1/messages".equals(path)) return refuse(r, body, "not_found_error", "Not found: " + path, 404);
        String problem = historyProblem(body);
        if (problem != null) return refuse(r, body, "invalid_request_error", problem);
        Answer a = script.apply(body);
        seen.add(new Seen(path, body, r.getHeaders().get("anthropic-beta"), 200));
        return body.path("stream").asBoolean(false)
                ? ScriptedUpstream.sse(frames(body.path("model").asText(), a), 0)
                : ScriptedUpstream.json(200, message(body.path("model").asText(), a).toString());
    }

    /** What the real API would refuse in this history, in its words; null when it is sound. */
    private String historyProblem(JsonNode body) {
        String thinking = body.path("thinking").path("type").asText("disabled");
        boolean on = !thinking.equals("disabled");
        JsonNode messages = body.path("messages");
        int lastAssistant = -1;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            if (!"assistant".equals(m.path("role").asText())) continue;
            lastAssistant = i;
            JsonNode content = m.path("content");
            for (int j = 0; j < content.size(); j++) {
                JsonNode b = content.get(j);
                if ("thinking".equals(b.path("type").asText())
                        && !sign(b.path("thinking").asText()).equals(b.path("signature").asText())) {
                    return "messages." + i + ".content." + j + ": Invalid `signature` in `thinking` block";
                }
            }
        }
        if (!on || lastAssistant < 0 || !answersToolCalls(messages, lastAssistant)) return null;
        JsonNode first = messages.get(lastAssistant).path("content").path(0);
        String type = first.path("type").asText();
        if (type.equals("thinking") || type.equals("redacted_thinking")) return null;
        return "messages." + lastAssistant + ".content.0.type: Expected `thinking` or `redacted_thinking`, but found `"
                + type + "`. When `thinking` is enabled, a final `assistant` message must start with a thinking block"
                + " (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include"
                + " thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult"
                + " our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking";
    }

    /** Whether the turns after the assistant's at {@code i} hold results of its tool calls. */
    private static boolean answersToolCalls(JsonNode messages, int i) {
        for (int k = i + 1; k < messages.size(); k++) {
            for (JsonNode b : messages.get(k).path("content")) {
                if ("tool_result".equals(b.path("type").asText())) return true;
            }
        }
        return false;
    }

    private MockResponse refuse(RecordedRequest r, JsonNode body, String type, String message) {
        return refuse(r, body, type, message, 400);
    }

    private MockResponse refuse(RecordedRequest r, JsonNode body, String type, String message, int status) {
        seen.add(new Seen(r.getUrl().encodedPath(), body, r.getHeaders().get("anthropic-beta"), status));
        ObjectNode err = JSON.createObjectNode().put("type", "error");
        err.putObject("error").put("type", type).put("message", message);
        return ScriptedUpstream.json(status, err.toString(), "request-id", "req_scripted");
    }

    private ObjectNode usage(Answer a, boolean finalCount) {
        ObjectNode u = JSON.createObjectNode().put("input_tokens", a.inputTokens())
                .put("cache_creation_input_tokens", 0).put("cache_read_input_tokens", a.cacheReadTokens())
                .put("output_tokens", finalCount ? a.outputTokens() : 1);
        return u;
    }

    private ObjectNode message(String model, Answer a) {
        ObjectNode m = JSON.createObjectNode().put("id", "msg_scripted").put("type", "message").put("role", "assistant")
                .put("model", model);
        ArrayNode content = m.putArray("content");
        content.addObject().put("type", "thinking").put("thinking", a.thinking()).put("signature", sign(a.thinking()));
        if (a.tool() != null) {
            ObjectNode t = content.addObject().put("type", "tool_use").put("id", a.tool().id()).put("name", a.tool().name());
            try {
                t.set("input", JSON.readTree(a.tool().inputJson()));
            } catch (IOException e) {
                throw new IllegalArgumentException(e);
            }
        } else {
            content.addObject().put("type", "text").put("text", a.text());
        }
        m.put("stop_reason", a.tool() != null ? "tool_use" : "end_turn").putNull("stop_sequence");
        m.set("usage", usage(a, true));
        return m;
    }

    private List<String> frames(String model, Answer a) {
        List<String> f = new ArrayList<>();
        ObjectNode start = JSON.createObjectNode().put("type", "message_start");
        ObjectNode msg = start.putObject("message").put("id", "msg_scripted").put("type", "message")
                .put("role", "assistant").put("model", model);
        msg.putArray("content");
        msg.putNull("stop_reason").putNull("stop_sequence");
        msg.set("usage", usage(a, false));
        add(f, "message_start", start);
        ObjectNode thinkingStart = JSON.createObjectNode().put("type", "content_block_start").put("index", 0);
        thinkingStart.putObject("content_block").put("type", "thinking").put("thinking", "").put("signature", "");
        add(f, "content_block_start", thinkingStart);
        // in two pieces, as the real API sends it
        int half = a.thinking().length() / 2;
        for (String piece : List.of(a.thinking().substring(0, half), a.thinking().substring(half))) {
            ObjectNode d = JSON.createObjectNode().put("type", "content_block_delta").put("index", 0);
            d.putObject("delta").put("type", "thinking_delta").put("thinking", piece);
            add(f, "content_block_delta", d);
        }
        ObjectNode sig = JSON.createObjectNode().put("type", "content_block_delta").put("index", 0);
        sig.putObject("delta").put("type", "signature_delta").put("signature", sign(a.thinking()));
        add(f, "content_block_delta", sig);
        add(f, "content_block_stop", JSON.createObjectNode().put("type", "content_block_stop").put("index", 0));
        ObjectNode blockStart = JSON.createObjectNode().put("type", "content_block_start").put("index", 1);
        ObjectNode delta = JSON.createObjectNode().put("type", "content_block_delta").put("index", 1);
        if (a.tool() != null) {
            blockStart.putObject("content_block").put("type", "tool_use").put("id", a.tool().id())
                    .put("name", a.tool().name()).putObject("input");
            delta.putObject("delta").put("type", "input_json_delta").put("partial_json", a.tool().inputJson());
        } else {
            blockStart.putObject("content_block").put("type", "text").put("text", "");
            delta.putObject("delta").put("type", "text_delta").put("text", a.text());
        }
        add(f, "content_block_start", blockStart);
        add(f, "content_block_delta", delta);
        add(f, "content_block_stop", JSON.createObjectNode().put("type", "content_block_stop").put("index", 1));
        ObjectNode end = JSON.createObjectNode().put("type", "message_delta");
        end.putObject("delta").put("stop_reason", a.tool() != null ? "tool_use" : "end_turn").putNull("stop_sequence");
        end.set("usage", usage(a, true));
        add(f, "message_delta", end);
        add(f, "message_stop", JSON.createObjectNode().put("type", "message_stop"));
        return f;
    }

    private static void add(List<String> frames, String event, JsonNode data) {
        frames.add("event: " + event + "\ndata: " + data + "\n\n");
    }
}
