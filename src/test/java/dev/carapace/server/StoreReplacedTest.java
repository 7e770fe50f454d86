package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;

import static dev.carapace.server.GatewayHarness.chat;
import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.testing.ScriptedUpstream.openAiText;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The SQLite file swapped or clobbered under a running gateway (what an agent with write access to the data folder
 * did): the gateway notices within a bounded time and stops serving instead of answering healthy from a database
 * that is no longer the one on disk. Real gateway, real HTTP, a real file renamed over and truncated in place.
 */
class StoreReplacedTest {

    /** The timer checks every second; a generous bound for a busy machine. */
    static final Duration NOTICED_WITHIN = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void aFileRenamedOverTheDatabaseStopsTheGatewayServing() throws Exception {
        Path data = dir.resolve("data");
        try (GatewayHarness h = new GatewayHarness(data)) {
            Path db = data.resolve("carapace.db");
            healthyAndServing(h);

            Path planted = Files.write(data.resolve("planted"), "21 bytes of not-sqlite".substring(0, 21).getBytes());
            Files.move(planted, db, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

            refusesEverything(h, "replaced by another file");
        }
    }

    @Test
    void aDatabaseTruncatedInPlaceStopsTheGatewayServing() throws Exception {
        Path data = dir.resolve("data");
        try (GatewayHarness h = new GatewayHarness(data)) {
            Path db = data.resolve("carapace.db");
            healthyAndServing(h);
            Object inode = Files.readAttributes(db, BasicFileAttributes.class).fileKey();

            try (FileChannel ch = FileChannel.open(db, StandardOpenOption.WRITE)) {
                ch.truncate(0);
                ch.write(ByteBuffer.wrap("21 bytes of garbage!!".getBytes()));
            }
            assertThat(Files.size(db)).isEqualTo(21);
            assertThat(Files.readAttributes(db, BasicFileAttributes.class).fileKey())
                    .as("the same file, clobbered in place").isEqualTo(inode);

            refusesEverything(h, "truncated or overwritten");
        }
    }

    private static void healthyAndServing(GatewayHarness h) {
        assertThat(h.get("/healthz", null).statusCode()).isEqualTo(200);
        h.a.enqueue(openAiText("Hi!", 12, 3));
        assertThat(h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, "")).statusCode()).isEqualTo(200);
    }

    /** The timer, not /healthz, notices: model calls are refused within the bound; then /healthz says why. */
    private static void refusesEverything(GatewayHarness h, String why) {
        h.a.respond(r -> openAiText("answered from an unsound store", 1, 1));
        await().atMost(NOTICED_WITHIN).pollInterval(Duration.ofMillis(200)).until(
                () -> h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, "")).statusCode() == 503);
        int upstreamCalls = h.a.requestCount();

        HttpResponse<String> call = h.post("/v1/chat/completions", h.memberKey, chat("m-solo", false, ""));
        assertThat(call.statusCode()).isEqualTo(503);
        JsonNode error = json(call.body()).path("error");
        assertThat(error.path("code").asText()).isEqualTo("store_unavailable");
        assertThat(error.path("message").asText()).contains(why).contains("restart");
        // the same through the Anthropic surface, in its own error shape (it says "unavailable" with 529, as Anthropic does)
        HttpResponse<String> messages = h.post("/v1/messages", h.memberKey, GatewayHarness.messages("m-claude", false, ""));
        assertThat(messages.statusCode()).isEqualTo(529);
        assertThat(json(messages.body()).path("type").asText()).isEqualTo("error");
        assertThat(json(messages.body()).path("error").path("message").asText()).contains(why);

        HttpResponse<String> health = h.get("/healthz", null);
        assertThat(health.statusCode()).isEqualTo(503);
        assertThat(json(health.body()).path("status").asText()).isEqualTo("unavailable");
        assertThat(json(health.body()).path("reason").asText()).contains(why);
        // once the store was found unsound, no call reached an upstream
        assertThat(h.a.requestCount()).isEqualTo(upstreamCalls);
        assertThat(h.claude.requestCount()).isZero();
    }
}
