package dev.carapace.model.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Role;
import dev.carapace.model.WireApi;
import dev.carapace.model.openai.OpenAiFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * What the Messages parser keeps that it does not model (Claude Code's request, as captured from 2.1.332, trimmed),
 * how each translation degrades it, and what it still refuses.
 */
class AnthropicLenientParsingTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final AnthropicFormat anthropic = new AnthropicFormat();
    private final OpenAiFormat openai = new OpenAiFormat();

    /** The shape of Claude Code's second call of a tool round: every field it sends on its defaults. */
    private static final String CLAUDE_CODE = """
            {"model":"claude-opus-5-5","max_tokens":128000,"stream":true,
             "metadata":{"user_id":"{\\"device_id\\":\\"d\\",\\"session_id\\":\\"s-1\\"}"},
             "thinking":{"type":"adaptive","display":"omitted"},
             "context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]},
             "output_config":{"effort":"medium"},
             "system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.332"},
                       {"type":"text","text":"You are a Claude agent.","cache_control":{"type":"ephemeral"}}],
             "tools":[{"name":"Read","description":"Reads a file","input_schema":{"type":"object","properties":{}}},
                      {"name":"DeferredToolPlaceholder","description":"never call","input_schema":{"type":"object",
                       "properties":{}},"defer_loading":true}],
             "messages":[
               {"role":"user","content":[{"type":"text","text":"<system-reminder>r</system-reminder>"},
                                         {"type":"text","text":"read note.txt"}]},
               {"role":"system","output_config":{"effort":"medium"},
                "content":[{"type":"text","text":"# Environment","cache_control":{"type":"ephemeral"}}]},
               {"role":"assistant","content":[{"type":"thinking","thinking":"read it","signature":"c2ln"},
                 {"type":"tool_use","id":"toolu_1","name":"Read","input":{"file_path":"/w/note.txt"}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1",
                 "content":[{"type":"text","text":"plum"},{"type":"tool_reference","tool_name":"Bash"}]}]}]}
            """;

    private ChatRequest parse(String body) {
        return anthropic.parseRequest(body.getBytes(StandardCharsets.UTF_8));
    }

    private static JsonNode json(byte[] b) throws Exception { return JSON.readTree(b); }

    @Test
    void claudeCodesRequestParsesWithItsSystemTurnInPlace() {
        ChatRequest r = parse(CLAUDE_CODE);
        assertThat(r.messages()).extracting(Message::role)
                .containsExactly(Role.SYSTEM, Role.USER, Role.SYSTEM, Role.ASSISTANT, Role.TOOL);
        assertThat(r.messages().get(2).content()).containsExactly(new Part.Text("# Environment", true));
        assertThat(r.messages().get(3).content()).containsExactly(new Part.Reasoning("read it", "c2ln"));
        assertThat(r.messages().get(4).text()).isEqualTo("plum");
        assertThat(r.user()).contains("s-1");
        ChatRequest.Passthrough pt = r.passthrough();
        assertThat(pt.api()).isEqualTo(WireApi.ANTHROPIC);
        assertThat(pt.fields().properties()).extracting(java.util.Map.Entry::getKey)
                .containsExactly("thinking", "context_management", "output_config");
        assertThat(pt.lossy()).containsExactly("tools[].defer_loading", "messages[].output_config", "tool_reference");
        assertThat(pt.untranslatable()).isEmpty();
    }

    @Test
    void relayedItGoesUpAsItCameButForTheModelAndTheLimit() throws Exception {
        ChatRequest r = parse(CLAUDE_CODE).withMaxTokens(8192);
        JsonNode up = json(anthropic.upstreamRequest(r, "claude-up", 1024));
        JsonNode sent = JSON.readTree(CLAUDE_CODE);
        assertThat(up.path("model").asText()).isEqualTo("claude-up");
        assertThat(up.path("max_tokens").asInt()).isEqualTo(8192);
        ((com.fasterxml.jackson.databind.node.ObjectNode) up).remove(java.util.List.of("model", "max_tokens"));
        ((com.fasterxml.jackson.databind.node.ObjectNode) sent).remove(java.util.List.of("model", "max_tokens"));
        assertThat(up).isEqualTo(sent);
        assertThat(anthropic.dropped(r)).isEmpty();
    }

    @Test
    void rebuiltForAnAnthropicUpstreamItKeepsTheSignedThinkingAndTheTopLevelFields() throws Exception {
        ChatRequest r = parse(CLAUDE_CODE);
        ChatRequest rewritten = r.withMessages(r.messages());   // as after a redaction: no original to relay
        JsonNode up = json(anthropic.upstreamRequest(rewritten, "claude-up", 1024));
        JsonNode assistant = up.path("messages").get(1);
        assertThat(assistant.path("role").asText()).isEqualTo("assistant");
        assertThat(assistant.path("content").get(0).toString())
                .isEqualTo("{\"type\":\"thinking\",\"thinking\":\"read it\",\"signature\":\"c2ln\"}");
        assertThat(up.path("thinking").path("type").asText()).isEqualTo("adaptive");
        assertThat(up.has("context_management")).isTrue();
        assertThat(up.path("output_config").path("effort").asText()).isEqualTo("medium");
        // the system turn joins the system prompt; what the neutral view cannot carry is named
        assertThat(up.path("system").findValuesAsText("text")).contains("# Environment");
        assertThat(anthropic.dropped(rewritten))
                .containsExactly("tools[].defer_loading", "messages[].output_config", "tool_reference");
    }

    @Test
    void translatedForAnOpenAiUpstreamTheThinkingIsLeftOutAndNamed() throws Exception {
        ChatRequest r = parse(CLAUDE_CODE);
        JsonNode up = json(openai.upstreamRequest(r, "gpt-x", 1024));
        assertThat(up.has("thinking")).isFalse();
        assertThat(up.has("context_management")).isFalse();
        assertThat(up.has("output_config")).isFalse();
        assertThat(up.path("messages").findValuesAsText("role"))
                .containsExactly("system", "user", "system", "assistant", "tool");
        JsonNode assistant = up.path("messages").get(3);
        assertThat(assistant.path("content").isNull()).isTrue();   // only the tool call: its thinking has no place
        assertThat(assistant.path("tool_calls").get(0).path("function").path("name").asText()).isEqualTo("Read");
        assertThat(up.toString()).doesNotContain("c2ln").doesNotContain("defer_loading");
        assertThat(openai.dropped(r)).containsExactly("thinking", "context_management", "output_config",
                "tools[].defer_loading", "messages[].output_config", "tool_reference", "messages[].content[].thinking",
                "cache_control");
    }

    static Stream<Arguments> meaningful() {
        String base = "{\"model\":\"c\",\"max_tokens\":10,";
        return Stream.of(
                Arguments.of(base + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"name\":\"f\","
                        + "\"input_schema\":{\"type\":\"object\"}},{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]}",
                        "tools[1]", "'web_search_20250305'"),
                Arguments.of(base + "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"sum\"},"
                        + "{\"type\":\"document\",\"source\":{\"type\":\"text\",\"media_type\":\"text/plain\",\"data\":\"d\"}}]}]}",
                        "messages[0].content[1]", "'document' block"),
                Arguments.of(base + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"output_config\":{\"format\":"
                        + "{\"type\":\"json_schema\",\"schema\":{\"type\":\"object\"}}}}", "output_config.format",
                        "output_config.format"),
                Arguments.of(base + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"mcp_servers\":[{\"type\":"
                        + "\"url\",\"url\":\"https://mcp.example\",\"name\":\"m\"}]}", "mcp_servers", "mcp_servers"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("meaningful")
    void whatALossWouldChangeIsRelayedButRefusedInTranslationNamingIt(String body, String param, String named) throws Exception {
        ChatRequest r = parse(body);
        JsonNode relayed = json(anthropic.upstreamRequest(r, "claude-up", 1024));
        assertThat(relayed.path("model").asText()).isEqualTo("claude-up");

        ApiException e = catchThrowableOfType(ApiException.class, () -> openai.upstreamRequest(r, "gpt-x", 1024));
        assertThat(e).isNotNull();
        assertThat(e.kind()).isEqualTo(ApiException.Kind.INVALID_REQUEST);
        assertThat(e.param()).isEqualTo(param);
        assertThat(e.getMessage()).contains(named).contains("OpenAI Chat Completions upstream")
                .contains("would change what the request asks");
    }

    @Test
    void aDocumentsTextIsInTheViewForPrivacyRulesButNeverTranslatedAsText() {
        ChatRequest r = parse("{\"model\":\"c\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"document\",\"title\":\"card\",\"source\":{\"type\":\"text\",\"media_type\":\"text/plain\","
                + "\"data\":\"mail bob@example.com\"}},{\"type\":\"document\",\"source\":{\"type\":\"base64\","
                + "\"media_type\":\"application/pdf\",\"data\":\"QUJD\"}}]}]}");
        assertThat(r.messages().getFirst().text()).contains("bob@example.com").contains("card").doesNotContain("QUJD");
        ChatRequest rewritten = r.withMessages(r.messages());
        ApiException e = catchThrowableOfType(ApiException.class, () -> anthropic.upstreamRequest(rewritten, "c", 10));
        assertThat(e).isNotNull();
        assertThat(e.param()).isEqualTo("messages[0].content[0]");
        assertThat(e.getMessage()).startsWith("messages[0].content[0] ('document' block): cannot be carried when the"
                + " request is rebuilt after a filter changed it");
    }

    static Stream<Arguments> hostile() {
        String base = "{\"model\":\"c\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
        return Stream.of(
                Arguments.of(base + ",\"output_config\":\"fast\"}", "output_config", "expected an object"),
                Arguments.of(base + ",\"output_config\":{\"effort\":3}}", "output_config.effort", "got 3"),
                Arguments.of(base + ",\"output_config\":{\"format\":\"json\"}}", "output_config.format", "expected an object"),
                Arguments.of(base + ",\"context_management\":[]}", "context_management", "got an array"),
                Arguments.of(base + ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":\"lots\"}}",
                        "thinking.budget_tokens", "a non-negative integer, got 'lots'"),
                Arguments.of(base + ",\"mcp_servers\":{}}", "mcp_servers", "an array"),
                Arguments.of(base + ",\"metadata\":{\"user_id\":5}}", "metadata.user_id", "a string"),
                Arguments.of("{\"model\":\"c\",\"max_tokens\":10,\"messages\":[{\"role\":\"assistant\",\"content\":["
                        + "{\"type\":\"thinking\",\"thinking\":\"t\"}]}]}", "messages[0].content[0].signature", "Field required"),
                Arguments.of("{\"model\":\"c\",\"max_tokens\":10,\"messages\":[{\"role\":\"assistant\",\"content\":["
                        + "{\"type\":\"redacted_thinking\",\"data\":7}]}]}", "messages[0].content[0].data", "got 7"),
                Arguments.of("{\"model\":\"c\",\"max_tokens\":10,\"messages\":[{\"role\":7,\"content\":\"x\"}]}",
                        "messages[0].role", "got 7"),
                Arguments.of(base + ",\"tools\":[{\"type\":5,\"name\":\"w\"}]}", "tools[0].type", "a string"),
                Arguments.of(base + ",\"tools\":[{\"type\":\"web_search_20250305\",\"name\":\"w\"},{\"type\":\"bash_20250124\","
                        + "\"name\":\"w\"}]}", "tools[1].name", "defined twice"),
                // a repeated key could mean one thing to Carapace and another upstream
                Arguments.of(base + ",\"context_management\":{},\"context_management\":{\"edits\":[]}}", null,
                        "Duplicate field 'context_management'"));
    }

    @ParameterizedTest(name = "{1}: {2}")
    @MethodSource("hostile")
    void aKnownFieldOfTheWrongShapeIsStillRefusedNamingItsPath(String body, String param, String message) {
        ApiException e = catchThrowableOfType(ApiException.class, () -> parse(body));
        assertThat(e).as(body).isNotNull();
        assertThat(e.kind()).isEqualTo(ApiException.Kind.INVALID_REQUEST);
        assertThat(e.param()).isEqualTo(param);
        assertThat(e.getMessage()).contains(message);
        if (param != null) assertThat(e.getMessage()).startsWith(param + ": ");
    }

    @Test
    void oddAndNumerousUnknownFieldsAreNamedBrieflyAndSafelyForAHeader() {
        StringBuilder body = new StringBuilder("{\"model\":\"c\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\","
                + "\"content\":\"hi\"}],\"bad,key\\nwith\\u00e9\":1,\"" + "k".repeat(5000) + "\":{\"big\":\""
                + "v".repeat(2_000_000) + "\"}");
        for (int i = 0; i < 500; i++) body.append(",\"extra_").append(i).append("\":").append(i);
        ChatRequest r = parse(body.append('}').toString());
        assertThat(r.passthrough().fields().size()).isEqualTo(502);   // all relayed as they came
        var names = openai.dropped(r);
        assertThat(names).hasSize(25).contains("...");
        assertThat(names.iterator().next()).isEqualTo("bad?key?with?");
        assertThat(names).allSatisfy(n -> assertThat(n).hasSizeLessThanOrEqualTo(48).matches("[\\x21-\\x7e&&[^,]]+"));
    }
}
