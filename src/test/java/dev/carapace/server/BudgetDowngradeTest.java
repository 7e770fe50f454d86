package dev.carapace.server;

import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.ledger.Budgets;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A team that asked for downgrade-over-refusal gets its cheaper tier, said in a header; others get a 400 (OpenAI shape). */
class BudgetDowngradeTest {

    @TempDir Path data;

    @Test
    void exhaustedBudgetDowngradesOnlyTeamsThatAskedForIt() throws Exception {
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            up.respond(req -> ScriptedUpstream.openAiText("ok", 10, 5));
            var config = ConfigLoader.load("""
                    org: acme
                    providers:
                      up: {kind: openai, base_url: %s}
                    models:
                      big:   {tier: ultra, context_window: 100000, max_output_tokens: 1000, price: {input: 150, output: 150}, deployments: [{provider: up}]}
                      small: {tier: free, context_window: 100000, max_output_tokens: 1000, price: {input: 0, output: 0}, deployments: [{provider: up}]}
                    teams:
                      frugal: {downgrade_to: free}
                      strict: {}
                    """.formatted(up.openAiBaseUrl()), "t.yaml");
            try (Carapace c = Carapace.start(config, data, Map.<String, String>of()::get, Clock.systemUTC(), 0)) {
                String frugal = c.keyAdmin().create("fay", "frugal", Principal.Role.MEMBER, null).secret();
                String strict = c.keyAdmin().create("sam", "strict", Principal.Role.MEMBER, null).secret();
                for (String team : new String[] {"frugal", "strict"}) {
                    c.ledger().budgets().set(new Budgets.Request("team", team, new BigDecimal("0.01"), null, "month",
                            null, null, null, null));
                }
                HttpClient http = HttpClient.newHttpClient();
                String body = "{\"model\":\"big\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
                HttpResponse<String> down = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.port() + "/v1/chat/completions"))
                        .header("authorization", "Bearer " + frugal).header("content-type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(down.statusCode()).isEqualTo(200);
                assertThat(down.headers().firstValue("x-carapace-downgraded-from")).hasValue("big");
                assertThat(down.headers().firstValue("x-carapace-model")).hasValue("small");

                HttpResponse<String> refused = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.port() + "/v1/chat/completions"))
                        .header("authorization", "Bearer " + strict).header("content-type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(refused.statusCode()).isEqualTo(400);
                assertThat(refused.headers().firstValue("x-should-retry")).hasValue("false");
                assertThat(refused.headers().firstValue("retry-after")).as("the reset is in the message, not a wait").isEmpty();
                var err = GatewayHarness.json(refused.body()).get("error");
                assertThat(err.get("code").asText()).isEqualTo("budget_exceeded");
                assertThat(err.get("message").asText()).contains("team:strict", "resets at");
                assertThat(up.requestCount()).as("only the downgraded call reached an upstream").isEqualTo(1);
            }
        }
    }
}
