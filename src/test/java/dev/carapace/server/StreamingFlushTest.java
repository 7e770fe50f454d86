package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import mockwebserver3.MockResponse;
import mockwebserver3.MockResponseBody;
import okio.BufferedSink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static dev.carapace.server.GatewayHarness.chat;
import static dev.carapace.server.GatewayHarness.frames;
import static dev.carapace.server.GatewayHarness.json;
import static dev.carapace.server.GatewayHarness.messages;
import static dev.carapace.testing.ScriptedUpstream.openAiTextStream;
import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * When streamed events reach the client. The gateway may hold events back while more of the upstream's answer has
 * already arrived, so that a burst leaves in one write; but no event waits for the upstream's next one.
 */
class StreamingFlushTest {

    private static final String WITH_USAGE = ",\"stream_options\":{\"include_usage\":true}";

    @TempDir Path data;
    GatewayHarness h;

    @BeforeEach
    void start() throws Exception { h = new GatewayHarness(data); }

    @AfterEach
    void stop() { h.close(); }

    private static final List<String> DELTAS = IntStream.range(0, 40).mapToObj(i -> "token" + i + " ").toList();

    /** The whole upstream stream in one write, so the gateway finds every frame already there. */
    private static MockResponse burst() {
        return sse(List.of(String.join("", openAiTextStream(DELTAS, 9, DELTAS.size()))), 0);
    }

    @Test
    void aBurstFromTheUpstreamReachesAnOpenAiClientWholeAndInOrder() {
        h.a.enqueue(burst());
        HttpResponse<String> r = h.post("/v1/chat/completions", h.memberKey, chat("m-solo", true, WITH_USAGE));

        assertThat(r.statusCode()).isEqualTo(200);
        List<GatewayHarness.Frame> frames = frames(r.body());
        // role, one chunk per delta, finish, usage, [DONE]
        assertThat(frames).hasSize(DELTAS.size() + 4);
        assertThat(frames.get(0).json().at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        for (int i = 0; i < DELTAS.size(); i++) {
            assertThat(frames.get(1 + i).json().at("/choices/0/delta/content").asText()).isEqualTo(DELTAS.get(i));
        }
        assertThat(frames.get(DELTAS.size() + 1).json().at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(frames.get(DELTAS.size() + 2).json().at("/usage/completion_tokens").asInt()).isEqualTo(DELTAS.size());
        assertThat(frames.get(DELTAS.size() + 3).data()).isEqualTo("[DONE]");
    }

    @Test
    void aBurstFromTheUpstreamReachesAnAnthropicClientWholeAndInOrder() {
        h.a.enqueue(burst());
        HttpResponse<String> r = h.post("/v1/messages", h.memberKey, messages("m-solo", true, ""),
                "anthropic-version", "2023-06-01");

        assertThat(r.statusCode()).isEqualTo(200);
        List<GatewayHarness.Frame> frames = frames(r.body());
        List<String> texts = new ArrayList<>();
        for (GatewayHarness.Frame f : frames) {
            if (f.event().equals("content_block_delta")) texts.add(f.json().at("/delta/text").asText());
        }
        assertThat(texts).isEqualTo(DELTAS);
        assertThat(frames.get(0).event()).isEqualTo("message_start");
        JsonNode delta = frames.get(frames.size() - 2).json();
        assertThat(delta.at("/type").asText()).isEqualTo("message_delta");
        assertThat(delta.at("/usage/output_tokens").asInt()).isEqualTo(DELTAS.size());
        assertThat(frames.get(frames.size() - 1).event()).isEqualTo("message_stop");
    }

    @Test
    void eachEventReachesTheClientBeforeTheUpstreamSendsTheNext() throws Exception {
        // role, three deltas, finish, usage, [DONE]: seven upstream frames, and seven client frames one for one.
        Stepped upstream = new Stepped(openAiTextStream(List.of("one", "two", "three"), 5, 3));
        h.a.enqueue(new MockResponse.Builder().code(200).addHeader("content-type", "text/event-stream").body(upstream).build());
        HttpRequest request = HttpRequest.newBuilder(URI.create(h.url("/v1/chat/completions")))
                .header("content-type", "application/json").header("authorization", "Bearer " + h.memberKey)
                .POST(HttpRequest.BodyPublishers.ofString(chat("m-solo", true, WITH_USAGE))).build();

        List<String> seen = new ArrayList<>();
        HttpResponse<Stream<String>> r = h.http.send(request, HttpResponse.BodyHandlers.ofLines());
        try (Stream<String> lines = r.body()) {
            lines.filter(l -> l.startsWith("data: ")).forEach(l -> {
                seen.add(l.substring(6));
                upstream.clientSawOne();
            });
        }

        assertThat(upstream.late).as("upstream frames that had to be sent before the client saw the one before").isEmpty();
        assertThat(seen).hasSize(7);
        assertThat(json(seen.get(0)).at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        assertThat(seen.subList(1, 4)).extracting(s -> json(s).at("/choices/0/delta/content").asText())
                .containsExactly("one", "two", "three");
        assertThat(json(seen.get(4)).at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(json(seen.get(5)).at("/usage/total_tokens").asInt()).isEqualTo(8);
        assertThat(seen.get(6)).isEqualTo("[DONE]");
    }

    /**
     * An upstream that sends its next frame only once the client has seen one frame more, as a model generating
     * token by token would be slower than the gateway. If the gateway held a frame back, the client would never
     * see it; after 5 s the upstream sends on anyway and notes the frame as late.
     */
    private static final class Stepped implements MockResponseBody {
        private final List<String> frames;
        private final Semaphore seenByClient = new Semaphore(0);
        final List<Integer> late = Collections.synchronizedList(new ArrayList<>());

        Stepped(List<String> frames) { this.frames = frames; }

        void clientSawOne() { seenByClient.release(); }

        @Override
        public long getContentLength() { return -1; }

        @Override
        public void writeTo(BufferedSink sink) throws IOException {
            for (int i = 0; i < frames.size(); i++) {
                try {
                    if (i > 0 && !seenByClient.tryAcquire(5, TimeUnit.SECONDS)) late.add(i);
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                sink.writeUtf8(frames.get(i));
                sink.flush();
            }
        }
    }
}
