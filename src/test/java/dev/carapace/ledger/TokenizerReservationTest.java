package dev.carapace.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.DeploymentSpec;
import dev.carapace.model.ModelKind;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.Portfolio;
import dev.carapace.model.Price;
import dev.carapace.model.PrivacyClass;
import dev.carapace.model.Provider;
import dev.carapace.model.ProviderSpec;
import dev.carapace.model.TokenCounter;
import dev.carapace.model.WireApi;
import dev.carapace.model.anthropic.AnthropicFormat;
import dev.carapace.model.openai.OpenAiFormat;
import dev.carapace.server.Carapace;
import dev.carapace.testing.RealisticPrompt;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14, item 6: a prompt is reserved at about its tokens, not its UTF-8 bytes, once the byte bound would be
 * refused. The case of the issue: a 60 KB harness turn (prose and JSON tool schemas) under a 30k-token daily budget.
 */
class TokenizerReservationTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** What the reservation of a prompt may exceed its o200k count by, at factor 1: framing of 16 per item, tools. */
    private static final double OPENAI_MARGIN = 0.10;

    @TempDir Path dir;

    private static ChatRequest harnessTurn() {
        return LedgerTestKit.parseOpenAi(RealisticPrompt.openAiBody("m-mid", 60_000, 14, ""));
    }

    @Test
    void theEstimateOfAHarnessTurnIsNearItsTokensWhereTheByteBoundIsFourTimesThem() {
        ChatRequest r = harnessTurn();
        long bytes = PromptSize.promptBound(r);
        long real = TokenCounter.prompt(r);
        PromptSize.PromptEstimate openai = PromptSize.promptEstimate(r, 16, PromptSize.OPENAI_FACTOR);
        PromptSize.PromptEstimate claude = PromptSize.promptEstimate(r, 16, PromptSize.ANTHROPIC_FACTOR);

        assertThat(bytes).as("the byte bound, as before").isGreaterThan(3 * real);
        assertThat(openai.tokens()).as("never below the prompt's own count").isGreaterThanOrEqualTo(real)
                .isLessThanOrEqualTo((long) (real * (1 + OPENAI_MARGIN)) + PromptSize.TOOL_PROMPT_TOKENS);
        assertThat(claude.tokens()).isGreaterThanOrEqualTo((long) (openai.o200k() * PromptSize.ANTHROPIC_FACTOR))
                .isLessThanOrEqualTo((long) (real * (PromptSize.ANTHROPIC_FACTOR + OPENAI_MARGIN)) + PromptSize.TOOL_PROMPT_TOKENS);
        assertThat(claude.tokens()).isLessThan(bytes / 2);
    }

    @Test
    void cachedCountsAreTheTokenizersAndTheCacheKeepsToItsSize() {
        ChatRequest r = harnessTurn();
        TokenCounts counts = new TokenCounts(20_000);
        PromptSize.PromptEstimate fresh = PromptSize.promptEstimate(r, 16, 1.35);
        assertThat(PromptSize.promptEstimate(r, 16, 1.35, counts::count)).isEqualTo(fresh);
        assertThat(PromptSize.promptEstimate(r, 16, 1.35, counts::count)).as("from the cache").isEqualTo(fresh);

        String big = "lorem ipsum dolor sit amet ".repeat(1_000);   // 27,000 chars: more than the cache holds
        assertThat(counts.count(big)).isEqualTo(TokenCounter.count(big));
        for (int i = 0; i < 100; i++) {
            String text = i + " " + "word ".repeat(300);
            assertThat(counts.count(text)).isEqualTo(TokenCounter.count(text));
        }
        assertThat(counts.heldChars()).isLessThanOrEqualTo(20_000);
        assertThat(counts.count(null)).isZero();
    }

    @Test
    void theEstimateIsNeverAboveTheByteBound() {
        // CJK and emoji: o200k times 1.35 may pass the bytes of a short text; the byte bound stays the ceiling
        for (String text : List.of("a", "🙂🙂🙂", "日本語", "{\"k\":[1,2,3]}")) {
            ChatRequest r = LedgerTestKit.parseOpenAi("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                    + JSON.valueToTree(text) + "}]}");
            assertThat(PromptSize.promptEstimate(r, 16, 10).tokens()).isLessThanOrEqualTo(PromptSize.promptBound(r));
        }
    }

    @Test
    void theFactorIsTheModelsOwnElseTheLargestOfItsProvidersKinds() {
        ProviderSpec openai = new ProviderSpec("o", WireApi.OPENAI, URI.create("http://127.0.0.1:9/v1"), null,
                Duration.ofSeconds(1), Duration.ofSeconds(1), Map.of());
        ProviderSpec anthropic = new ProviderSpec("c", WireApi.ANTHROPIC, URI.create("http://127.0.0.1:9"), null,
                Duration.ofSeconds(1), Duration.ofSeconds(1), Map.of());
        Map<String, Provider> providers = Map.of("o", new Provider(openai, new OpenAiFormat(), null),
                "c", new Provider(anthropic, new AnthropicFormat(), null));
        Price price = new Price(BigDecimal.ONE, BigDecimal.ONE, BigDecimal.ONE);
        Portfolio p = new Portfolio(List.of("mid"), List.of(
                new ModelSpec("gpt", "mid", price, 1000, 100, 0, PrivacyClass.EXTERNAL, List.of(new DeploymentSpec("o", "x"))),
                new ModelSpec("mixed", "mid", price, 1000, 100, 0, PrivacyClass.EXTERNAL,
                        List.of(new DeploymentSpec("o", "x"), new DeploymentSpec("c", "y"))),
                new ModelSpec("own", "mid", price, 1000, 100, 0, PrivacyClass.EXTERNAL,
                        List.of(new DeploymentSpec("c", "y")), ModelKind.CHAT, 2.5)), providers);
        Map<String, Double> factors = new java.util.TreeMap<>();
        for (Portfolio.Entry e : p.models()) factors.put(e.id(), PromptSize.tokenizerFactor(e));
        assertThat(factors).containsExactlyInAnyOrderEntriesOf(Map.of("gpt", 1.0, "mixed", 1.35, "own", 2.5));
        providers.values().forEach(Provider::close);
    }

    @Test
    void aSixtyKilobyteHarnessTurnIsServedUnderAThirtyThousandTokenDailyBudget() throws Exception {
        String body = RealisticPrompt.openAiBody("m-mid", 60_000, 14, "\"max_tokens\":4096");
        assertThat(body.getBytes(StandardCharsets.UTF_8).length).isBetween(59_000, 62_000);
        ChatRequest parsed = LedgerTestKit.parseOpenAi(body);
        long real = TokenCounter.prompt(parsed);
        assertThat(PromptSize.promptBound(parsed) + 4096).as("what the byte bound alone would reserve").isGreaterThan(30_000);

        try (ScriptedUpstream up = new ScriptedUpstream();
             Carapace c = LedgerTestKit.start(LedgerTestKit.yaml(up.openAiBaseUrl(), "5s", "{input: 3, output: 6}", ""),
                     dir, Clock.systemUTC())) {
            up.respond(r -> ScriptedUpstream.openAiText("Run the tests next.", (int) real, 6));
            c.ledger().budgets().set(new Budgets.Request("team", "platform", null, 30_000L, "day", "UTC", null, null, null));
            String key = LedgerTestKit.memberKey(c, "alice", "platform");

            HttpResponse<String> first = LedgerTestKit.post(c.port(), key, body);
            assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
            long reserved = reservedTokens(c, first);
            assertThat(reserved - 4096).as("prompt tokens reserved, for %d o200k tokens", real)
                    .isGreaterThanOrEqualTo(real)
                    .isLessThanOrEqualTo((long) (real * (1 + OPENAI_MARGIN)) + PromptSize.TOOL_PROMPT_TOKENS);

            // A later turn of the day cannot fit: the refusal says what it would have reserved, at the estimate.
            long spent = real + 6;
            HttpResponse<String> next = LedgerTestKit.post(c.port(), key, body);
            if (next.statusCode() == 200) {
                spent += real + 6;
                next = LedgerTestKit.post(c.port(), key, body);
            }
            // OpenAI's shape refuses a spent budget with 400 (harnesses retry a 429 for minutes)
            assertThat(next.statusCode()).as(next.body()).isEqualTo(400);
            JsonNode error = JSON.readTree(next.body()).path("error");
            assertThat(error.path("code").asText()).isEqualTo("budget_exceeded");
            assertThat(error.path("message").asText())
                    .contains(spent + " of 30000 tokens spent this day")
                    .contains("(" + reserved + " tokens)");

            // Where even the output alone cannot fit, the prompt is not tokenized: the refusal gives the byte bound.
            c.ledger().budgets().set(new Budgets.Request("team", "platform", null, spent + 4_000, "day", "UTC", null, null, null));
            HttpResponse<String> hopeless = LedgerTestKit.post(c.port(), key, body);
            assertThat(hopeless.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(hopeless.body()).at("/error/message").asText())
                    .contains("(" + (PromptSize.promptBound(parsed) + 4096) + " tokens)");
        }
    }

    private static long reservedTokens(Carapace c, HttpResponse<String> r) {
        String id = r.headers().firstValue("x-request-id").orElseThrow();
        return c.store().jdbi().withHandle(h -> h.createQuery("SELECT tokens FROM reservations WHERE request_id = :id")
                .bind("id", id).mapTo(Long.class).one());
    }
}
