package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.identity.KeyAdmin;
import dev.carapace.identity.Principal;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.anthropicText;
import static dev.carapace.testing.ScriptedUpstream.body;
import static dev.carapace.testing.ScriptedUpstream.openAiText;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A corpus of bad requests sent to a real Carapace over real HTTP. Each must be refused with the exact status, an
 * error body in the documented shape of the API it was sent to, no Java internals in the body, a request id, and
 * without a single byte going to an upstream.
 *
 * <p>To add a case, add one line to {@link #openAiCases()} or {@link #anthropicCases()}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MalformedRequestCorpusTest {

    static final String CHAT = "/v1/chat/completions";
    static final String MESSAGES = "/v1/messages";

    /** Fragments that betray a stack trace or internal class names in a client-facing body. */
    static final List<String> INTERNALS = List.of("Exception", "at dev.", "java.lang", "\tat ", "com.fasterxml",
            "org.eclipse.jetty", "dev.carapace");

    enum Api { OPENAI, ANTHROPIC }

    /** Which credentials a case presents. */
    enum Key { MEMBER, NONE, INVALID, REVOKED, NOT_BEARER, EMPTY_BEARER }

    /**
     * One bad request and what Carapace must answer.
     *
     * @param param for OpenAI the exact {@code error.param} (null: JSON null); for Anthropic, whose error shape has
     *              no param, a path the message must name (null: not checked)
     * @param code  for OpenAI the exact {@code error.code}, or null to leave it unchecked
     */
    record Case(String name, Api api, String method, String path, Key key, String contentType, byte[] body,
                int status, String type, String param, String code) {

        Case contentType(String ct) { return new Case(name, api, method, path, key, ct, body, status, type, param, code); }

        Case key(Key k) { return new Case(name, api, method, path, k, contentType, body, status, type, param, code); }

        Case request(String m, String p) { return new Case(name, api, m, p, key, contentType, body, status, type, param, code); }

        @Override
        public String toString() { return api.name().toLowerCase() + ": " + name; }
    }

    static Case oa(String name, String body, int status, String type, String param, String code) {
        return oa(name, body == null ? null : body.getBytes(StandardCharsets.UTF_8), status, type, param, code);
    }

    static Case oa(String name, byte[] body, int status, String type, String param, String code) {
        return new Case(name, Api.OPENAI, "POST", CHAT, Key.MEMBER, "application/json", body, status, type, param, code);
    }

    static Case an(String name, String body, int status, String type, String param) {
        return an(name, body == null ? null : body.getBytes(StandardCharsets.UTF_8), status, type, param);
    }

    static Case an(String name, byte[] body, int status, String type, String param) {
        return new Case(name, Api.ANTHROPIC, "POST", MESSAGES, Key.MEMBER, "application/json", body, status, type, param, null);
    }

    /** A valid OpenAI body with {@code fields} (JSON members, without braces) replacing or adding top-level fields. */
    static String chatWith(String fields) {
        return "{" + fields + "}";
    }

    static final String OK_MSGS = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
    static final String OK_CHAT = "\"model\":\"m-solo\"," + OK_MSGS;
    static final String OK_ANTHROPIC = "\"model\":\"m-solo\",\"max_tokens\":64," + OK_MSGS;

    static final String BAD = "invalid_request_error";

    static byte[] invalidUtf8(String before, byte[] bad, String after) {
        byte[] a = before.getBytes(StandardCharsets.UTF_8);
        byte[] c = after.getBytes(StandardCharsets.UTF_8);
        byte[] out = Arrays.copyOf(a, a.length + bad.length + c.length);
        System.arraycopy(bad, 0, out, a.length, bad.length);
        System.arraycopy(c, 0, out, a.length + bad.length, c.length);
        return out;
    }

    static final byte[] BAD_UTF8 = {(byte) 0xC3, (byte) 0x28, (byte) 0xFF, (byte) 0xFE};

    static Stream<Case> openAiCases() {
        String okTool = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"weather\",\"parameters\":%s}}]";
        return Stream.of(
                // ---- not a JSON object at all ----
                oa("empty body", "", 400, BAD, null, "invalid_request"),
                oa("whitespace only", "   \n ", 400, BAD, null, "invalid_request"),
                oa("truncated JSON", "{\"model\":\"m-solo\",\"messages\":[{\"role\":\"user\"", 400, BAD, null, "invalid_request"),
                oa("trailing garbage", chatWith(OK_CHAT) + " }{", 400, BAD, null, "invalid_request"),
                oa("JSON array", "[" + chatWith(OK_CHAT) + "]", 400, BAD, null, "invalid_request"),
                oa("JSON number", "42", 400, BAD, null, "invalid_request"),
                oa("JSON string", "\"please answer\"", 400, BAD, null, "invalid_request"),
                oa("JSON null", "null", 400, BAD, null, "invalid_request"),
                oa("single quotes", "{'model':'m-solo'}", 400, BAD, null, "invalid_request"),
                oa("100k nested arrays", "[".repeat(100_000), 400, BAD, null, "invalid_request"),
                oa("100k nested arrays inside content",
                        "{\"model\":\"m-solo\",\"messages\":[{\"role\":\"user\",\"content\":" + "[".repeat(100_000),
                        400, BAD, null, "invalid_request"),
                oa("invalid UTF-8 in content", invalidUtf8("{\"model\":\"m-solo\",\"messages\":[{\"role\":\"user\",\"content\":\"",
                        BAD_UTF8, "\"}]}"), 400, BAD, null, "invalid_request"),
                oa("invalid UTF-8 as whole body", BAD_UTF8, 400, BAD, null, "invalid_request"),
                // ---- wrong types and values of the main fields ----
                oa("model is a number", chatWith("\"model\":4," + OK_MSGS), 400, BAD, "model", "invalid_request"),
                oa("model is missing", chatWith(OK_MSGS), 400, BAD, "model", "invalid_request"),
                oa("messages is a string", chatWith("\"model\":\"m-solo\",\"messages\":\"hi\""), 400, BAD, "messages", "invalid_request"),
                oa("messages is an object", chatWith("\"model\":\"m-solo\",\"messages\":{\"role\":\"user\"}"), 400, BAD, "messages", "invalid_request"),
                oa("messages is empty", chatWith("\"model\":\"m-solo\",\"messages\":[]"), 400, BAD, "messages", "invalid_request"),
                oa("messages is missing", chatWith("\"model\":\"m-solo\""), 400, BAD, "messages", "invalid_request"),
                oa("message is a string", chatWith("\"model\":\"m-solo\",\"messages\":[\"hi\"]"), 400, BAD, "messages[0]", "invalid_request"),
                oa("invalid role", chatWith("\"model\":\"m-solo\",\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]"),
                        400, BAD, "messages[0].role", "invalid_request"),
                oa("role is missing", chatWith("\"model\":\"m-solo\",\"messages\":[{\"content\":\"hi\"}]"),
                        400, BAD, "messages[0].role", "invalid_request"),
                oa("content is a number", chatWith("\"model\":\"m-solo\",\"messages\":[{\"role\":\"user\",\"content\":7}]"),
                        400, BAD, "messages[0].content", "invalid_request"),
                oa("tool_calls is a string", chatWith("\"model\":\"m-solo\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":\"x\"}]"),
                        400, BAD, "messages[0].tool_calls", "invalid_request"),
                oa("stream is a string", chatWith(OK_CHAT + ",\"stream\":\"yes\""), 400, BAD, "stream", "invalid_request"),
                oa("max_tokens is negative", chatWith(OK_CHAT + ",\"max_tokens\":-1"), 400, BAD, "max_tokens", "invalid_request"),
                oa("max_tokens is a string", chatWith(OK_CHAT + ",\"max_tokens\":\"100\""), 400, BAD, "max_tokens", "invalid_request"),
                oa("max_tokens is a fraction", chatWith(OK_CHAT + ",\"max_tokens\":1.5"), 400, BAD, "max_tokens", "invalid_request"),
                oa("temperature out of range", chatWith(OK_CHAT + ",\"temperature\":5"), 400, BAD, "temperature", "invalid_request"),
                oa("temperature is a string", chatWith(OK_CHAT + ",\"temperature\":\"hot\""), 400, BAD, "temperature", "invalid_request"),
                oa("top_p out of range", chatWith(OK_CHAT + ",\"top_p\":1.5"), 400, BAD, "top_p", "invalid_request"),
                oa("stop is a number", chatWith(OK_CHAT + ",\"stop\":3"), 400, BAD, "stop", "invalid_request"),
                oa("user is a number", chatWith(OK_CHAT + ",\"user\":12"), 400, BAD, "user", "invalid_request"),
                oa("n is 2", chatWith(OK_CHAT + ",\"n\":2"), 400, BAD, "n", "invalid_request"),
                oa("stream_options without stream", chatWith(OK_CHAT + ",\"stream_options\":{\"include_usage\":true}"),
                        400, BAD, "stream_options", "invalid_request"),
                oa("unknown field in a tool", chatWith(OK_CHAT + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"w\"},\"extra\":1}]"),
                        400, BAD, "tools[0].extra", "invalid_request"),
                oa("deprecated functions", chatWith(OK_CHAT + ",\"functions\":[]"), 400, BAD, "functions", "invalid_request"),
                // ---- tools ----
                oa("tools is an object", chatWith(OK_CHAT + ",\"tools\":{}"), 400, BAD, "tools", "invalid_request"),
                oa("tool parameters is a string", chatWith(OK_CHAT + "," + okTool.formatted("\"object\"")),
                        400, BAD, "tools[0].function.parameters", "invalid_request"),
                oa("tool parameters is an array", chatWith(OK_CHAT + "," + okTool.formatted("[]")),
                        400, BAD, "tools[0].function.parameters", "invalid_request"),
                oa("tool parameters of type string", chatWith(OK_CHAT + "," + okTool.formatted("{\"type\":\"string\"}")),
                        400, BAD, "tools[0].function.parameters", "invalid_request"),
                oa("tool name with spaces", chatWith(OK_CHAT + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get the weather\"}}]"),
                        400, BAD, "tools[0].function.name", "invalid_request"),
                oa("tool of another type", chatWith(OK_CHAT + ",\"tools\":[{\"type\":\"web_search\",\"function\":{\"name\":\"w\"}}]"),
                        400, BAD, "tools[0].type", "invalid_request"),
                oa("tool_choice names no tool", chatWith(OK_CHAT + "," + okTool.formatted("{\"type\":\"object\"}")
                        + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"other\"}}"),
                        400, BAD, "tool_choice.function.name", "invalid_request"),
                oa("tool_choice is a number", chatWith(OK_CHAT + ",\"tool_choice\":1"), 400, BAD, "tool_choice", "invalid_request"),
                // ---- routing ----
                oa("unknown model", chatWith("\"model\":\"gpt-9-imaginary\"," + OK_MSGS), 404, "not_found_error", "model", "model_not_found"),
                oa("unknown tier", chatWith("\"model\":\"tier:nope\"," + OK_MSGS), 404, "not_found_error", "model", "model_not_found"),
                // ---- content types ----
                oa("text/plain", chatWith(OK_CHAT), 415, BAD, null, "unsupported_media_type").contentType("text/plain"),
                // once accepted: the check was that the type contains "json"
                oa("text/notjson", chatWith(OK_CHAT), 415, BAD, null, "unsupported_media_type").contentType("text/notjson"),
                oa("form-urlencoded", "model=m-solo&messages=hi", 415, BAD, null, "unsupported_media_type")
                        .contentType("application/x-www-form-urlencoded"),
                oa("multipart", "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm-solo\r\n--b--\r\n", 415, BAD, null,
                        "unsupported_media_type").contentType("multipart/form-data; boundary=b"),
                oa("XML", "<chat/>", 415, BAD, null, "unsupported_media_type").contentType("application/xml"),
                // ---- credentials ----
                oa("no API key", chatWith(OK_CHAT), 401, "authentication_error", null, "missing_api_key").key(Key.NONE),
                oa("unknown API key", chatWith(OK_CHAT), 401, "authentication_error", null, "invalid_api_key").key(Key.INVALID),
                oa("revoked API key", chatWith(OK_CHAT), 401, "authentication_error", null, "revoked_api_key").key(Key.REVOKED),
                oa("Authorization without Bearer", chatWith(OK_CHAT), 401, "authentication_error", null, "invalid_api_key").key(Key.NOT_BEARER),
                // HTTP drops the trailing blank, so this arrives as "Bearer": not the 'Bearer KEY' form
                oa("Authorization: Bearer and nothing", chatWith(OK_CHAT), 401, "authentication_error", null, "invalid_api_key").key(Key.EMPTY_BEARER),
                oa("bad key wins over bad body", "{not json", 401, "authentication_error", null, "invalid_api_key").key(Key.INVALID),
                // ---- routes ----
                // a known path with another method: 405 with Allow, as OpenAI answers it
                oa("GET on the POST route", (String) null, 405, BAD, null, "method_not_allowed").request("GET", CHAT),
                oa("PUT on the POST route", chatWith(OK_CHAT), 405, BAD, null, "method_not_allowed").request("PUT", CHAT),
                oa("legacy completions endpoint", "{\"model\":\"m-solo\",\"prompt\":\"hi\"}", 404, "not_found_error", null,
                        "unknown_endpoint").request("POST", "/v1/completions"),
                oa("unknown endpoint", (String) null, 404, "not_found_error", null, "unknown_endpoint").request("GET", "/v2/whatever"));
    }

    static Stream<Case> anthropicCases() {
        String tool = "\"tools\":[{\"name\":%s,\"input_schema\":%s}]";
        return Stream.of(
                an("empty body", "", 400, BAD, null),
                an("truncated JSON", "{\"model\":\"m-solo\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"h", 400, BAD, null),
                an("JSON array", "[]", 400, BAD, null),
                an("JSON number", "3.14", 400, BAD, null),
                an("JSON string", "\"hi\"", 400, BAD, null),
                an("100k nested arrays", "[".repeat(100_000), 400, BAD, null),
                an("100k nested arrays inside content",
                        "{\"model\":\"m-solo\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":" + "[".repeat(100_000),
                        400, BAD, null),
                an("invalid UTF-8 in content", invalidUtf8("{\"model\":\"m-solo\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"",
                        BAD_UTF8, "\"}]}"), 400, BAD, null),
                an("model is a number", chatWith("\"model\":1,\"max_tokens\":64," + OK_MSGS), 400, BAD, "model"),
                an("model is missing", chatWith("\"max_tokens\":64," + OK_MSGS), 400, BAD, "model"),
                an("max_tokens is missing", chatWith("\"model\":\"m-solo\"," + OK_MSGS), 400, BAD, "max_tokens"),
                an("max_tokens is a string", chatWith("\"model\":\"m-solo\",\"max_tokens\":\"64\"," + OK_MSGS), 400, BAD, "max_tokens"),
                an("max_tokens is zero", chatWith("\"model\":\"m-solo\",\"max_tokens\":0," + OK_MSGS), 400, BAD, "max_tokens"),
                an("messages is missing", chatWith("\"model\":\"m-solo\",\"max_tokens\":64"), 400, BAD, "messages"),
                an("messages is an object", chatWith("\"model\":\"m-solo\",\"max_tokens\":64,\"messages\":{}"), 400, BAD, "messages"),
                an("messages is empty", chatWith("\"model\":\"m-solo\",\"max_tokens\":64,\"messages\":[]"), 400, BAD, "messages"),
                an("image in a system turn", chatWith("\"model\":\"m-solo\",\"max_tokens\":64,\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"image\"}]}]"),
                        400, BAD, "messages[0].content[0].type"),
                an("invalid role", chatWith("\"model\":\"m-solo\",\"max_tokens\":64,\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]"),
                        400, BAD, "messages[0].role"),
                an("content is a number", chatWith("\"model\":\"m-solo\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":5}]"),
                        400, BAD, "messages[0].content"),
                an("unknown block type", chatWith("\"model\":\"m-solo\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"video\"}]}]"),
                        400, BAD, "messages[0].content[0]"),   // kept for a relay; an OpenAI upstream cannot take it
                an("stream is a string", chatWith(OK_ANTHROPIC + ",\"stream\":\"true\""), 400, BAD, "stream"),
                an("temperature above 1", chatWith(OK_ANTHROPIC + ",\"temperature\":1.5"), 400, BAD, "temperature"),
                an("system is a number", chatWith(OK_ANTHROPIC + ",\"system\":9"), 400, BAD, "system"),
                an("stop_sequences is a string", chatWith(OK_ANTHROPIC + ",\"stop_sequences\":\"END\""), 400, BAD, "stop_sequences"),
                an("metadata user_id is a number", chatWith(OK_ANTHROPIC + ",\"metadata\":{\"user_id\":7}"), 400, BAD, "metadata.user_id"),
                an("output_config is a string", chatWith(OK_ANTHROPIC + ",\"output_config\":\"fast\""), 400, BAD, "output_config"),
                an("tool input_schema is a string", chatWith(OK_ANTHROPIC + "," + tool.formatted("\"weather\"", "\"object\"")),
                        400, BAD, "tools[0].input_schema"),
                an("tool input_schema is missing", chatWith(OK_ANTHROPIC + ",\"tools\":[{\"name\":\"weather\"}]"),
                        400, BAD, "tools[0].input_schema"),
                an("tool name with spaces", chatWith(OK_ANTHROPIC + "," + tool.formatted("\"get the weather\"", "{\"type\":\"object\"}")),
                        400, BAD, "tools[0].name"),
                an("tool_choice of unknown type", chatWith(OK_ANTHROPIC + ",\"tool_choice\":{\"type\":\"maybe\"}"), 400, BAD, "tool_choice.type"),
                an("unknown model", chatWith("\"model\":\"claude-imaginary\",\"max_tokens\":64," + OK_MSGS), 404, "not_found_error", "claude-imaginary"),
                an("text/plain", chatWith(OK_ANTHROPIC), 415, BAD, null).contentType("text/plain"),
                an("form-urlencoded", "model=m-solo", 415, BAD, null).contentType("application/x-www-form-urlencoded"),
                an("multipart", "--b\r\n\r\nx\r\n--b--\r\n", 415, BAD, null).contentType("multipart/form-data; boundary=b"),
                an("no API key", chatWith(OK_ANTHROPIC), 401, "authentication_error", null).key(Key.NONE),
                an("unknown API key", chatWith(OK_ANTHROPIC), 401, "authentication_error", null).key(Key.INVALID),
                an("revoked API key", chatWith(OK_ANTHROPIC), 401, "authentication_error", null).key(Key.REVOKED),
                an("Authorization without Bearer", chatWith(OK_ANTHROPIC), 401, "authentication_error", null).key(Key.NOT_BEARER),
                an("GET on the POST route", (String) null, 405, BAD, null).request("GET", MESSAGES),
                an("GET on count_tokens", (String) null, 405, BAD, null).request("GET", "/v1/messages/count_tokens"),
                an("unknown endpoint", (String) null, 404, "not_found_error", null).request("GET", "/v1/messages/count"));
    }

    // ---- the server ----

    @TempDir static Path data;
    @TempDir static Path limitedData;
    static GatewayHarness h;
    static String revokedKey;

    @BeforeAll
    static void start() throws Exception {
        h = new GatewayHarness(data);
        // Should anything slip through, answer it at once (a quick 200 fails the status check; no read timeouts).
        h.a.respond(r -> openAiText("slipped through", 1, 1));
        h.b.respond(r -> openAiText("slipped through", 1, 1));
        h.claude.respond(r -> anthropicText("slipped through", 1, 1));
        KeyAdmin admin = h.carapace.keyAdmin();
        KeyAdmin.Created k = admin.create("mallory", "platform", Principal.Role.MEMBER, null);
        assertThat(admin.revoke(k.key().prefix())).isTrue();
        revokedKey = k.secret();
    }

    @AfterAll
    static void stop() {
        if (h != null) h.close();
    }

    static int upstreamRequests(GatewayHarness g) {
        return g.a.requestCount() + g.b.requestCount() + g.claude.requestCount();
    }

    static HttpResponse<String> send(GatewayHarness g, Case c) {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(g.url(c.path())))
                .method(c.method(), c.body() == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(c.body()));
        if (c.body() != null && c.contentType() != null) r.header("content-type", c.contentType());
        if (c.api() == Api.ANTHROPIC) r.header("anthropic-version", "2023-06-01");
        String key = switch (c.key()) {
            case MEMBER -> g.memberKey;
            case INVALID -> "cpk_AAAAAAAA_thisisnotakeythisisnotakeyxx";
            case REVOKED -> revokedKey;
            default -> null;
        };
        switch (c.key()) {
            case NONE -> { }
            case NOT_BEARER -> r.header("authorization", "Basic " + java.util.Base64.getEncoder()
                    .encodeToString(("alice:" + g.memberKey).getBytes(StandardCharsets.UTF_8)));
            case EMPTY_BEARER -> r.header("authorization", "Bearer ");
            default -> {
                if (c.api() == Api.ANTHROPIC) r.header("x-api-key", key);
                else r.header("authorization", "Bearer " + key);
            }
        }
        return g.send(r.build());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("openAiCases")
    void openAiCorpus(Case c) {
        check(h, c);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("anthropicCases")
    void anthropicCorpus(Case c) {
        check(h, c);
    }

    @Test
    void theCorpusIsLargeEnough() {
        assertThat(openAiCases().count() + anthropicCases().count()).isGreaterThanOrEqualTo(40);
    }

    static void check(GatewayHarness g, Case c) {
        int before = upstreamRequests(g);
        HttpResponse<String> r = send(g, c);

        assertThat(r.statusCode()).as("status; body: %s", r.body()).isEqualTo(c.status());
        assertThat(r.headers().firstValue("x-request-id")).as("x-request-id").hasValueSatisfying(id -> assertThat(id).isNotBlank());
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("application/json");
        assertThat(r.headers().firstValue("x-should-retry")).as("a malformed request is not worth retrying").hasValue("false");
        for (String fragment : INTERNALS) assertThat(r.body()).as("no internals in the body").doesNotContain(fragment);
        // every secret the gateway knows stays out of the answer
        assertThat(r.body()).doesNotContain(g.memberKey).doesNotContain("secret-a").doesNotContain("secret-claude");
        if (revokedKey != null) assertThat(r.body()).doesNotContain(revokedKey.substring(13));

        JsonNode body = json(r.body());
        if (c.api() == Api.OPENAI) {
            assertThat(fieldNames(body)).containsExactly("error");
            JsonNode e = body.get("error");
            assertThat(fieldNames(e)).containsExactlyInAnyOrder("message", "type", "param", "code");
            assertThat(e.get("message").isTextual()).isTrue();
            assertThat(e.get("message").asText()).isNotBlank();
            assertThat(e.get("type").asText()).isEqualTo(c.type());
            if (c.param() == null) {
                assertThat(e.get("param").isNull()).as("param should be null, was %s", e.get("param")).isTrue();
            } else {
                assertThat(e.get("param").isTextual()).isTrue();
                assertThat(e.get("param").asText()).isEqualTo(c.param());
                if (c.status() == 400) assertThat(e.get("message").asText()).as("the message names the field").contains(c.param());
            }
            if (c.code() != null) assertThat(e.get("code").asText()).isEqualTo(c.code());
        } else {
            assertThat(fieldNames(body)).containsExactlyInAnyOrder("type", "error");
            assertThat(body.get("type").asText()).isEqualTo("error");
            JsonNode e = body.get("error");
            assertThat(fieldNames(e)).containsExactlyInAnyOrder("type", "message");
            assertThat(e.get("type").asText()).isEqualTo(c.type());
            assertThat(e.get("message").isTextual()).isTrue();
            assertThat(e.get("message").asText()).isNotBlank();
            if (c.param() != null) assertThat(e.get("message").asText()).as("the message names the field").contains(c.param());
            assertThat(r.headers().firstValue("request-id")).isEqualTo(r.headers().firstValue("x-request-id"));
        }
        assertThat(upstreamRequests(g)).as("no upstream was called").isEqualTo(before);
    }

    static List<String> fieldNames(JsonNode n) {
        assertThat(n).isNotNull();
        assertThat(n.isObject()).as("a JSON object: %s", n).isTrue();
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    // ---- body sizes ----

    static String hugeContent(int chars) {
        StringBuilder sb = new StringBuilder(chars);
        while (sb.length() < chars) sb.append("lorem ipsum dolor sit amet ");
        sb.setLength(chars);
        return sb.toString();
    }

    /** 2 MB of content is well under the default 10 MiB limit: it must be served, never turned into a 5xx. */
    @Test
    void twoMegabytesOfContentUnderTheDefaultLimitIsAccepted() {
        String content = hugeContent(2 * 1024 * 1024);
        int before = h.a.requestCount();
        HttpResponse<String> r = h.post(CHAT, h.memberKey,
                "{\"model\":\"m-solo\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(h.a.requestCount()).isEqualTo(before + 1);

        HttpResponse<String> an = h.post(MESSAGES, h.memberKey,
                "{\"model\":\"m-solo\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}",
                "anthropic-version", "2023-06-01");
        assertThat(an.statusCode()).as(an.body()).isEqualTo(200);
        assertThat(json(an.body()).get("type").asText()).isEqualTo("message");
    }

    /** With server.max_body_bytes at 64 KiB: exactly the limit passes, one byte more is a 413 in the API's shape. */
    @Nested
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    class BodyLimit {

        static final int LIMIT = 64 * 1024;

        GatewayHarness small;

        @BeforeAll
        void start() throws Exception {
            small = new GatewayHarness(limitedData, "server:\n  max_body_bytes: 64KiB\n");
            small.a.respond(r -> openAiText("fits", 1, 1));
            small.b.respond(r -> openAiText("fits", 1, 1));
        }

        @AfterAll
        void stop() {
            if (small != null) small.close();
        }

        /** A valid chat body of exactly {@code size} bytes. */
        String chatOfSize(int size, boolean anthropic) {
            String head = anthropic
                    ? "{\"model\":\"m-solo\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\""
                    : "{\"model\":\"m-solo\",\"messages\":[{\"role\":\"user\",\"content\":\"";
            String tail = "\"}]}";
            String s = head + "x".repeat(size - head.length() - tail.length()) + tail;
            assertThat(s.getBytes(StandardCharsets.UTF_8)).hasSize(size);
            return s;
        }

        @Test
        void aBodyOfExactlyTheLimitIsServed() {
            HttpResponse<String> r = small.post(CHAT, small.memberKey, chatOfSize(LIMIT, false));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(body(small.a.take())).contains("x".repeat(1000));
        }

        @Test
        void oneByteOverTheLimitIs413OpenAi() {
            Case c = new Case("limit+1", Api.OPENAI, "POST", CHAT, Key.MEMBER, "application/json",
                    chatOfSize(LIMIT + 1, false).getBytes(StandardCharsets.UTF_8), 413, BAD, null, "request_too_large");
            check(small, c);
            assertThat(json(send(small, c).body()).at("/error/message").asText()).contains("65536");
        }

        @Test
        void oneByteOverTheLimitIs413Anthropic() {
            check(small, new Case("limit+1", Api.ANTHROPIC, "POST", MESSAGES, Key.MEMBER, "application/json",
                    chatOfSize(LIMIT + 1, true).getBytes(StandardCharsets.UTF_8), 413, "request_too_large", null, null));
        }

        @Test
        void twoMegabytesAreRefusedWith413() {
            byte[] big = ("{\"model\":\"m-solo\",\"messages\":[{\"role\":\"user\",\"content\":\"" + hugeContent(2 << 20) + "\"}]}")
                    .getBytes(StandardCharsets.UTF_8);
            check(small, new Case("2 MB", Api.OPENAI, "POST", CHAT, Key.MEMBER, "application/json", big, 413, BAD, null,
                    "request_too_large"));
            check(small, new Case("2 MB", Api.ANTHROPIC, "POST", MESSAGES, Key.MEMBER, "application/json", big, 413,
                    "request_too_large", null, null));
        }

        @Test
        void aChunkedBodyWithoutContentLengthIsCountedToo() {
            byte[] big = chatOfSize(LIMIT + 10, false).getBytes(StandardCharsets.UTF_8);
            int before = upstreamRequests(small);
            HttpRequest req = HttpRequest.newBuilder(URI.create(small.url(CHAT)))
                    .header("content-type", "application/json")
                    .header("authorization", "Bearer " + small.memberKey)
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big)))
                    .build();
            HttpResponse<String> r = small.send(req);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(413);
            assertThat(json(r.body()).at("/error/code").asText()).isEqualTo("request_too_large");
            assertThat(upstreamRequests(small)).isEqualTo(before);
        }

        @Test
        void theServerStillAnswersAfterRefusingLargeBodies() {
            twoMegabytesAreRefusedWith413();
            HttpResponse<String> r = small.post(CHAT, small.memberKey, chatOfSize(1000, false));
            assertThat(r.statusCode()).isEqualTo(200);
        }
    }
}
