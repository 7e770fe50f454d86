package dev.carapace.model.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.ToolChoice;
import dev.carapace.model.WireApi;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class AnthropicUpstreamRequestTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final AnthropicFormat format = new AnthropicFormat();

    @Test
    void clientRequestRoundTripsToAnEquivalentUpstreamRequest() throws Exception {
        String client = """
                {"model": "smart", "max_tokens": 300, "stream": true, "top_k": 7,
                 "metadata": {"user_id": "u-1"}, "stop_sequences": ["###"], "temperature": 0.5,
                 "system": [{"type": "text", "text": "Rules"},
                            {"type": "text", "text": "Big doc", "cache_control": {"type": "ephemeral"}}],
                 "tools": [{"name": "lookup", "description": "Find", "input_schema":
                            {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}],
                 "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
                 "messages": [
                   {"role": "user", "content": "Find cats"},
                   {"role": "assistant", "content": [
                      {"type": "thinking", "thinking": "hmm", "signature": "s"},
                      {"type": "text", "text": "Looking."},
                      {"type": "tool_use", "id": "toolu_A", "name": "lookup", "input": {"q": "cats", "n": [1, 2]}},
                      {"type": "tool_use", "id": "toolu_B", "name": "lookup", "input": {"q": "dogs"}}]},
                   {"role": "user", "content": [
                      {"type": "tool_result", "tool_use_id": "toolu_A", "content": "3 cats"},
                      {"type": "tool_result", "tool_use_id": "toolu_B", "is_error": true,
                       "content": [{"type": "text", "text": "no dogs"}], "cache_control": {"type": "ephemeral"}},
                      {"type": "text", "text": "Summarize"}]}
                 ]}
                """;
        // as a filter's rewrite leaves it: without the client's original, so it is translated
        ChatRequest parsed = format.parseRequest(client.getBytes(StandardCharsets.UTF_8));
        parsed = parsed.withMessages(parsed.messages());
        JsonNode up = upstream(parsed, "claude-sonnet-4-5", 4096);

        JsonNode expected = JSON.readTree("""
                {"model": "claude-sonnet-4-5", "max_tokens": 300,
                 "system": [{"type": "text", "text": "Rules"},
                            {"type": "text", "text": "Big doc", "cache_control": {"type": "ephemeral"}}],
                 "messages": [
                   {"role": "user", "content": [{"type": "text", "text": "Find cats"}]},
                   {"role": "assistant", "content": [
                      {"type": "thinking", "thinking": "hmm", "signature": "s"},
                      {"type": "text", "text": "Looking."},
                      {"type": "tool_use", "id": "toolu_A", "name": "lookup", "input": {"q": "cats", "n": [1, 2]}},
                      {"type": "tool_use", "id": "toolu_B", "name": "lookup", "input": {"q": "dogs"}}]},
                   {"role": "user", "content": [
                      {"type": "tool_result", "tool_use_id": "toolu_A", "content": "3 cats"},
                      {"type": "tool_result", "tool_use_id": "toolu_B", "content": "no dogs", "is_error": true,
                       "cache_control": {"type": "ephemeral"}},
                      {"type": "text", "text": "Summarize"}]}],
                 "tools": [{"name": "lookup", "description": "Find", "input_schema":
                            {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}],
                 "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
                 "temperature": 0.5, "stop_sequences": ["###"], "metadata": {"user_id": "u-1"},
                 "stream": true, "top_k": 7}
                """);
        assertThat(up).isEqualTo(expected);
    }

    @Test
    void consecutiveToolMessagesMergeIntoOneUserMessage() {
        ChatRequest r = request(List.of(
                Message.of(Role.SYSTEM, "Be brief"),
                Message.of(Role.USER, "Weather in Paris and Rome?"),
                new Message(Role.ASSISTANT, List.of(new Part.Text("")), List.of(
                        new ToolCall("call_1", "weather", "{\"city\":\"Paris\"}"),
                        new ToolCall("call_2", "weather", "{\"city\":")), null, false),
                Message.toolResult("call_1", "sunny", false),
                Message.toolResult("call_2", "bad arguments", true),
                Message.of(Role.USER, "Thanks"),
                Message.of(Role.SYSTEM, "Answer in French"),
                Message.of(Role.ASSISTANT, "Il fait"),
                Message.of(Role.ASSISTANT, " beau.")));
        JsonNode up = upstream(r, "claude-haiku", 1000);

        assertThat(up.path("max_tokens").asInt()).isEqualTo(1000);
        // both system messages end up in the top-level system, in order
        assertThat(up.path("system")).extracting(JsonNode::toString).containsExactly(
                "{\"type\":\"text\",\"text\":\"Be brief\"}", "{\"type\":\"text\",\"text\":\"Answer in French\"}");
        JsonNode msgs = up.path("messages");
        assertThat(msgs).extracting(m -> m.path("role").asText())
                .containsExactly("user", "assistant", "user", "assistant");
        // the empty text part is dropped (Anthropic refuses empty text blocks); invalid arguments become {}
        assertThat(msgs.get(1).path("content").toString()).isEqualTo(
                "[{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"weather\",\"input\":{\"city\":\"Paris\"}},"
                        + "{\"type\":\"tool_use\",\"id\":\"call_2\",\"name\":\"weather\",\"input\":{}}]");
        assertThat(msgs.get(2).path("content").toString()).isEqualTo(
                "[{\"type\":\"tool_result\",\"tool_use_id\":\"call_1\",\"content\":\"sunny\"},"
                        + "{\"type\":\"tool_result\",\"tool_use_id\":\"call_2\",\"content\":\"bad arguments\","
                        + "\"is_error\":true},"
                        + "{\"type\":\"text\",\"text\":\"Thanks\"}]");
        assertThat(msgs.get(3).path("content").toString()).isEqualTo(
                "[{\"type\":\"text\",\"text\":\"Il fait\"},{\"type\":\"text\",\"text\":\" beau.\"}]");
        assertThat(up.has("stream")).isFalse();
        assertThat(up.has("tools")).isFalse();
        assertThat(up.has("tool_choice")).isFalse();
    }

    @Test
    void toolResultWithSeveralPartsKeepsItsBlocks() {
        ChatRequest r = request(List.of(Message.of(Role.USER, "go"),
                new Message(Role.ASSISTANT, List.of(), List.of(new ToolCall("t", "f", "{}")), null, false),
                new Message(Role.TOOL, List.of(new Part.Text("line 1"), new Part.Text("line 2"),
                        new Part.Image(null, "image/png", "AAA")), List.of(), "t", false)));
        JsonNode result = upstream(r, "m", 10).path("messages").get(2).path("content").get(0);
        assertThat(result.path("content").toString()).isEqualTo("[{\"type\":\"text\",\"text\":\"line 1\"},"
                + "{\"type\":\"text\",\"text\":\"line 2\"},{\"type\":\"image\",\"source\":{\"type\":\"base64\","
                + "\"media_type\":\"image/png\",\"data\":\"AAA\"}}]");
        assertThat(result.has("is_error")).isFalse();
    }

    @Test
    void imagesBecomeBase64OrUrlSources() {
        ChatRequest r = request(List.of(new Message(Role.USER, List.of(
                new Part.Text("what is this"),
                new Part.Image("data:image/png;base64,iVBORw0KGgo=", null, null),
                new Part.Image("https://img.test/cat.jpg", null, null),
                new Part.Image(null, "image/webp", "UklGR")), List.of(), null, false)));
        JsonNode content = upstream(r, "m", 10).path("messages").get(0).path("content");
        assertThat(content.get(1).path("source").toString())
                .isEqualTo("{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}");
        assertThat(content.get(2).path("source").toString())
                .isEqualTo("{\"type\":\"url\",\"url\":\"https://img.test/cat.jpg\"}");
        assertThat(content.get(3).path("source").toString())
                .isEqualTo("{\"type\":\"base64\",\"media_type\":\"image/webp\",\"data\":\"UklGR\"}");
    }

    @Test
    void nonBase64DataUriIsRefused() {
        ChatRequest r = request(List.of(new Message(Role.USER, List.of(new Part.Text("x"),
                new Part.Image("data:image/svg+xml,<svg/>", null, null)), List.of(), null, false)));
        ApiException e = catchThrowableOfType(ApiException.class, () -> format.upstreamRequest(r, "m", 10));
        assertThat(e.param()).isEqualTo("messages[0].content[1]");
        assertThat(e.getMessage()).contains("base64");
    }

    @Test
    void toolChoiceAndParallelism() {
        assertThat(toolChoice(null, null)).isNull();
        assertThat(toolChoice(null, false)).isEqualTo("{\"type\":\"auto\",\"disable_parallel_tool_use\":true}");
        assertThat(toolChoice(ToolChoice.AUTO, true)).isEqualTo("{\"type\":\"auto\"}");
        assertThat(toolChoice(new ToolChoice(ToolChoice.Mode.REQUIRED, null), false))
                .isEqualTo("{\"type\":\"any\",\"disable_parallel_tool_use\":true}");
        assertThat(toolChoice(new ToolChoice(ToolChoice.Mode.TOOL, "f"), null))
                .isEqualTo("{\"type\":\"tool\",\"name\":\"f\"}");
        assertThat(toolChoice(new ToolChoice(ToolChoice.Mode.NONE, null), false)).isEqualTo("{\"type\":\"none\"}");
    }

    @Test
    void openAiPassthroughIsDroppedOrRefusedAndTemperatureClamped() {
        ObjectNode fields = JSON.createObjectNode().put("seed", 7).put("logprobs", true);
        ChatRequest r = new ChatRequest("m", List.of(Message.of(Role.USER, "hi")), List.of(), null, null, 1.7,
                null, null, null, true, false, null, new ChatRequest.Passthrough(WireApi.OPENAI, fields, List.of(),
                List.of("logprobs")));
        ApiException e = catchThrowableOfType(ApiException.class, () -> format.upstreamRequest(r, "m", 10));
        assertThat(e.param()).isEqualTo("logprobs");
        assertThat(e.getMessage()).startsWith("logprobs: cannot be sent to the chosen model, which is served by an"
                + " Anthropic Messages upstream, and leaving it out would change what the request asks");

        ChatRequest seeded = new ChatRequest("m", r.messages(), List.of(), null, null, 1.7, null, null, null, true,
                false, null, new ChatRequest.Passthrough(WireApi.OPENAI, JSON.createObjectNode().put("seed", 7)));
        assertThat(upstream(seeded, "m", 10).has("seed")).isFalse();
        assertThat(format.dropped(seeded)).containsExactly("seed");

        JsonNode up = upstream(new ChatRequest("m", r.messages(), List.of(), null, null, 1.7, null, null, null,
                true, false, null, null), "m", 10);
        assertThat(up.path("temperature").asDouble()).isEqualTo(1.0);
        assertThat(up.path("stream").asBoolean()).isTrue();
    }

    private String toolChoice(ToolChoice tc, Boolean parallel) {
        ObjectNode schema = JSON.createObjectNode().put("type", "object");
        ChatRequest r = new ChatRequest("m", List.of(Message.of(Role.USER, "hi")),
                List.of(new Tool("f", null, schema)), tc, null, null, null, null, parallel, false, false, null, null);
        JsonNode up = upstream(r, "m", 10);
        assertThat(up.path("tools").get(0).toString()).isEqualTo("{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}");
        return up.has("tool_choice") ? up.get("tool_choice").toString() : null;
    }

    private static ChatRequest request(List<Message> messages) {
        return new ChatRequest("m", messages, List.of(), null, null, null, null, null, null, false, false, null, null);
    }

    private JsonNode upstream(ChatRequest r, String model, int defaultMax) {
        try {
            return JSON.readTree(format.upstreamRequest(r, model, defaultMax));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
