package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.HarnessProcess;
import dev.carapace.testing.ScriptedUpstream;
import dev.carapace.testing.SignedThinkingScript;
import dev.carapace.testing.VendorTrap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Claude Code ({@code @anthropic-ai/claude-code} as pinned in harness-tests, the real binary) through a real Carapace,
 * unchanged and on its defaults: thinking on, its betas, tools with {@code defer_loading}, a system turn inside the
 * messages, {@code max_tokens} above the model's limit. In front of an Anthropic upstream that signs its thinking and
 * refuses a history without it, the request is relayed as it came; in front of an OpenAI one it is translated, and what
 * could not go is named. Between Claude Code and Carapace sits a recording proxy, so the test sees what Claude Code sent
 * and the headers it got back. Claude Code is kept from its vendor: telemetry off, and its proxy variables point at a
 * trap that must see no connection.
 */
class ClaudeCodeHarnessTest {

    @TempDir
    Path tmp;
    private GatewayHarness h;
    private Recorder proxy;
    private VendorTrap vendor;

    @BeforeEach
    void start() throws Exception {
        h = new GatewayHarness(tmp.resolve("data"));
        proxy = new Recorder(h.url(""));
        vendor = new VendorTrap();
    }

    @AfterEach
    void stop() {
        if (vendor != null) vendor.close();
        if (proxy != null) proxy.close();
        if (h != null) h.close();
    }

    @Test
    void saysHiAndRunsAToolRoundWithSignedThinkingRelayedToAnAnthropicUpstream() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path note = Files.writeString(work.resolve("note.txt"), "the secret word is plum\n");
        SignedThinkingScript upstream = new SignedThinkingScript("upstream-signing-key", body -> {
            String result = lastToolResult(body);
            if (result != null) {
                return new SignedThinkingScript.Answer("The file is read; answer.", "The note says: " + result.strip(),
                        null, 1210, 300, 17);
            }
            if (lastUserText(body).contains("note.txt")) {
                return new SignedThinkingScript.Answer("I should read the file first.", null,
                        new SignedThinkingScript.ToolUse("toolu_read1", "Read",
                                "{\"file_path\":" + ScriptedUpstream.quote(note.toString()) + "}"), 1180, 0, 41);
            }
            return new SignedThinkingScript.Answer("A greeting.", "Hi! How can I help?", null, 950, 0, 9);
        });
        h.claude.respond(upstream);

        Run hi = claude(work, "say hi", "m-claude");
        assertThat(hi.result()).as(hi.toString()).isEqualTo("Hi! How can I help?");

        Run tool = claude(work, "What does note.txt say? Use the Read tool.", "m-claude");
        assertThat(tool.result()).as(tool.toString()).startsWith("The note says: ").contains("the secret word is plum");

        List<SignedThinkingScript.Seen> seen = upstream.seen();
        assertThat(seen).extracting(SignedThinkingScript.Seen::status).as("no request refused upstream")
                .containsOnly(200);
        assertThat(seen).hasSize(3);
        List<Recorder.Exchange> calls = proxy.exchanges("/v1/messages");
        assertThat(calls).hasSize(3);

        // The second turn of the tool round carries the signed thinking of the first, as the upstream wrote it.
        JsonNode second = seen.get(2).body();
        JsonNode assistant = second.path("messages").get(second.path("messages").size() - 2);
        assertThat(assistant.path("role").asText()).isEqualTo("assistant");
        assertThat(assistant.path("content").get(0).path("type").asText()).isEqualTo("thinking");
        assertThat(assistant.path("content").get(0).path("signature").asText())
                .isEqualTo(upstream.sign("I should read the file first."));
        assertThat(assistant.path("content").get(1).path("name").asText()).isEqualTo("Read");

        for (int i = 0; i < 3; i++) {
            Recorder.Exchange call = calls.get(i);
            ObjectNode sent = (ObjectNode) GatewayHarness.json(call.requestBody());
            ObjectNode relayed = (ObjectNode) seen.get(i).body().deepCopy();
            // Claude Code on its defaults, as captured: thinking, its betas, and fields Carapace does not model
            assertThat(sent.path("thinking").path("type").asText()).isNotIn("", "disabled");
            assertThat(sent.has("context_management")).isTrue();
            assertThat(sent.path("max_tokens").asInt()).isGreaterThan(8192);
            assertThat(call.requestHeader("anthropic-beta")).contains("interleaved-thinking");
            // relayed as it came: only the model and the clamped limit differ, and the betas went up too
            assertThat(relayed.path("model").asText()).isEqualTo("claude-up");
            assertThat(relayed.path("max_tokens").asInt()).isEqualTo(8192);
            assertThat(call.responseHeader("x-carapace-clamped")).isEqualTo("max_tokens=" + sent.path("max_tokens").asInt()
                    + "->8192");
            assertThat(call.responseHeader("x-carapace-dropped")).isNull();
            sent.remove(List.of("model", "max_tokens"));
            relayed.remove(List.of("model", "max_tokens"));
            assertThat(relayed).isEqualTo(sent);
            assertThat(seen.get(i).beta()).isEqualTo(call.requestHeader("anthropic-beta"));
        }
        JsonNode tools = seen.get(0).body().path("tools");
        assertThat(tools.findValues("defer_loading")).as("tool fields went up").isNotEmpty();

        // Metered exactly: a record per upstream call, with the upstream's own figures.
        int[][] figures = {{950, 0, 9}, {1180, 0, 41}, {1210, 300, 17}};
        for (int i = 0; i < 3; i++) {
            UsageRecord r = record(calls.get(i));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.estimated()).isFalse();
            assertThat(r.inputTokens()).isEqualTo(figures[i][0] + figures[i][1]);
            assertThat(r.cachedInputTokens()).isEqualTo(figures[i][1]);
            assertThat(r.outputTokens()).isEqualTo(figures[i][2]);
        }
        assertThat(h.carapace.store().usageLog().count()).isEqualTo(3);
        assertThat(vendor.attempts()).as("Claude Code reached for its vendor").isEmpty();
    }

    /**
     * With privacy on, every Claude Code request carries personal data outside its messages (its tool descriptions
     * hold an e-mail address; here the file it reads holds another): each is redacted where it is and still relayed,
     * so the signed thinking of the tool round goes back as the upstream wrote it, and Claude Code sees the values.
     */
    @Test
    void withPrivacyOnItsRequestsAreRedactedInEveryFieldAndStillRelayedThroughAToolRound() throws Exception {
        stop();
        h = new GatewayHarness(tmp.resolve("data-private"), """
                privacy:
                  actions: {block: [secret], redact: [pii]}
                """);
        proxy = new Recorder(h.url(""));
        vendor = new VendorTrap();
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path note = Files.writeString(work.resolve("note.txt"), "write to carol.jones@example.com\n");
        SignedThinkingScript upstream = new SignedThinkingScript("upstream-signing-key", body -> {
            String result = lastToolResult(body);
            if (result != null) {
                return new SignedThinkingScript.Answer("The file is read.", "The note says: " + result.strip(), null, 1210, 0, 17);
            }
            return new SignedThinkingScript.Answer("I should read the file first.", null,
                    new SignedThinkingScript.ToolUse("toolu_read1", "Read",
                            "{\"file_path\":" + ScriptedUpstream.quote(note.toString()) + "}"), 1180, 0, 41);
        });
        h.claude.respond(upstream);

        Run tool = claude(work, "What does note.txt say? Use the Read tool.", "m-claude");
        assertThat(tool.result()).as(tool.toString()).startsWith("The note says: ").contains("write to carol.jones@example.com");

        List<SignedThinkingScript.Seen> seen = upstream.seen();
        assertThat(seen).extracting(SignedThinkingScript.Seen::status).as("no request refused upstream").containsOnly(200);
        assertThat(seen).hasSize(2);
        for (SignedThinkingScript.Seen s : seen) {
            assertThat(s.body().toString()).doesNotContain("carol.jones@example.com").doesNotContain("@anthropic.com");
            assertThat(s.body().has("context_management")).as("relayed, not rebuilt").isTrue();
        }
        List<Recorder.Exchange> calls = proxy.exchanges("/v1/messages");
        assertThat(calls.getFirst().requestBody()).as("Claude Code's own tools carry an address").contains("@anthropic.com");
        assertThat(seen.getFirst().body().toString()).contains("<EMAIL_");
        JsonNode second = seen.get(1).body();
        JsonNode assistant = second.path("messages").get(second.path("messages").size() - 2);
        assertThat(assistant.path("content").get(0).path("signature").asText())
                .isEqualTo(upstream.sign("I should read the file first."));
        assertThat(vendor.attempts()).as("Claude Code reached for its vendor").isEmpty();
    }

    @Test
    void saysHiAndRunsAToolRoundThroughAnOpenAiUpstreamNamingWhatTheTranslationDropped() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("Hi", " from OpenAI."), 812, 6), 0));

        Run hi = claude(work, "say hi", "m-solo");
        assertThat(hi.result()).as(hi.toString()).isEqualTo("Hi from OpenAI.");

        Recorder.Exchange call = proxy.exchanges("/v1/messages").getFirst();
        JsonNode sent = GatewayHarness.json(call.requestBody());
        JsonNode up = GatewayHarness.json(ScriptedUpstream.body(h.a.take()));
        // translated: the system turn Claude Code put inside the messages stays a system message, in place
        assertThat(up.path("messages").get(0).path("role").asText()).isEqualTo("system");
        assertThat(up.path("messages").findValuesAsText("role")).contains("user").containsSubsequence("user", "system");
        assertThat(up.has("thinking")).isFalse();
        assertThat(up.has("context_management")).isFalse();
        assertThat(up.path("max_tokens").asInt()).isEqualTo(4096);
        assertThat(call.responseHeader("x-carapace-clamped"))
                .isEqualTo("max_tokens=" + sent.path("max_tokens").asInt() + "->4096");
        Set<String> dropped = Set.of(call.responseHeader("x-carapace-dropped").split(","));
        assertThat(dropped).contains("thinking", "context_management", "output_config", "tools[].defer_loading",
                "cache_control", "anthropic-beta");

        // A tool round, translated both ways: the tool call reaches Claude Code, its result goes back as a tool message.
        Path note = Files.writeString(work.resolve("note.txt"), "the secret word is plum\n");
        List<String> toolCall = new ArrayList<>(ScriptedUpstream.openAiToolCallStream(new ScriptedUpstream.ToolCall(
                "call_r1", "Read", "{\"file_path\":" + ScriptedUpstream.quote(note.toString()) + "}")));
        toolCall.add(toolCall.size() - 1, "data: {\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                + "\"model\":\"up-model\",\"choices\":[],\"usage\":{\"prompt_tokens\":901,\"completion_tokens\":23,"
                + "\"total_tokens\":924}}\n\n");
        h.a.enqueue(ScriptedUpstream.sse(toolCall, 0),
                ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("It says plum."), 960, 5), 0));
        Run tool = claude(work, "What does note.txt say? Use the Read tool.", "m-solo");
        assertThat(tool.result()).as(tool.toString()).isEqualTo("It says plum.");
        h.a.take();
        JsonNode second = GatewayHarness.json(ScriptedUpstream.body(h.a.take()));
        JsonNode messages = second.path("messages");
        JsonNode result = messages.get(messages.size() - 1);
        assertThat(result.path("role").asText()).isEqualTo("tool");
        assertThat(result.path("tool_call_id").asText()).isEqualTo("call_r1");
        assertThat(result.path("content").toString()).contains("the secret word is plum");
        JsonNode asked = messages.get(messages.size() - 2);
        assertThat(asked.path("tool_calls").get(0).path("function").path("name").asText()).isEqualTo("Read");

        List<Recorder.Exchange> calls = proxy.exchanges("/v1/messages");
        assertThat(calls).hasSize(3);
        int[][] figures = {{812, 6}, {901, 23}, {960, 5}};
        for (int i = 0; i < 3; i++) {
            UsageRecord r = record(calls.get(i));
            assertThat(r.inputTokens()).isEqualTo(figures[i][0]);
            assertThat(r.outputTokens()).isEqualTo(figures[i][1]);
            assertThat(r.estimated()).isFalse();
        }
        assertThat(h.carapace.store().usageLog().count()).isEqualTo(3);
        assertThat(vendor.attempts()).as("Claude Code reached for its vendor").isEmpty();
    }

    /**
     * Claude Code as installed, with no --model: it asks for its own default model, whose name changes with its
     * releases, and a model's prefix alias ({@code claude-*}) serves it. Without the alias the call was a 404.
     */
    @Test
    void itsOwnDefaultModelIsServedThroughAPrefixAlias() throws Exception {
        h.close();
        proxy.close();
        h = new GatewayHarness(tmp.resolve("data-aliased"), "", "['claude-*']");
        proxy = new Recorder(h.url(""));
        Path work = Files.createDirectories(tmp.resolve("work-default"));
        h.claude.respond(new SignedThinkingScript("upstream-signing-key",
                body -> new SignedThinkingScript.Answer("A greeting.", "Hi from the default!", null, 950, 0, 9)));

        Run hi = claude(work, "say hi", null);
        assertThat(hi.result()).as(hi.toString()).isEqualTo("Hi from the default!");

        List<Recorder.Exchange> calls = proxy.exchanges("/v1/messages");
        assertThat(calls).isNotEmpty();
        String asked = GatewayHarness.json(calls.get(0).requestBody()).path("model").asText();
        assertThat(asked).as("the model Claude Code asked for by itself").startsWith("claude-").isNotEqualTo("m-claude");
        UsageRecord r = record(calls.get(0));
        assertThat(r.model()).isEqualTo("m-claude");
        assertThat(vendor.attempts()).as("Claude Code reached for its vendor").isEmpty();
    }

    // ---- running Claude Code ----

    /** One {@code claude -p} run: its exit code, its JSON result (null if it printed none) and its stderr. */
    private record Run(int exit, JsonNode json, String stdout, String stderr) {
        String result() {
            assertThat(exit).as("claude exit code; " + this).isZero();
            assertThat(json.path("is_error").asBoolean()).as(toString()).isFalse();
            return json.path("result").asText();
        }
    }

    private Run claude(Path work, String prompt, String model) throws Exception {
        Path home = Files.createDirectories(tmp.resolve("home"));
        List<Object> command = new ArrayList<>(List.of(HarnessProcess.bin("claude"), "-p", prompt, "--output-format", "json"));
        if (model != null) command.addAll(List.of("--model", model));   // null: Claude Code's own default model
        command.addAll(List.of("--allowedTools", "Read", "--no-session-persistence", "--strict-mcp-config"));
        HarnessProcess.Result run = HarnessProcess.command(home, command.toArray())
                .directory(work)
                .env("CLAUDE_CONFIG_DIR", home.resolve(".claude").toString())
                .env("ANTHROPIC_BASE_URL", proxy.url())
                .env("ANTHROPIC_API_KEY", h.memberKey)
                .proxyTo(vendor)
                .run(Duration.ofSeconds(90));
        String stdout = run.stdout();
        JsonNode json = null;
        try {
            json = GatewayHarness.JSON.readTree(stdout);
        } catch (IOException notJson) {
            // reported by result()
        }
        return new Run(run.exitCode(), json, stdout.length() > 2000 ? stdout.substring(0, 2000) : stdout, run.stderr());
    }

    private UsageRecord record(Recorder.Exchange call) {
        assertThat(h.carapace.ledger().flush(5000)).isTrue();
        String id = call.responseHeader("x-request-id");
        return h.carapace.store().usageLog().byRequestId(id).orElseThrow(() -> new AssertionError("no record of " + id));
    }

    private static JsonNode lastUser(JsonNode body) {
        JsonNode messages = body.path("messages");
        for (int i = messages.size() - 1; i >= 0; i--) {
            if ("user".equals(messages.get(i).path("role").asText())) return messages.get(i);
        }
        return GatewayHarness.JSON.createObjectNode();
    }

    private static String lastUserText(JsonNode body) {
        JsonNode c = lastUser(body).path("content");
        if (c.isTextual()) return c.asText();
        StringBuilder sb = new StringBuilder();
        for (JsonNode b : c) sb.append(b.path("text").asText());
        return sb.toString();
    }

    /** The text of the last user turn's tool_result, or null. */
    private static String lastToolResult(JsonNode body) {
        for (JsonNode b : lastUser(body).path("content")) {
            if (!"tool_result".equals(b.path("type").asText())) continue;
            JsonNode c = b.path("content");
            if (c.isTextual()) return c.asText();
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) sb.append(part.path("text").asText());
            return sb.toString();
        }
        return null;
    }

    // ---- the recording proxy ----

    /** Forwards every request to Carapace and keeps both sides: what the client sent and the headers it got back. */
    private static final class Recorder implements AutoCloseable {
        private static final Set<String> HOP = Set.of("host", "connection", "content-length", "transfer-encoding",
                "expect", "upgrade", "keep-alive", "accept-encoding");

        record Exchange(String path, Map<String, List<String>> requestHeaders, String requestBody, int status,
                        Map<String, List<String>> responseHeaders) {
            String requestHeader(String name) { return first(requestHeaders, name); }

            String responseHeader(String name) { return first(responseHeaders, name); }

            private static String first(Map<String, List<String>> headers, String name) {
                for (var e : headers.entrySet()) {
                    if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) return e.getValue().getFirst();
                }
                return null;
            }
        }

        private final HttpServer server;
        private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        private final List<Exchange> exchanges = Collections.synchronizedList(new ArrayList<>());

        Recorder(String target) throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/", x -> {
                try (x) {
                    byte[] body = x.getRequestBody().readAllBytes();
                    HttpRequest.Builder up = HttpRequest.newBuilder(URI.create(target + x.getRequestURI()))
                            .timeout(Duration.ofSeconds(60))
                            .method(x.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(body));
                    x.getRequestHeaders().forEach((name, values) -> {
                        if (!HOP.contains(name.toLowerCase(Locale.ROOT))) values.forEach(v -> up.header(name, v));
                    });
                    HttpResponse<byte[]> r = http.send(up.build(), HttpResponse.BodyHandlers.ofByteArray());
                    exchanges.add(new Exchange(x.getRequestURI().getPath(), Map.copyOf(x.getRequestHeaders()),
                            new String(body, StandardCharsets.UTF_8), r.statusCode(), r.headers().map()));
                    r.headers().map().forEach((name, values) -> {
                        if (!HOP.contains(name.toLowerCase(Locale.ROOT)) && !name.startsWith(":")) {
                            x.getResponseHeaders().put(name, values);
                        }
                    });
                    x.sendResponseHeaders(r.statusCode(), r.body().length == 0 ? -1 : r.body().length);
                    x.getResponseBody().write(r.body());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            server.start();
        }

        String url() { return "http://127.0.0.1:" + server.getAddress().getPort(); }

        List<Exchange> exchanges(String path) {
            synchronized (exchanges) {
                return exchanges.stream().filter(e -> e.path().equals(path)).toList();
            }
        }

        @Override
        public void close() { server.stop(0); }
    }
}
