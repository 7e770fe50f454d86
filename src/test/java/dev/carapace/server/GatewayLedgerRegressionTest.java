package dev.carapace.server;

import dev.carapace.ledger.Budgets;
import dev.carapace.model.TokenCounter;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.carapace.server.GatewayHarness.chat;
import static org.assertj.core.api.Assertions.assertThat;

/** Regression: an interrupted stream is charged for the reasoning it produced, not only the visible text. */
class GatewayLedgerRegressionTest {

    @TempDir Path data;
    GatewayHarness h;

    @BeforeEach
    void start() throws Exception { h = new GatewayHarness(data); }

    @AfterEach
    void stop() { h.close(); }

    /**
     * An Anthropic stream with extended thinking that breaks after the thinking: the thinking tokens were generated
     * (and are billed by the provider as output), but the estimate counts only the visible text.
     */
    @Test
    void anInterruptedThinkingStreamIsChargedForItsThinking() {
        StringBuilder thinking = new StringBuilder();
        List<String> ev = new ArrayList<>(List.of(
                "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_t\",\"type\":\"message\",\"role\":\"assistant\","
                        + "\"model\":\"claude-up\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":20,\"output_tokens\":1}}}",
                "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}"));
        for (int i = 0; i < 40; i++) {
            String step = "Step " + i + ": let me consider the problem carefully from another angle before answering. ";
            thinking.append(step);
            ev.add("content_block_delta");
            ev.add("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":" + ScriptedUpstream.quote(step) + "}}");
        }
        ev.addAll(List.of(
                "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}",
                "content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"The answer\"}}"));
        h.claude.respond(req -> ScriptedUpstream.sseThenDrop(ScriptedUpstream.anthropicFrames(ev.toArray(String[]::new))));
        h.carapace.ledger().budgets().set(new Budgets.Request("team", "platform", new BigDecimal("10"), null, "month", "UTC",
                "USD", "", null));

        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, chat("m-claude", true, ""));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("The answer");
        assertThat(h.carapace.ledger().flush(5_000)).isTrue();
        UsageRecord rec = h.carapace.store().usageLog().byRequestId(r.headers().firstValue("x-request-id").orElseThrow()).orElseThrow();
        assertThat(rec.estimated()).isTrue();
        assertThat(rec.outputTokens()).as("thinking generated: ~" + TokenCounter.count(thinking.toString()) + " tokens")
                .isGreaterThanOrEqualTo(TokenCounter.count(thinking.toString()));
    }
}
