package dev.carapace.server;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.openAiText;
import static dev.carapace.testing.ScriptedUpstream.openAiTextStream;
import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** What operators see: Prometheus metrics after real calls, the health check, and the log lines. */
class MetricsAndLogsTest {

    static final String PROMPT = "zebra-quartz-prompt-7731 tell me about the harbour";
    static final String SYSTEM = "system-text-orchid-5512";

    @TempDir Path data;
    GatewayHarness h;
    ListAppender<ILoggingEvent> logs;
    Logger root;

    @BeforeEach
    void start() throws Exception {
        root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        logs = new ListAppender<>();
        logs.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        logs.start();
        root.addAppender(logs);
        h = new GatewayHarness(data);
    }

    @AfterEach
    void stop() {
        if (h != null) h.close();
        root.detachAppender(logs);
        logs.stop();
    }

    static String chat(String model, boolean stream) {
        return """
                {"model":"%s","stream":%s,"messages":[{"role":"system","content":"%s"},{"role":"user","content":"%s"}]}
                """.formatted(model, stream, SYSTEM, PROMPT);
    }

    /** Runs one of each kind of call; returns the responses by name. */
    Map<String, HttpResponse<String>> traffic() {
        Map<String, HttpResponse<String>> r = new LinkedHashMap<>();
        h.a.enqueue(openAiText("Hi!", 12, 3));
        r.put("ok", h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false)));

        h.a.enqueue(sse(openAiTextStream(List.of("str", "eam", "ed"), 9, 3), 5));
        r.put("stream", h.post("/v1/chat/completions", h.memberKey, chat("m-solo", true)));

        r.put("forbidden", h.post("/v1/chat/completions", h.researchKey, chat("m-claude", false)));
        r.put("unknownModel", h.post("/v1/chat/completions", h.memberKey, chat("gpt-imaginary", false)));
        r.put("badKey", h.post("/v1/chat/completions", "cpk_ZZZZZZZZ_notarealkeynotarealkeynotareal", chat("m-solo", false)));

        AtomicInteger calls = new AtomicInteger();
        Function<RecordedRequest, MockResponse> firstFails = req -> calls.incrementAndGet() == 1
                ? ScriptedUpstream.json(500, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}")
                : openAiText("recovered", 5, 4);
        h.a.respond(firstFails);
        h.b.respond(firstFails);
        r.put("failover", h.post("/v1/chat/completions", h.memberKey, chat("m-mid", false)));

        assertThat(r.get("ok").statusCode()).isEqualTo(200);
        assertThat(r.get("stream").statusCode()).isEqualTo(200);
        assertThat(r.get("forbidden").statusCode()).isEqualTo(403);
        assertThat(r.get("unknownModel").statusCode()).isEqualTo(404);
        assertThat(r.get("badKey").statusCode()).isEqualTo(401);
        assertThat(r.get("failover").statusCode()).isEqualTo(200);
        assertThat(calls.get()).isEqualTo(2);
        return r;
    }

    // ---- metrics ----

    record Sample(String name, Map<String, String> labels, double value) {}

    static final Pattern LINE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? (\\S+)");
    static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    static List<Sample> parse(String exposition) {
        List<Sample> out = new ArrayList<>();
        for (String line : exposition.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            Matcher m = LINE.matcher(line);
            assertThat(m.matches()).as("a Prometheus sample line: %s", line).isTrue();
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) labels.put(l.group(1), l.group(2));
            }
            out.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(3))));
        }
        return out;
    }

    /** The samples named {@code name} whose labels include all of {@code want}. */
    static List<Sample> find(List<Sample> all, String name, String... want) {
        return all.stream().filter(s -> s.name().equals(name)).filter(s -> {
            for (int i = 0; i < want.length; i += 2) {
                if (!want[i + 1].equals(s.labels().get(want[i]))) return false;
            }
            return true;
        }).toList();
    }

    static double value(List<Sample> all, String name, String... want) {
        List<Sample> found = find(all, name, want);
        assertThat(found).as("exactly one %s with %s", name, List.of(want)).hasSize(1);
        return found.get(0).value();
    }

    static double sum(List<Sample> samples) {
        return samples.stream().mapToDouble(Sample::value).sum();
    }

    /**
     * The metrics name teams, models, deployments and users' jobs: only the scrape token of
     * {@code server.metrics_token_env} or an admin key reads them, and the token is no API key anywhere else.
     */
    @Test
    void onlyTheScrapeTokenOrAnAdminKeyReadsTheMetrics() {
        traffic();
        for (String key : new String[] {null, "scrape-token-0123456788", GatewayHarness.METRICS_TOKEN + "x", h.memberKey}) {
            HttpResponse<String> refused = h.get("/metrics", key);
            assertThat(refused.statusCode()).as("key %s", key).isEqualTo(key == h.memberKey ? 403 : 401);
            assertThat(json(refused.body()).at("/error/code").asText()).as("key %s", key)
                    .isEqualTo(key == null ? "missing_api_key" : key == h.memberKey ? "admin_required" : "invalid_api_key");
            assertThat(refused.body()).doesNotContain("carapace_", "platform", "m-solo");
        }
        HttpResponse<String> inXApiKey = h.get("/metrics", null, "x-api-key", GatewayHarness.METRICS_TOKEN);
        for (HttpResponse<String> scrape : List.of(h.get("/metrics", GatewayHarness.METRICS_TOKEN), h.get("/metrics", h.adminKey), inXApiKey)) {
            assertThat(scrape.statusCode()).isEqualTo(200);
            assertThat(scrape.body()).contains("carapace_model_requests_total{");
        }
        assertThat(h.get("/api/me", GatewayHarness.METRICS_TOKEN).statusCode()).as("the token is not an API key").isEqualTo(401);
        assertThat(h.post("/v1/chat/completions", GatewayHarness.METRICS_TOKEN, chat("m-solo", false)).statusCode()).isEqualTo(401);
    }

    @Test
    void metricsDescribeTheCallsMade() {
        traffic();
        HttpResponse<String> scrape = h.get("/metrics", GatewayHarness.METRICS_TOKEN);
        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
        List<Sample> m = parse(scrape.body());

        // the scrape's own connection, at least, is open
        assertThat(value(m, "carapace_http_connections")).isGreaterThanOrEqualTo(1.0);

        // requests by model, tier, team and status
        assertThat(value(m, "carapace_model_requests_total", "model", "m-solo", "tier", "mid", "team", "platform",
                "status", "200", "api", "openai")).isEqualTo(2.0);
        assertThat(value(m, "carapace_model_requests_total", "model", "m-mid", "tier", "mid", "team", "platform",
                "status", "200")).isEqualTo(1.0);
        assertThat(value(m, "carapace_model_requests_total", "team", "research", "status", "403")).isEqualTo(1.0);
        assertThat(value(m, "carapace_model_requests_total", "team", "platform", "status", "404")).isEqualTo(1.0);
        assertThat(find(m, "carapace_model_requests_total", "status", "401"))
                .as("a refused key is not a model call").isEmpty();
        assertThat(sum(find(m, "carapace_model_requests_total"))).isEqualTo(5.0);

        // latency: a histogram, cumulative, its +Inf bucket equal to its count
        List<Sample> buckets = find(m, "carapace_model_latency_seconds_bucket", "model", "m-solo", "stream", "false");
        assertThat(buckets).hasSizeGreaterThan(5);
        double previous = 0;
        for (Sample b : buckets) {
            assertThat(b.value()).as("cumulative buckets").isGreaterThanOrEqualTo(previous);
            previous = b.value();
        }
        assertThat(value(m, "carapace_model_latency_seconds_bucket", "model", "m-solo", "stream", "false", "le", "+Inf"))
                .isEqualTo(1.0);
        assertThat(value(m, "carapace_model_latency_seconds_count", "model", "m-solo", "stream", "false")).isEqualTo(1.0);
        assertThat(value(m, "carapace_model_latency_seconds_sum", "model", "m-solo", "stream", "false")).isPositive();
        assertThat(value(m, "carapace_model_latency_seconds_count", "model", "m-solo", "stream", "true")).isEqualTo(1.0);

        // time to first token: only streamed calls have one
        assertThat(find(m, "carapace_model_ttft_seconds_bucket", "model", "m-solo")).hasSizeGreaterThan(5);
        assertThat(value(m, "carapace_model_ttft_seconds_count", "model", "m-solo")).isEqualTo(1.0);
        assertThat(find(m, "carapace_model_ttft_seconds_count", "model", "m-mid")).isEmpty();

        // tokens by direction, model and team: 12+9 in, 3+3 out on m-solo; 5 in, 4 out on m-mid
        assertThat(value(m, "carapace_tokens_total", "direction", "input", "model", "m-solo", "team", "platform", "tier", "mid"))
                .isEqualTo(21.0);
        assertThat(value(m, "carapace_tokens_total", "direction", "output", "model", "m-solo", "team", "platform", "tier", "mid"))
                .isEqualTo(6.0);
        assertThat(value(m, "carapace_tokens_total", "direction", "input", "model", "m-mid", "team", "platform")).isEqualTo(5.0);
        assertThat(value(m, "carapace_tokens_total", "direction", "output", "model", "m-mid", "team", "platform")).isEqualTo(4.0);

        // the failed attempt and the cooldown it caused
        List<Sample> errors = find(m, "carapace_upstream_errors_total");
        assertThat(errors).hasSize(1);
        String failed = errors.get(0).labels().get("deployment");
        assertThat(failed).isIn("a/up-model", "b/up-model");
        assertThat(errors.get(0).value()).isEqualTo(1.0);
        assertThat(value(m, "carapace_deployment_cooldowns_total", "deployment", failed)).isEqualTo(1.0);
        assertThat(sum(find(m, "carapace_deployment_cooldowns_total"))).isEqualTo(1.0);

        // every HTTP request, refused ones included
        assertThat(value(m, "carapace_http_requests_seconds_count", "route", "chat", "status", "401")).isEqualTo(1.0);
        assertThat(value(m, "carapace_http_requests_seconds_count", "route", "chat", "status", "200")).isEqualTo(3.0);
    }

    @Test
    void aFreshGatewayExposesNoModelSeries() {
        List<Sample> m = parse(h.get("/metrics", GatewayHarness.METRICS_TOKEN).body());
        assertThat(find(m, "carapace_model_requests_total")).isEmpty();
        assertThat(find(m, "carapace_upstream_errors_total")).isEmpty();
    }

    @Test
    void healthz() {
        HttpResponse<String> r = h.get("/healthz", null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("application/json");
        assertThat(json(r.body())).isEqualTo(json("{\"status\":\"ok\"}"));
    }

    // ---- logs ----

    List<ILoggingEvent> captured() {
        synchronized (logs) {
            return new ArrayList<>(logs.list);
        }
    }

    /** Everything a log line can carry: logger, level, message, MDC, and any stack trace. */
    static String everything(ILoggingEvent e) {
        StringBuilder sb = new StringBuilder().append(e.getLoggerName()).append(' ').append(e.getLevel()).append(' ')
                .append(e.getFormattedMessage()).append(' ').append(e.getMDCPropertyMap());
        if (e.getThrowableProxy() != null) sb.append('\n').append(ThrowableProxyUtil.asString(e.getThrowableProxy()));
        return sb.toString();
    }

    @Test
    void accessLinesCarryTheRequestIdAndNoSecretsOrPrompts() {
        Map<String, HttpResponse<String>> responses = traffic();
        PatternLayout layout = new PatternLayout();
        layout.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        layout.setPattern("%-5level %logger{20} [%X{request_id:-}] %msg%n");   // as in logback.xml
        layout.start();

        for (Map.Entry<String, HttpResponse<String>> r : responses.entrySet()) {
            String id = r.getValue().headers().firstValue("x-request-id").orElseThrow();
            String status = Integer.toString(r.getValue().statusCode());
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(captured())
                    .as("an access line for the %s call, request id %s", r.getKey(), id)
                    .anySatisfy(e -> {
                        assertThat(e.getLoggerName()).isEqualTo("carapace.access");
                        assertThat(e.getMDCPropertyMap()).containsEntry("request_id", id);
                        assertThat(layout.doLayout(e)).contains("[" + id + "]")
                                .contains("POST /v1/chat/completions " + status + " ");
                    }));
        }
        List<String> ids = responses.values().stream().map(r -> r.headers().firstValue("x-request-id").orElseThrow()).toList();
        assertThat(ids).doesNotHaveDuplicates();

        List<String> lines = captured().stream().map(MetricsAndLogsTest::everything).toList();
        assertThat(lines).hasSizeGreaterThanOrEqualTo(responses.size());
        List<String> secrets = List.of(h.memberKey, h.researchKey, h.adminKey, secretPart(h.memberKey),
                secretPart(h.researchKey), secretPart(h.adminKey), "notarealkeynotarealkey", "secret-a", "secret-b",
                "secret-claude", PROMPT, "zebra-quartz", SYSTEM, "orchid");
        for (String line : lines) {
            for (String s : secrets) assertThat(line).as("log line must not contain %s", s).doesNotContain(s);
        }
    }

    @Test
    void aStreamTheClientAbandonsIsLoggedAndCountedAs499NotAsTheSent200() throws Exception {
        List<String> deltas = new ArrayList<>();
        for (int i = 0; i < 40; i++) deltas.add("word" + i + " ");
        h.a.enqueue(sse(openAiTextStream(deltas, 9, 40), 100));   // 4 s of stream; the client stays for the first event
        String id;
        try (Socket s = new Socket("127.0.0.1", h.carapace.port())) {
            byte[] body = chat("m-solo", true).getBytes(StandardCharsets.UTF_8);
            s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer " + h.memberKey
                    + "\r\ncontent-type: application/json\r\ncontent-length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().write(body);
            String seen = "";
            InputStream in = s.getInputStream();
            byte[] buf = new byte[4096];
            while (!seen.contains("data: ")) {
                int n = in.read(buf);
                assertThat(n).as("the stream's first event before the end: %s", seen).isPositive();
                seen += new String(buf, 0, n, StandardCharsets.ISO_8859_1);
            }
            assertThat(seen).startsWith("HTTP/1.1 200");
            Matcher m = Pattern.compile("(?i)x-request-id: (\\S+)").matcher(seen);
            assertThat(m.find()).as(seen).isTrue();
            id = m.group(1);
            s.setSoLinger(true, 0);   // hang up with a reset, like a killed client
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(captured())
                .anySatisfy(e -> {
                    assertThat(e.getMDCPropertyMap()).containsEntry("request_id", id);
                    assertThat(e.getFormattedMessage()).startsWith("POST /v1/chat/completions 499 ");
                }));
        List<Sample> m = parse(h.get("/metrics", GatewayHarness.METRICS_TOKEN).body());
        assertThat(value(m, "carapace_http_requests_seconds_count", "route", "chat", "status", "499")).isEqualTo(1.0);
        assertThat(find(m, "carapace_http_requests_seconds_count", "route", "chat", "status", "200")).isEmpty();
    }

    static String secretPart(String key) {
        return key.substring(key.indexOf('_', 4) + 1);
    }
}
