package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.testing.ScriptedUpstream;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A real Carapace (real HTTP server, real SQLite store, real config loader) in front of scripted upstreams:
 * {@code a} and {@code b} speak OpenAI, {@code claude} speaks Anthropic, {@code resp} the OpenAI Responses API.
 *
 * <p>Models: {@code m-mid} (tier mid; deployments a and b), {@code m-claude} (tier high; claude),
 * {@code m-solo} (tier mid; a only), {@code m-ultra} (tier ultra; b), {@code m-resp} (tier high-speed; resp),
 * {@code m-embed} (an embedding model, tier free; a). Teams: platform (anything), research
 * (tier mid only).
 */
final class GatewayHarness implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    final ScriptedUpstream a = new ScriptedUpstream();
    final ScriptedUpstream b = new ScriptedUpstream();
    final ScriptedUpstream claude = new ScriptedUpstream();
    final ScriptedUpstream resp = new ScriptedUpstream();
    final Carapace carapace;
    final String memberKey;
    final String adminKey;
    /** The token Prometheus would scrape {@code /metrics} with ({@code server.metrics_token_env}). */
    static final String METRICS_TOKEN = "scrape-token-0123456789";
    final String researchKey;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    GatewayHarness(Path dataDir) throws Exception {
        this(dataDir, "");
    }

    GatewayHarness(Path dataDir, String extraRouting) throws Exception {
        this(dataDir, extraRouting, null);
    }

    /** @param claudeAliases the {@code aliases:} of {@code m-claude} (a YAML list), or null for none */
    GatewayHarness(Path dataDir, String extraRouting, String claudeAliases) throws Exception {
        this(dataDir, extraRouting, claudeAliases, "", "");
    }

    /**
     * @param extraProviders more entries of {@code providers:}, written unindented (they are indented into the section)
     * @param extraModels    more entries of {@code models:}, written unindented
     */
    GatewayHarness(Path dataDir, String extraRouting, String claudeAliases, String extraProviders, String extraModels)
            throws Exception {
        // Every harness gateway lets METRICS_TOKEN scrape /metrics, in a server section of its own or of the caller's.
        String server = "server:\n  metrics_token_env: METRICS_TOKEN\n";
        boolean callersServer = extraRouting.startsWith("server:\n") || extraRouting.contains("\nserver:\n");
        if (callersServer) extraRouting = extraRouting.replaceFirst("(?m)^server:\n", java.util.regex.Matcher.quoteReplacement(server));
        String yaml = (callersServer ? "" : server) + """
                org: acme
                providers:
                  a: {kind: openai, base_url: %s, api_key_env: A_KEY, read_timeout: 2s}
                  b: {kind: openai, base_url: %s, api_key_env: B_KEY, read_timeout: 2s}
                  claude: {kind: anthropic, base_url: %s, api_key_env: CLAUDE_KEY, read_timeout: 2s}
                  resp: {kind: openai-responses, base_url: %s, api_key_env: RESP_KEY, read_timeout: 2s}
                %s
                models:
                  m-mid:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: a, model: up-model}, {provider: b, model: up-model}]
                  m-claude:
                    tier: high
                    context_window: 200000
                    max_output_tokens: 8192
                    price: {input: 6, output: 12}
                    deployments: [{provider: claude, model: claude-up}]
                  m-solo:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: a, model: up-model}]
                  m-ultra:
                    tier: ultra
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 150, output: 150}
                    deployments: [{provider: b, model: up-model}]
                  m-resp:
                    tier: high-speed
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: resp, model: up-resp}]
                  m-embed:
                    kind: embedding
                    tier: free
                    context_window: 8191
                    price: {input: 0.5}
                    deployments: [{provider: a, model: up-embed}]
                %s
                teams:
                  platform: {}
                  research: {tiers: [mid]}
                routing:
                  max_attempts: 3
                  failure_threshold: 1
                  cooldown: 1s
                %s
                auth:
                  key_cache_ttl: 5s
                """.formatted(a.openAiBaseUrl(), b.openAiBaseUrl(), claude.anthropicBaseUrl(), resp.openAiBaseUrl(),
                extraProviders.indent(2).stripTrailing(), extraModels.indent(2).stripTrailing(), extraRouting);
        if (claudeAliases != null) {
            String claudeDeployments = "deployments: [{provider: claude, model: claude-up}]\n";
            yaml = yaml.replace(claudeDeployments, claudeDeployments + "    aliases: " + claudeAliases + "\n");
        }
        CarapaceConfig config = ConfigLoader.load(yaml, "test.yaml");
        Map<String, String> env = Map.of("A_KEY", "secret-a", "B_KEY", "secret-b", "CLAUDE_KEY", "secret-claude", "RESP_KEY", "secret-resp",
                "METRICS_TOKEN", METRICS_TOKEN);
        carapace = Carapace.start(config, dataDir, env::get, Clock.systemUTC(), 0);
        memberKey = carapace.keyAdmin().create("alice", "platform", Principal.Role.MEMBER, null).secret();
        adminKey = carapace.keyAdmin().create("root", "platform", Principal.Role.ADMIN, null).secret();
        researchKey = carapace.keyAdmin().create("rita", "research", Principal.Role.MEMBER, null).secret();
    }

    /** The usage record of an answered call, once the ledger has written it. */
    dev.carapace.store.UsageLog.UsageRecord record(HttpResponse<?> r) {
        if (!carapace.ledger().flush(5000)) throw new AssertionError("the ledger did not flush within 5 s");
        String id = r.headers().firstValue("x-request-id").orElseThrow();
        return carapace.store().usageLog().byRequestId(id).orElseThrow();
    }

    String url(String path) { return "http://127.0.0.1:" + carapace.port() + path; }

    HttpResponse<String> post(String path, String key, String body, String... headers) {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(url(path)))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) r.header("authorization", "Bearer " + key);
        if (headers.length > 0) r.headers(headers);
        return send(r.build());
    }

    HttpResponse<String> get(String path, String key, String... headers) {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(url(path))).GET();
        if (key != null) r.header("authorization", "Bearer " + key);
        if (headers.length > 0) r.headers(headers);
        return send(r.build());
    }

    HttpResponse<String> send(HttpRequest r) {
        try {
            return http.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    static JsonNode json(String s) {
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + s, e);
        }
    }

    /** The JSON payloads of an SSE body's frames, each with its event name (null when absent). */
    record Frame(String event, String data) {
        JsonNode json() { return GatewayHarness.json(data); }
    }

    static List<Frame> frames(String sse) {
        List<Frame> out = new ArrayList<>();
        for (String block : sse.split("\n\n")) {
            String event = null;
            StringBuilder data = new StringBuilder();
            for (String line : block.split("\n")) {
                if (line.startsWith("event: ")) event = line.substring(7);
                else if (line.startsWith("data: ")) data.append(line.substring(6));
            }
            if (!data.isEmpty()) out.add(new Frame(event, data.toString()));
        }
        return out;
    }

    /** A 200 JSON answer with exactly these bytes. */
    static mockwebserver3.MockResponse okJson(String body) {
        return dev.carapace.testing.ScriptedUpstream.json(200, body);
    }

    static String chat(String model, boolean stream, String extra) {
        return """
                {"model":"%s","stream":%s,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]%s}
                """.formatted(model, stream, extra);
    }

    static String messages(String model, boolean stream, String extra) {
        return """
                {"model":"%s","max_tokens":256,"stream":%s,"system":"be brief","messages":[{"role":"user","content":"hello there"}]%s}
                """.formatted(model, stream, extra);
    }

    @Override
    public void close() {
        carapace.close();
        a.close();
        b.close();
        claude.close();
        resp.close();
    }
}
