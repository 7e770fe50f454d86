package dev.carapace.server;

import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;

import static dev.carapace.server.GatewayHarness.chat;
import static dev.carapace.server.GatewayHarness.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14: an upstream 413 failed over to the next deployment behind an OpenAI-kind provider but not behind an
 * Anthropic-kind one. Through a real gateway, each status below is answered by the first deployment and the call
 * must be served by the second, whichever kind both providers are; a 400 (the request's own fault) must not be.
 */
class UpstreamStatusFailoverTest {

    @TempDir Path data;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @ParameterizedTest(name = "{0} upstream answers {1}")
    @CsvSource({"openai, 413", "anthropic, 413", "openai, 529", "anthropic, 529", "openai, 503", "anthropic, 503",
            "openai, 400", "anthropic, 400"})
    void anUpstream413FailedOverBehindOpenAiButNotBehindAnthropic(String kind, int status) throws Exception {
        boolean anthropic = kind.equals("anthropic");
        String errorBody = anthropic
                ? "{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\",\"message\":\"first says " + status + "\"}}"
                : "{\"error\":{\"message\":\"first says " + status + "\",\"type\":\"invalid_request_error\"}}";
        try (ScriptedUpstream first = new ScriptedUpstream(); ScriptedUpstream second = new ScriptedUpstream()) {
            first.respond(r -> ScriptedUpstream.json(status, errorBody));
            second.respond(r -> anthropic ? ScriptedUpstream.anthropicText("from second", 3, 2)
                    : ScriptedUpstream.openAiText("from second", 3, 2));
            String yaml = """
                    providers:
                      first: {kind: %1$s, base_url: %2$s}
                      second: {kind: %1$s, base_url: %3$s}
                    models:
                      m:
                        tier: mid
                        context_window: 128000
                        max_output_tokens: 4096
                        price: {input: 3, output: 6}
                        deployments: [{provider: first, model: up}, {provider: second, model: up}]
                    teams:
                      platform: {}
                    routing: {max_attempts: 2, failure_threshold: 100, cooldown: 1s}
                    """.formatted(kind, anthropic ? first.anthropicBaseUrl() : first.openAiBaseUrl(),
                    anthropic ? second.anthropicBaseUrl() : second.openAiBaseUrl());
            try (Carapace carapace = Carapace.start(ConfigLoader.load(yaml, "test.yaml"), data, n -> null, Clock.systemUTC(), 0)) {
                String key = carapace.keyAdmin().create("alice", "platform", Principal.Role.MEMBER, null).secret();
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + carapace.port() + "/v1/chat/completions"))
                        .header("content-type", "application/json").header("authorization", "Bearer " + key)
                        .POST(HttpRequest.BodyPublishers.ofString(chat("m", false, ""))).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(first.requestCount()).isEqualTo(1);
                if (status == 400) {
                    assertThat(r.statusCode()).isEqualTo(400);
                    assertThat(json(r.body()).at("/error/message").asText()).contains("first says 400");
                    assertThat(second.requestCount()).isZero();
                } else {
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                    assertThat(r.headers().firstValue("x-carapace-deployment")).hasValue("second/up");
                    assertThat(json(r.body()).at("/choices/0/message/content").asText()).isEqualTo("from second");
                }
            }
        }
    }
}
