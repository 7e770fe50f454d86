package dev.carapace.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 14: {@code carapace chat} against an upstream it could not reach ended with "provider 'openai' could not be
 * reached (UnknownHostException)". A call (from the API or an agent run) must name the host, the model tried, and
 * what to check: the provider's base URL and its key variable; and {@code serve} must say the same at start-up, in
 * the background, once per unreachable provider, without delaying readiness.
 */
class UnreachableUpstreamTest {

    @TempDir Path dir;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Test
    void chatAgainstAnUnreachableUpstreamSaidOnlyUnknownHostException() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "You help.");
        try (CapturedLogs logs = new CapturedLogs(); ScriptedUpstream fine = new ScriptedUpstream()) {
            String yaml = """
                    org: acme
                    providers:
                      nowhere: {kind: openai, base_url: "http://nonexistent.invalid/v1", api_key_env: NOWHERE_KEY}
                      closed: {kind: anthropic, base_url: "http://127.0.0.1:%d", api_key_env: CLOSED_KEY}
                      fine: {kind: openai, base_url: "%s"}
                    models:
                      m-nowhere: {tier: mid, context_window: 128000, max_output_tokens: 4096, price: {input: 3, output: 6},
                                  deployments: [{provider: nowhere, model: up-a}]}
                      m-closed: {tier: mid, context_window: 128000, max_output_tokens: 4096, price: {input: 3, output: 6},
                                 deployments: [{provider: closed, model: up-c}]}
                      m-fine: {tier: mid, context_window: 128000, max_output_tokens: 4096, price: {input: 3, output: 6},
                               deployments: [{provider: fine, model: up-f}]}
                    teams:
                      platform: {}
                    agents:
                      helper:
                        workspace: %s
                        model: m-closed
                        tools: [read]
                        owner: {team: platform}
                    """.formatted(closed, fine.openAiBaseUrl(), ws);
            try (Carapace carapace = Carapace.start(ConfigLoader.load(yaml, "test.yaml"), dir.resolve("data"),
                    Map.of("NOWHERE_KEY", "sk-nowhere-secret")::get, Clock.systemUTC(), 0)) {
                // ready at once, the check running in the background: serving, whatever it finds
                HttpResponse<String> health = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + carapace.port() + "/healthz")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(health.statusCode()).isEqualTo(200);

                await().atMost(Duration.ofSeconds(20)).until(() -> warnings(logs).size() >= 2);
                List<String> warned = warnings(logs);
                assertThat(warned).hasSize(2);
                String nowhere = warned.stream().filter(w -> w.contains("'nowhere'")).findFirst().orElseThrow();
                assertThat(nowhere).contains("host 'nonexistent.invalid' was not found (DNS)")
                        .contains("it serves model m-nowhere").contains("providers.nowhere.base_url (http://nonexistent.invalid/v1)")
                        .contains("its key is read from NOWHERE_KEY.").doesNotContain("sk-nowhere");
                String refused = warned.stream().filter(w -> w.contains("'closed'")).findFirst().orElseThrow();
                assertThat(refused).contains("127.0.0.1:" + closed + " refused the connection").contains("m-closed")
                        .contains("providers.closed.base_url (http://127.0.0.1:" + closed + ")")
                        .contains("CLOSED_KEY, which is not set");

                String key = carapace.keyAdmin().create("alice", "platform", Principal.Role.MEMBER, null).secret();
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + carapace.port() + "/v1/chat/completions"))
                        .header("content-type", "application/json").header("authorization", "Bearer " + key)
                        .POST(HttpRequest.BodyPublishers.ofString(GatewayHarness.chat("m-nowhere", false, ""))).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(502);
                String message = GatewayHarness.json(r.body()).at("/error/message").asText();
                assertThat(message).isEqualTo("provider 'nowhere' could not be reached: host 'nonexistent.invalid' was not"
                        + " found (DNS); model 'up-a' was tried there. Check providers.nowhere.base_url"
                        + " (http://nonexistent.invalid/v1) and that this machine can reach it; its key is read from NOWHERE_KEY.");

                CliTest.Result chat = ChatCliTest.run("", "chat", "--url", "http://127.0.0.1:" + carapace.port(),
                        "--key", key, "--agent", "helper", "hello");
                assertThat(chat.exit()).isEqualTo(1);
                assertThat(chat.err()).contains("error: run failed: model call failed: provider 'closed' could not be"
                        + " reached: 127.0.0.1:" + closed + " refused the connection (nothing listens there); model 'up-c'"
                        + " was tried there. Check providers.closed.base_url (http://127.0.0.1:" + closed + ") and that this"
                        + " machine can reach it; its key is read from CLOSED_KEY, which is not set.");
            }
        }
    }

    /**
     * A provider whose server takes connections into a full backlog (its connect hangs until the timeout): the check
     * returns at once, and its warning comes when the timeout has passed.
     */
    @Test
    void theStartUpCheckNeverWaitsForAProviderThatHangs() throws Exception {
        try (CapturedLogs logs = new CapturedLogs(); ServerSocket full = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            List<java.net.Socket> filling = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) {
                    java.net.Socket s = new java.net.Socket();
                    try {
                        s.connect(full.getLocalSocketAddress(), 200);
                    } catch (java.io.IOException queueFull) {
                        s.close();
                        break;   // from here on, connecting hangs
                    }
                    filling.add(s);
                }
                var spec = new dev.carapace.model.ProviderSpec("hangs", dev.carapace.model.WireApi.OPENAI,
                        URI.create("http://127.0.0.1:" + full.getLocalPort() + "/v1"), "HANG_KEY", Duration.ofSeconds(10),
                        Duration.ofSeconds(10), Map.of());
                try (dev.carapace.model.Provider p = new dev.carapace.model.Provider(spec, new dev.carapace.model.openai.OpenAiFormat(), "k")) {
                    long before = System.nanoTime();
                    UpstreamProbe.start(List.of(p), Map.of("hangs", List.of("m-hangs")), Duration.ofSeconds(3));
                    assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(1));
                    assertThat(warnings(logs)).isEmpty();
                    await().atMost(Duration.ofSeconds(30)).until(() -> !warnings(logs).isEmpty());
                    assertThat(warnings(logs)).singleElement().asString()
                            .contains("connecting to 127.0.0.1:" + full.getLocalPort() + " timed out after 3000 ms")
                            .contains("it serves model m-hangs").contains("HANG_KEY");
                }
            } finally {
                for (java.net.Socket s : filling) s.close();
            }
        }
    }

    private static List<String> warnings(CapturedLogs logs) {
        return logs.events().stream().filter(e -> e.getLevel() == Level.WARN)
                .filter(e -> e.getLoggerName().endsWith("UpstreamProbe")).map(ILoggingEvent::getFormattedMessage).toList();
    }
}
