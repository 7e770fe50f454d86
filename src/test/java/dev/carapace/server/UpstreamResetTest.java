package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.testing.ResettingUpstream;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

import static dev.carapace.server.GatewayHarness.chat;
import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.server.GatewayHarness.messages;
import static dev.carapace.testing.ScriptedUpstream.openAiText;
import static dev.carapace.testing.ScriptedUpstream.openAiTextStream;
import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * An upstream that reads a request on a kept-alive connection and then resets it may have processed (and billed)
 * that request: Carapace must not send it there again. Each call reaches the resetting upstream exactly once; the
 * client gets the next deployment's answer, or a 502 in its API's error shape when there is none.
 */
class UpstreamResetTest {

    private static final int CALLS = 16;

    @TempDir Path data;
    final ResettingUpstream resetting = new ResettingUpstream();
    final ScriptedUpstream backup = new ScriptedUpstream();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    Carapace carapace;
    String key;

    @BeforeEach
    void start() throws Exception {
        // a failure threshold no test reaches, so the resetting deployment stays first in line on every call
        String yaml = """
                providers:
                  flaky: {kind: openai, base_url: %s, read_timeout: 2s}
                  backup: {kind: openai, base_url: %s, read_timeout: 2s}
                models:
                  pair:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: flaky, model: up}, {provider: backup, model: up}]
                  solo:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: flaky, model: up}]
                teams:
                  platform: {}
                routing: {max_attempts: 3, failure_threshold: 100, cooldown: 1s}
                """.formatted(resetting.openAiBaseUrl(), backup.openAiBaseUrl());
        carapace = Carapace.start(ConfigLoader.load(yaml, "test.yaml"), data, name -> null, Clock.systemUTC(), 0);
        key = carapace.keyAdmin().create("alice", "platform", Principal.Role.MEMBER, null).secret();
    }

    @AfterEach
    void stop() {
        carapace.close();
        resetting.close();
        backup.close();
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + carapace.port() + path))
                .header("content-type", "application/json").header("authorization", "Bearer " + key)
                .header("x-api-key", key).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Odd calls find no kept-alive connection and are answered; even calls reuse it and are reset after the read.
     */
    @Test
    void aResetAfterReadFailsOverAndTheUpstreamSeesEachCallOnce() throws Exception {
        backup.respond(req -> openAiText("from the backup", 1, 1));
        for (int i = 0; i < CALLS; i++) {
            HttpResponse<String> r = post("/v1/chat/completions", chat("pair", false, ""));
            assertThat(r.statusCode()).as("call %d", i).isEqualTo(200);
            assertThat(resetting.receipts()).as("receipts after call %d", i).isEqualTo(i + 1);
            boolean reset = i % 2 == 1;
            assertThat(json(r.body()).at("/choices/0/message/content").asText())
                    .isEqualTo(reset ? "from the backup" : "from the resetting one");
            assertThat(r.headers().firstValue("x-carapace-deployment")).hasValue(reset ? "backup/up" : "flaky/up");
        }
        assertThat(resetting.resets()).isEqualTo(CALLS / 2);
        assertThat(backup.requestCount()).as("the failover went to the other deployment").isEqualTo(CALLS / 2);
        String admin = carapace.keyAdmin().create("root", "platform", Principal.Role.ADMIN, null).secret();
        String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + carapace.port() + "/metrics"))
                        .header("authorization", "Bearer " + admin).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertThat(metrics).as("the failed attempt is recorded against its deployment")
                .containsPattern("carapace_upstream_errors_total\\{[^}]*code=\"upstream_connection_lost\"[^}]*deployment=\"flaky/up\"[^}]*} 8\\.0");
    }

    @Test
    void aStreamFailsOverTheSameWay() throws Exception {
        backup.respond(req -> sse(openAiTextStream(List.of("streamed by the backup"), 1, 1), 0));
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> r = post("/v1/chat/completions", chat("pair", true, ""));
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains(i % 2 == 1 ? "streamed by the backup" : "from the resetting one");
            assertThat(resetting.receipts()).isEqualTo(i + 1);
        }
        assertThat(backup.requestCount()).isEqualTo(2);
    }

    @Test
    void withNoOtherDeploymentTheClientGetsA502InItsApisShape() throws Exception {
        for (int i = 0; i < CALLS; i++) {
            boolean anthropic = i % 4 >= 2;
            HttpResponse<String> r = anthropic ? post("/v1/messages", messages("solo", false, ""))
                    : post("/v1/chat/completions", chat("solo", false, ""));
            assertThat(resetting.receipts()).as("receipts after call %d", i).isEqualTo(i + 1);
            if (i % 2 == 0) {
                assertThat(r.statusCode()).as("call %d", i).isEqualTo(200);
                continue;
            }
            assertThat(r.statusCode()).as("call %d", i).isEqualTo(502);
            JsonNode error = json(r.body());
            if (anthropic) {
                assertThat(error.at("/type").asText()).isEqualTo("error");
                assertThat(error.at("/error/type").asText()).isEqualTo("api_error");
                assertThat(error.at("/error/message").asText()).contains("may have been processed");
            } else {
                assertThat(error.at("/error/type").asText()).isEqualTo("api_error");
                assertThat(error.at("/error/code").asText()).isEqualTo("upstream_connection_lost");
                assertThat(error.at("/error/message").asText()).contains("may have been processed");
            }
        }
        assertThat(resetting.resets()).isEqualTo(CALLS / 2);
    }
}
