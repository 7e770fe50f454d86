package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.carapace.server.GatewayHarness.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The attack of issue 14's follow-up: a secret or personal value planted in a field other than the message text (tool
 * names, descriptions and schemas, {@code user}, {@code metadata.user_id}, citations, documents, search results,
 * thinking, tool results in every shape, tool-call arguments, fields Carapace does not model), on every endpoint,
 * through real HTTP, must never reach the scripted upstream. Secrets are blocked (400 naming the field), personal
 * data is redacted with placeholders that are restored in what the client gets back, and a value to redact in signed
 * thinking, which cannot be redacted, is kept off external models.
 */
class PrivacyEveryFieldTest {

    @TempDir
    static Path dir;
    static GatewayHarness h;

    /** An OpenAI project key, as the scanner knows it. */
    static final String KEY = "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34";
    /** The same key with its first letter written as a JSON escape, as an attacker would send it. */
    static final String KEY_ESCAPED = "sk-proj-\\u0041b12Cd34Ef56Gh78Ij90Kl12Mn34";
    static final String MAIL = "noreply@anthropic.com";

    @BeforeAll
    static void start() throws Exception {
        h = new GatewayHarness(dir, """
                privacy:
                  actions: {block: [secret], redact: [pii]}
                """);
    }

    @AfterAll
    static void stop() { h.close(); }

    record Attack(String name, String path, String model, String body, String field) {
        @Override
        public String toString() { return name; }
    }

    private static Attack chat(String name, String field, String body) {
        return new Attack(name, "/v1/chat/completions", "m-solo", body, field);
    }

    private static Attack messages(String name, String field, String body) {
        return new Attack(name, "/v1/messages", "m-claude", body, field);
    }

    private static Attack responses(String name, String field, String body) {
        return new Attack(name, "/v1/responses", "m-resp", body, field);
    }

    /** Each places {@code %s} where the value goes; every one is a request the endpoint would otherwise serve. */
    static Stream<Attack> attacks() {
        return Stream.of(
                chat("chat tool description", "tools[0].function.description", """
                        {"model":"m-solo","messages":[{"role":"user","content":"hi"}],
                         "tools":[{"type":"function","function":{"name":"send","description":"uses %s",
                          "parameters":{"type":"object"}}}]}"""),
                chat("chat schema property description", "tools[0].function.parameters.properties.to.description", """
                        {"model":"m-solo","messages":[{"role":"user","content":"hi"}],
                         "tools":[{"type":"function","function":{"name":"send","parameters":{"type":"object",
                          "properties":{"to":{"type":"string","description":"default %s"}}}}}]}"""),
                chat("chat schema enum", "tools[0].function.parameters.properties.to.enum[1]", """
                        {"model":"m-solo","messages":[{"role":"user","content":"hi"}],
                         "tools":[{"type":"function","function":{"name":"send","parameters":{"type":"object",
                          "properties":{"to":{"type":"string","enum":["a","%s"]}}}}}]}"""),
                chat("chat schema default", "tools[0].function.parameters.properties.to.default", """
                        {"model":"m-solo","messages":[{"role":"user","content":"hi"}],
                         "tools":[{"type":"function","function":{"name":"send","parameters":{"type":"object",
                          "properties":{"to":{"type":"string","default":"%s"}}}}}]}"""),
                chat("chat user", "user", """
                        {"model":"m-solo","user":"%s","messages":[{"role":"user","content":"hi"}]}"""),
                chat("chat tool call arguments", "messages[1].tool_calls[0].function.arguments", """
                        {"model":"m-solo","messages":[{"role":"user","content":"hi"},
                          {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"send",
                           "arguments":"{\\"to\\":\\"%s\\"}"}}]},
                          {"role":"tool","tool_call_id":"c1","content":"ok"}]}"""),
                chat("chat tool result as parts", "messages[2].content[0].text", """
                        {"model":"m-solo","messages":[{"role":"user","content":"hi"},
                          {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"send",
                           "arguments":"{}"}}]},
                          {"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"got %s"}]}]}"""),
                chat("chat unmodeled field", "prediction.content", """
                        {"model":"m-solo","prediction":{"type":"content","content":"x %s"},
                         "messages":[{"role":"user","content":"hi"}]}"""),
                messages("messages tool description", "tools[0].description", """
                        {"model":"m-claude","max_tokens":50,"messages":[{"role":"user","content":"hi"}],
                         "tools":[{"name":"send","description":"uses %s","input_schema":{"type":"object"}}]}"""),
                messages("messages schema nested description", "tools[0].input_schema.properties.opts.properties.to.description", """
                        {"model":"m-claude","max_tokens":50,"messages":[{"role":"user","content":"hi"}],
                         "tools":[{"name":"send","input_schema":{"type":"object","properties":{"opts":{"type":"object",
                          "properties":{"to":{"type":"string","description":"like %s"}}}}}}]}"""),
                messages("messages metadata.user_id", "metadata.user_id", """
                        {"model":"m-claude","max_tokens":50,"metadata":{"user_id":"%s"},
                         "messages":[{"role":"user","content":"hi"}]}"""),
                messages("messages citation cited_text", "messages[1].content[0].citations[0].cited_text", """
                        {"model":"m-claude","max_tokens":50,"messages":[{"role":"user","content":"hi"},
                          {"role":"assistant","content":[{"type":"text","text":"see","citations":[{"type":"char_location",
                           "cited_text":"%s","document_index":0,"start_char_index":0,"end_char_index":5}]}]},
                          {"role":"user","content":"more"}]}"""),
                messages("messages document", "messages[0].content[1].source.data", """
                        {"model":"m-claude","max_tokens":50,"messages":[{"role":"user","content":[{"type":"text","text":"read"},
                          {"type":"document","source":{"type":"text","media_type":"text/plain","data":"owner %s"}}]}]}"""),
                messages("messages search_result", "messages[0].content[1].content[0].text", """
                        {"model":"m-claude","max_tokens":50,"messages":[{"role":"user","content":[{"type":"text","text":"read"},
                          {"type":"search_result","source":"https://x.example/a","title":"A",
                           "content":[{"type":"text","text":"found %s"}]}]}]}"""),
                messages("messages tool_result nested blocks", "messages[2].content[0].content[0].text", """
                        {"model":"m-claude","max_tokens":50,"messages":[{"role":"user","content":"hi"},
                          {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"send","input":{}}]},
                          {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1",
                           "content":[{"type":"text","text":"read %s"}]}]}],
                         "tools":[{"name":"send","input_schema":{"type":"object"}}]}"""),
                messages("messages tool_use input", "messages[1].content[0].input.name", """
                        {"model":"m-claude","max_tokens":50,"messages":[{"role":"user","content":"hi"},
                          {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"send","input":{"name":"%s"}}]},
                          {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]}],
                         "tools":[{"name":"send","input_schema":{"type":"object"}}]}"""),
                messages("messages unmodeled nested field", "messages[0].annotation", """
                        {"model":"m-claude","max_tokens":50,"messages":[{"role":"user","content":"hi","annotation":"%s"}]}"""),
                new Attack("count_tokens tool description", "/v1/messages/count_tokens", "m-claude", """
                        {"model":"m-claude","messages":[{"role":"user","content":"hi"}],
                         "tools":[{"name":"send","description":"uses %s","input_schema":{"type":"object"}}]}""",
                        "tools[0].description"),
                responses("responses tool description", "tools[0].description", """
                        {"model":"m-resp","input":"hi","tools":[{"type":"function","name":"send","description":"uses %s",
                          "parameters":{"type":"object"}}]}"""),
                responses("responses user", "user", """
                        {"model":"m-resp","input":"hi","user":"%s"}"""),
                responses("responses function_call arguments", "input[1].arguments", """
                        {"model":"m-resp","input":[{"role":"user","content":"hi"},
                          {"type":"function_call","call_id":"c1","name":"send","arguments":"{\\"to\\":\\"%s\\"}"},
                          {"type":"function_call_output","call_id":"c1","output":"ok"}],
                         "tools":[{"type":"function","name":"send","parameters":{"type":"object"}}]}"""),
                responses("responses function_call_output", "input[2].output", """
                        {"model":"m-resp","input":[{"role":"user","content":"hi"},
                          {"type":"function_call","call_id":"c1","name":"send","arguments":"{}"},
                          {"type":"function_call_output","call_id":"c1","output":"got %s"}],
                         "tools":[{"type":"function","name":"send","parameters":{"type":"object"}}]}"""),
                responses("responses reasoning summary", "input[1].summary[0].text", """
                        {"model":"m-resp","input":[{"role":"user","content":"hi"},
                          {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"thought of %s"}]},
                          {"role":"user","content":"go on"}]}"""),
                new Attack("embeddings user", "/v1/embeddings", "m-embed", """
                        {"model":"m-embed","input":"hello","user":"%s"}""", "user"));
    }

    private static HttpResponse<String> send(Attack a, String value) {
        return h.post(a.path, h.memberKey, a.body.formatted(value), "anthropic-version", "2023-06-01");
    }

    /** How many requests each scripted upstream has received. */
    private static List<String> received() {
        List<String> out = new ArrayList<>();
        for (ScriptedUpstream u : List.of(h.a, h.b, h.claude, h.resp)) out.add(String.valueOf(u.requestCount()));
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("attacks")
    void aSecretInTheFieldIsRefusedNamingTheFieldAndNeverReachesTheUpstream(Attack a) {
        List<String> before = received();
        HttpResponse<String> r = send(a, KEY);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode err = json(r.body()).path("error");
        assertThat(err.path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(err.path("message").asText()).contains("openai_key in " + a.field, "class secret");
        assertThat(r.body()).doesNotContain(KEY).doesNotContain("Ab12Cd34");
        assertThat(received()).as("no upstream was called").isEqualTo(before);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("attacks")
    void aSecretSpelledWithJsonEscapesIsFoundAsWell(Attack a) {
        List<String> before = received();
        HttpResponse<String> r = send(a, a.body.contains("\\\"%s\\\"") ? KEY_ESCAPED.replace("\\", "\\\\") : KEY_ESCAPED);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r.body()).path("error").path("message").asText()).contains("openai_key in " + a.field);
        assertThat(received()).isEqualTo(before);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("attacks")
    void anEmailInTheFieldIsRedactedAndNeverReachesTheUpstream(Attack a) {
        ScriptedUpstream up = a.model.equals("m-claude") ? h.claude : a.model.equals("m-resp") ? h.resp : h.a;
        up.enqueue(switch (a.path) {
            case "/v1/messages" -> ScriptedUpstream.anthropicText("ok", 5, 2);
            case "/v1/messages/count_tokens" -> ScriptedUpstream.anthropicTokenCount(9);
            case "/v1/responses" -> ScriptedUpstream.json(200, RESPONSES_TEXT);
            case "/v1/embeddings" -> ScriptedUpstream.openAiEmbeddings("up-embed", 1, 3, 2);
            default -> ScriptedUpstream.openAiText("ok", 5, 2);
        });
        HttpResponse<String> r = send(a, MAIL);
        String sent = ScriptedUpstream.body(up.take());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(sent).doesNotContain(MAIL).doesNotContain("noreply@");
        // The request went up with every field where it was (relayed), the value replaced by its placeholder.
        assertThat(sent).contains("<EMAIL_1>");
    }


    static final String RESPONSES_TEXT = """
            {"id":"resp_1","object":"response","status":"completed","model":"up-resp","output":[{"type":"message",
             "id":"msg_1","role":"assistant","status":"completed","content":[{"type":"output_text","text":"ok",
             "annotations":[]}]}],"usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7}}""";

    @Test
    void claudeCodesToolDescriptionIsRedactedAndTheModelsToolCallGetsTheAddressBack() {
        h.claude.enqueue(ScriptedUpstream.json(200, """
                {"id":"msg_1","type":"message","role":"assistant","model":"claude-up","content":[{"type":"tool_use",
                 "id":"toolu_1","name":"Bash","input":{"command":"git commit -m 'x\\n\\nCo-Authored-By: Claude <<EMAIL_1>>'"}}],
                 "stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":3}}"""));
        HttpResponse<String> r = h.post("/v1/messages", h.memberKey, """
                {"model":"m-claude","max_tokens":50,"messages":[{"role":"user","content":"commit it"}],
                 "tools":[{"name":"Bash","description":"Commit with Co-Authored-By: Claude <noreply@anthropic.com>",
                  "input_schema":{"type":"object","properties":{"command":{"type":"string"}}}}]}""",
                "anthropic-version", "2023-06-01");
        JsonNode up = json(ScriptedUpstream.body(h.claude.take()));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(up.path("tools").get(0).path("description").asText())
                .isEqualTo("Commit with Co-Authored-By: Claude <<EMAIL_1>>");
        assertThat(json(r.body()).path("content").get(0).path("input").path("command").asText())
                .isEqualTo("git commit -m 'x\n\nCo-Authored-By: Claude <noreply@anthropic.com>'");
    }

    @Test
    void aToolCallArgumentsPlaceholderIsRestoredOnChatAndResponses() {
        h.a.enqueue(ScriptedUpstream.json(200, """
                {"id":"c1","object":"chat.completion","model":"up-model","choices":[{"index":0,"message":{"role":"assistant",
                 "content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"send",
                 "arguments":"{\\"to\\":\\"<EMAIL_1>\\"}"}}]},"finish_reason":"tool_calls"}],
                 "usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}"""));
        HttpResponse<String> chat = h.post("/v1/chat/completions", h.memberKey, """
                {"model":"m-solo","messages":[{"role":"user","content":"mail them"}],
                 "tools":[{"type":"function","function":{"name":"send","description":"always copy alice@example.com",
                  "parameters":{"type":"object","properties":{"to":{"type":"string"}}}}}]}""");
        String chatSent = ScriptedUpstream.body(h.a.take());
        assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
        assertThat(chatSent).contains("always copy <EMAIL_1>").doesNotContain("alice@");
        assertThat(json(json(chat.body()).at("/choices/0/message/tool_calls/0/function/arguments").asText()).path("to").asText())
                .isEqualTo("alice@example.com");

        h.resp.enqueue(ScriptedUpstream.json(200, """
                {"id":"resp_2","object":"response","status":"completed","model":"up-resp","output":[{"type":"function_call",
                 "id":"fc_1","call_id":"call_1","name":"send","arguments":"{\\"to\\":\\"<EMAIL_1>\\"}","status":"completed"}],
                 "usage":{"input_tokens":5,"output_tokens":3,"total_tokens":8}}"""));
        HttpResponse<String> resp = h.post("/v1/responses", h.memberKey, """
                {"model":"m-resp","input":"mail them","user":"alice@example.com",
                 "tools":[{"type":"function","name":"send","parameters":{"type":"object"}}]}""");
        JsonNode up = json(ScriptedUpstream.body(h.resp.take()));
        assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
        assertThat(up.path("user").asText()).isEqualTo("<EMAIL_1>");
        assertThat(json(resp.body()).at("/output/0/arguments").asText()).isEqualTo("{\"to\":\"alice@example.com\"}");
    }

    /** The data of every SSE event of a stream, in order, as parsed JSON (the [DONE] line left out). */
    private static List<JsonNode> events(String sse) {
        List<JsonNode> out = new ArrayList<>();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data: ") && !line.equals("data: [DONE]")) out.add(json(line.substring(6)));
        }
        return out;
    }

    private static final String ANTHROPIC_STREAM_REQUEST = """
            {"model":"m-claude","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"commit it"}],
             "tools":[{"name":"Bash","description":"Co-Authored-By: Claude <noreply@anthropic.com>",
              "input_schema":{"type":"object"}}]}""";

    @Test
    void aRelayedAnthropicStreamGetsItsPlaceholdersBackEvenSplitAcrossFramesButNotInItsThinking() {
        String thinkingText = "The address is <EMAIL_1>.";
        h.claude.enqueue(ScriptedUpstream.sse(ScriptedUpstream.anthropicFrames(
                "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"type\":\"message\","
                        + "\"role\":\"assistant\",\"model\":\"claude-up\",\"content\":[],\"stop_reason\":null,"
                        + "\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}",
                "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"" + thinkingText + "\"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"c2ln\"}}",
                "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}",
                "content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"As <EMA\"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"IL_1> then <\"}}",
                "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}",
                "content_block_start", "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"Bash\",\"input\":{}}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"command\\\":\\\"by <<EMAIL\"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"_1>>\\\"}\"}}",
                "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}",
                "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":12}}",
                "message_stop", "{\"type\":\"message_stop\"}"), 0));
        HttpResponse<String> r = h.post("/v1/messages", h.memberKey, ANTHROPIC_STREAM_REQUEST, "anthropic-version", "2023-06-01");
        assertThat(ScriptedUpstream.body(h.claude.take())).doesNotContain("noreply@").contains("<<EMAIL_1>>");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        StringBuilder text = new StringBuilder(), args = new StringBuilder(), thought = new StringBuilder();
        for (JsonNode e : events(r.body())) {
            JsonNode d = e.path("delta");
            if (d.has("text")) text.append(d.path("text").asText());
            if (d.has("partial_json")) args.append(d.path("partial_json").asText());
            if (d.has("thinking")) thought.append(d.path("thinking").asText());
        }
        assertThat(text.toString()).isEqualTo("As noreply@anthropic.com then <");
        assertThat(json(args.toString()).path("command").asText()).isEqualTo("by <noreply@anthropic.com>");
        assertThat(thought.toString()).as("signed: left as the model wrote it").isEqualTo(thinkingText);
        assertThat(r.body()).contains("signature_delta");
    }

    @Test
    void relayedChatAndResponsesStreamsGetTheirPlaceholdersBack() {
        h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("Mail <EM", "AIL_1", "> now"), 5, 3), 0));
        HttpResponse<String> chat = h.post("/v1/chat/completions", h.memberKey, """
                {"model":"m-solo","stream":true,"user":"alice@example.com","messages":[{"role":"user","content":"hi"}]}""");
        assertThat(ScriptedUpstream.body(h.a.take())).doesNotContain("alice@").contains("\"user\":\"<EMAIL_1>\"");
        assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
        StringBuilder text = new StringBuilder();
        for (JsonNode e : events(chat.body())) text.append(e.at("/choices/0/delta/content").asText(""));
        assertThat(text.toString()).isEqualTo("Mail alice@example.com now");

        h.resp.enqueue(ScriptedUpstream.sse(ScriptedUpstream.responsesToolCallStream(
                new ScriptedUpstream.ToolCall("call_1", "send", "{\"to\":\"<EMAIL_1>\"}"), 5, 0, 3), 0));
        HttpResponse<String> resp = h.post("/v1/responses", h.memberKey, """
                {"model":"m-resp","stream":true,"input":"mail them","tools":[{"type":"function","name":"send",
                  "description":"copy alice@example.com","parameters":{"type":"object"}}]}""");
        assertThat(ScriptedUpstream.body(h.resp.take())).doesNotContain("alice@").contains("copy <EMAIL_1>");
        assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
        assertThat(resp.body()).doesNotContain("<EMAIL_1>");
        for (JsonNode e : events(resp.body())) {
            if (e.path("type").asText().equals("response.function_call_arguments.done")) {
                assertThat(e.path("arguments").asText()).isEqualTo("{\"to\":\"alice@example.com\"}");
            }
            if (e.path("type").asText().equals("response.completed")) {
                assertThat(e.at("/response/output/0/arguments").asText()).isEqualTo("{\"to\":\"alice@example.com\"}");
            }
        }
    }

    @Test
    void anEmailInSignedThinkingCannotBeRedactedSoItStaysOffExternalModels() {
        for (String block : List.of("""
                {"type":"thinking","thinking":"Write to bob@example.com.","signature":"c2lnbmVk"}""", """
                {"type":"redacted_thinking","data":"bob@example.com"}""")) {
            int before = h.claude.requestCount();
            HttpResponse<String> r = h.post("/v1/messages", h.memberKey, """
                    {"model":"m-claude","max_tokens":50,"thinking":{"type":"enabled","budget_tokens":20},
                     "messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[%s,
                       {"type":"tool_use","id":"toolu_1","name":"send","input":{}}]},
                      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]}],
                     "tools":[{"name":"send","input_schema":{"type":"object"}}]}""".formatted(block),
                    "anthropic-version", "2023-06-01");
            assertThat(r.statusCode()).as(r.body()).isBetween(400, 499);
            String message = json(r.body()).path("error").path("message").asText();
            assertThat(message).contains("email in messages[1].content[0]", "signed by the model", "private")
                    .doesNotContain("bob@");
            assertThat(h.claude.requestCount()).isEqualTo(before);
        }
    }

    @Test
    void aValueSpelledWithEscapesInsideTheTextItselfIsFoundAndRedactedAsTheModelWouldReadIt() {
        // Not the wire's JSON escapes: backslash-u sequences inside the string, which a model reads as the characters.
        List<String> before = received();
        HttpResponse<String> blocked = h.post("/v1/chat/completions", h.memberKey, """
                {"model":"m-solo","messages":[{"role":"user","content":"hi"}],
                 "tools":[{"type":"function","function":{"name":"send","description":"key sk-proj-\\\\u0041b12Cd34Ef56Gh78Ij90Kl12Mn34"}}]}""");
        assertThat(blocked.statusCode()).as(blocked.body()).isEqualTo(400);
        assertThat(json(blocked.body()).path("error").path("message").asText()).contains("openai_key in tools[0].function.description");
        assertThat(received()).isEqualTo(before);

        h.a.enqueue(ScriptedUpstream.openAiText("ok", 3, 1));
        HttpResponse<String> redacted = h.post("/v1/chat/completions", h.memberKey, """
                {"model":"m-solo","messages":[{"role":"user","content":"hi"}],
                 "tools":[{"type":"function","function":{"name":"send","description":"copy noreply\\\\u0040anthropic.com"}}]}""");
        String sent = ScriptedUpstream.body(h.a.take());
        assertThat(redacted.statusCode()).as(redacted.body()).isEqualTo(200);
        assertThat(json(sent).at("/tools/0/function/description").asText()).isEqualTo("copy <EMAIL_1>");
    }

    @Test
    void aValueInAnObjectKeyIsFoundAndNeverEchoed() {
        assertRefusedAsSchemaPropertyKey(KEY);
    }

    @Test
    void escapedSecretInBraceWrappedTextThatIsNotJsonIsStillFound() {
        // Text framed by braces looks like JSON, but when it does not parse it is text: its escapes are read as the model reads them.
        List<String> before = received();
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, """
                {"model":"m-solo","messages":[{"role":"user","content":"{ my key: sk-proj-\\\\u0041b12Cd34Ef56Gh78Ij90Kl12Mn34 }"}]}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r.body()).path("error").path("message").asText()).contains("openai_key in messages[0].content");
        assertThat(received()).isEqualTo(before);
    }

    @Test
    void escapedSecretInAnObjectKeyIsStillFound() {
        assertRefusedAsSchemaPropertyKey(KEY_ESCAPED.replace("\\", "\\\\"));
    }

    /** A request whose tool schema has {@code key} as a property name is refused, naming the key's place, not its text. */
    private static void assertRefusedAsSchemaPropertyKey(String key) {
        List<String> before = received();
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, """
                {"model":"m-solo","messages":[{"role":"user","content":"hi"}],
                 "tools":[{"type":"function","function":{"name":"send","parameters":{"type":"object",
                  "properties":{"%s":{"type":"string"}}}}}]}""".formatted(key));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r.body()).path("error").path("message").asText())
                .contains("openai_key in tools[0].function.parameters.properties.* (its key)").doesNotContain("Ab12", "b12Cd");
        assertThat(received()).isEqualTo(before);
    }

    @Test
    void secretSentAsTheModelNameIsRefusedAndNeverEchoed() {
        // The model field is Carapace's to replace, so it never goes up as sent; but an unknown name is quoted back.
        List<String> before = received();
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, """
                {"model":"%s","messages":[{"role":"user","content":"hi"}]}""".formatted(KEY));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r.body()).path("error").path("message").asText()).contains("openai_key in model");
        assertThat(r.body()).doesNotContain("Ab12Cd34");
        assertThat(received()).isEqualTo(before);
    }

    @Test
    void escapedSecretHiddenUnderADuplicateKeyInToolCallArgumentsIsStillFound() {
        // Read as JSON, the second "to" wins and hides the first; the model reads the text, both of them.
        List<String> before = received();
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, """
                {"model":"m-solo","messages":[{"role":"user","content":"hi"},
                  {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"send",
                   "arguments":"{\\"to\\":\\"sk-proj-\\\\u0041b12Cd34Ef56Gh78Ij90Kl12Mn34\\",\\"to\\":\\"x\\"}"}}]},
                  {"role":"tool","tool_call_id":"c1","content":"ok"}]}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r.body()).path("error").path("message").asText())
                .contains("openai_key in messages[1].tool_calls[0].function.arguments");
        assertThat(received()).isEqualTo(before);
    }

    @Test
    void placeholderEchoedInAToolCallIdIsNotRestoredIntoTheId() {
        // An id is the API's, sent back as tool_use_id next turn, where a value could not be redacted again; the
        // tool's input is the model's text, "name" in it included, and gets the value back.
        h.claude.enqueue(ScriptedUpstream.json(200, """
                {"id":"msg_1","type":"message","role":"assistant","model":"claude-up","content":[{"type":"tool_use",
                 "id":"toolu_<EMAIL_1>","name":"send","input":{"name":"<EMAIL_1>"}}],
                 "stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":3}}"""));
        HttpResponse<String> r = h.post("/v1/messages", h.memberKey, """
                {"model":"m-claude","max_tokens":50,"messages":[{"role":"user","content":"mail %s"}],
                 "tools":[{"name":"send","input_schema":{"type":"object","properties":{"name":{"type":"string"}}}}]}"""
                .formatted(MAIL), "anthropic-version", "2023-06-01");
        assertThat(ScriptedUpstream.body(h.claude.take())).doesNotContain(MAIL);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode block = json(r.body()).path("content").get(0);
        assertThat(block.path("input").path("name").asText()).isEqualTo(MAIL);
        assertThat(block.path("id").asText()).isEqualTo("toolu_<EMAIL_1>");
    }
}
