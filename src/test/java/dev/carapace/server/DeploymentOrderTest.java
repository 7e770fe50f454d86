package dev.carapace.server;

import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
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
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static dev.carapace.server.GatewayHarness.chat;
import static dev.carapace.testing.ScriptedUpstream.openAiText;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A model's deployments are listed "in order of preference" (carapace.example.yaml): without a session id, every
 * call tries the first healthy one first and fails over down the list. The providers are named so that list order
 * is neither alphabetical nor the order the upstreams were started in.
 */
class DeploymentOrderTest {

    private static final int CALLS = 64;

    @TempDir Path data;
    final ScriptedUpstream zeta = new ScriptedUpstream();
    final ScriptedUpstream alpha = new ScriptedUpstream();
    final ScriptedUpstream mid = new ScriptedUpstream();
    /** Which upstream received each request, in the order they arrived. */
    final List<String> receipts = Collections.synchronizedList(new ArrayList<>());
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    Carapace carapace;
    String key;

    @BeforeEach
    void start() throws Exception {
        // a failure threshold no test reaches: a failing deployment stays healthy, so every call shows the order
        String yaml = """
                providers:
                  zeta: {kind: openai, base_url: %s, read_timeout: 2s}
                  alpha: {kind: openai, base_url: %s, read_timeout: 2s}
                  mid: {kind: openai, base_url: %s, read_timeout: 2s}
                models:
                  m:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: zeta, model: up}, {provider: alpha, model: up}, {provider: mid, model: up}]
                teams:
                  platform: {}
                routing: {max_attempts: 3, failure_threshold: 100, cooldown: 1s}
                """.formatted(zeta.openAiBaseUrl(), alpha.openAiBaseUrl(), mid.openAiBaseUrl());
        carapace = Carapace.start(ConfigLoader.load(yaml, "test.yaml"), data, name -> null, Clock.systemUTC(), 0);
        key = carapace.keyAdmin().create("alice", "platform", Principal.Role.MEMBER, null).secret();
    }

    @AfterEach
    void stop() {
        carapace.close();
        zeta.close();
        alpha.close();
        mid.close();
    }

    private void answer(ScriptedUpstream u, String name, boolean fail) {
        u.respond(req -> {
            receipts.add(name);
            return fail ? ScriptedUpstream.json(500, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}")
                    : openAiText("from " + name, 1, 1);
        });
    }

    private HttpResponse<String> call(String... headers) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + carapace.port() + "/v1/chat/completions"))
                .header("content-type", "application/json").header("authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString(chat("m", false, "")));
        if (headers.length > 0) r.headers(headers);
        return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void everyCallWithoutASessionGoesToTheFirstListedDeployment() throws Exception {
        answer(zeta, "zeta", false);
        answer(alpha, "alpha", false);
        answer(mid, "mid", false);
        for (int i = 0; i < CALLS; i++) {
            HttpResponse<String> r = call();
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("x-carapace-deployment")).as("call %d", i).hasValue("zeta/up");
        }
        assertThat(receipts).hasSize(CALLS).containsOnly("zeta");
    }

    @Test
    void failoverWalksTheListInOrderOnEveryCall() throws Exception {
        answer(zeta, "zeta", true);
        answer(alpha, "alpha", false);
        answer(mid, "mid", false);
        for (int i = 0; i < CALLS; i++) {
            receipts.clear();
            HttpResponse<String> r = call();
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("x-carapace-deployment")).hasValue("alpha/up");
            assertThat(receipts).as("call %d", i).containsExactly("zeta", "alpha");
        }
        answer(alpha, "alpha", true);
        // half as many: zeta's consecutive failures stay below the threshold of 100 (96 in all)
        for (int i = 0; i < CALLS / 2; i++) {
            receipts.clear();
            HttpResponse<String> r = call();
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("x-carapace-deployment")).hasValue("mid/up");
            assertThat(receipts).as("call %d", i).containsExactly("zeta", "alpha", "mid");
        }
    }

    @Test
    void aCoolingFirstDeploymentIsSkippedUntilItRecovers() throws Exception {
        answer(zeta, "zeta", false);
        answer(alpha, "alpha", false);
        answer(mid, "mid", false);
        // a retry-after cools the deployment down whatever the threshold
        zeta.respond(req -> {
            receipts.add("zeta");
            return ScriptedUpstream.json(429, "{\"error\":{\"message\":\"slow\",\"type\":\"rate_limit_error\"}}",
                    "retry-after-ms", "60000");
        });
        assertThat(call().headers().firstValue("x-carapace-deployment")).hasValue("alpha/up");
        for (int i = 0; i < CALLS; i++) {
            receipts.clear();
            assertThat(call().headers().firstValue("x-carapace-deployment")).as("call %d", i).hasValue("alpha/up");
            assertThat(receipts).containsExactly("alpha");
        }
    }

    @Test
    void aSessionIdMayStickToAnotherDeployment() throws Exception {
        answer(zeta, "zeta", false);
        answer(alpha, "alpha", false);
        answer(mid, "mid", false);
        java.util.Set<String> used = new java.util.HashSet<>();
        for (int i = 0; i < CALLS; i++) {
            used.add(call("x-session-id", "s-" + i).headers().firstValue("x-carapace-deployment").orElseThrow());
        }
        assertThat(used).as("sessions are spread over the healthy deployments").hasSizeGreaterThan(1);
    }
}
