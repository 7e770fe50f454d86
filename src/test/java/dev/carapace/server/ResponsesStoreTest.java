package dev.carapace.server;

import dev.carapace.store.ResponseRecords;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;

import static dev.carapace.server.GatewayHarness.json;
import static org.assertj.core.api.Assertions.assertThat;

/** The {@code responses:} settings: retention (expired responses are gone, then deleted) and a gateway that keeps none. */
class ResponsesStoreTest {

    @TempDir Path data;

    @Test
    void anExpiredResponseIsNotFoundAndIsDeletedByTheRetentionSweep() throws Exception {
        try (GatewayHarness h = new GatewayHarness(data, "responses:\n  retention: 2h")) {
            h.a.enqueue(ScriptedUpstream.openAiText("kept", 3, 1));
            HttpResponse<String> r = h.post("/v1/responses", h.memberKey, "{\"model\":\"m-solo\",\"input\":\"hi\"}");
            String id = json(r.body()).get("id").asText();
            ResponseRecords records = h.carapace.store().responseRecords();
            String key = h.record(r).keyPrefix();
            ResponseRecords.StoredResponse stored = records.get(key, id, Instant.now()).orElseThrow();
            assertThat(stored.expiresAt()).isBetween(Instant.now().plusSeconds(7100), Instant.now().plusSeconds(7201));
            assertThat(stored.inputItems()).contains("\"hi\"");

            Instant later = Instant.now().plusSeconds(7300);
            assertThat(records.get(key, id, later)).isEmpty();
            assertThat(records.deleteExpired(Instant.now())).isZero();
            assertThat(records.deleteExpired(later)).isEqualTo(1);
            assertThat(h.get("/v1/responses/" + id, h.memberKey).statusCode()).isEqualTo(404);
        }
    }

    @Test
    void aGatewayThatKeepsNoResponsesSaysSoAndRefusesAChain() throws Exception {
        try (GatewayHarness h = new GatewayHarness(data, "responses:\n  store: false")) {
            h.a.enqueue(ScriptedUpstream.openAiText("not kept", 3, 1));
            HttpResponse<String> r = h.post("/v1/responses", h.memberKey, "{\"model\":\"m-solo\",\"input\":\"hi\"}");
            assertThat(r.statusCode()).isEqualTo(200);
            String id = json(r.body()).get("id").asText();
            assertThat(json(r.body()).get("store").asBoolean()).isFalse();
            assertThat(h.get("/v1/responses/" + id, h.memberKey).statusCode()).isEqualTo(404);

            HttpResponse<String> chained = h.post("/v1/responses", h.memberKey,
                    "{\"model\":\"m-solo\",\"input\":\"and?\",\"previous_response_id\":\"" + id + "\"}");
            assertThat(chained.statusCode()).isEqualTo(400);
            assertThat(json(chained.body()).at("/error/message").asText()).contains("responses.store is false");
            assertThat(h.a.requestCount()).isEqualTo(1);
        }
    }
}
