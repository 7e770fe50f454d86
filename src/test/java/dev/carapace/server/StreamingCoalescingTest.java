package dev.carapace.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static dev.carapace.server.GatewayHarness.chat;
import static dev.carapace.server.GatewayHarness.frames;
import static dev.carapace.testing.ScriptedUpstream.openAiTextStream;
import static dev.carapace.testing.ScriptedUpstream.sse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a burst costs on the wire: events that reach Carapace together leave in a few writes, not one each. Each
 * flush of the response is one HTTP chunk, so the test reads the raw chunked body and counts them.
 */
class StreamingCoalescingTest {

    @TempDir Path data;
    GatewayHarness h;

    @BeforeEach
    void start() throws Exception { h = new GatewayHarness(data); }

    @AfterEach
    void stop() { h.close(); }

    @Test
    void aBurstLeavesInAFewChunksTheFirstEventWithIt() throws IOException {
        List<String> deltas = IntStream.range(0, 40).mapToObj(i -> "token" + i + " ").toList();
        h.a.enqueue(sse(List.of(String.join("", openAiTextStream(deltas, 9, deltas.size()))), 0));

        List<String> chunks = chunksOf(chat("m-solo", true, ""));

        String body = String.join("", chunks);
        assertThat(frames(body)).hasSize(deltas.size() + 3);   // role, deltas, finish, [DONE]
        assertThat(chunks.get(0)).as("the first event waits for the burst it came in").contains("\"role\":\"assistant\"")
                .contains("token0");
        // 43 events: one chunk each before. Now the burst as the reader empties its buffer, then the end.
        assertThat(chunks).hasSizeLessThanOrEqualTo(6);
    }

    /** POSTs {@code json} over a plain socket and returns the data of each HTTP chunk of the response body. */
    private List<String> chunksOf(String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        try (Socket s = new Socket("127.0.0.1", h.carapace.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Authorization: Bearer " + h.memberKey + "\r\nContent-Length: " + body.length
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            InputStream in = s.getInputStream();
            String line;
            List<String> head = new ArrayList<>();
            while (!(line = line(in)).isEmpty()) {
                if (line.startsWith("HTTP/1.1")) assertThat(line).startsWith("HTTP/1.1 200");
                head.add(line.toLowerCase(java.util.Locale.ROOT));
            }
            // A whole answer held to its end leaves in one write; Jetty would frame that with a Content-Length.
            assertThat(head).as("a stream is chunked whatever its timing").contains("transfer-encoding: chunked")
                    .noneMatch(h -> h.startsWith("content-length"));
            List<String> chunks = new ArrayList<>();
            for (int size; (size = Integer.parseInt(line(in), 16)) > 0; ) {
                chunks.add(new String(in.readNBytes(size), StandardCharsets.UTF_8));
                assertThat(line(in)).isEmpty();
            }
            return chunks;
        }
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) throw new IOException("connection closed mid-line");
            if (c != '\r') b.write(c);
        }
        return b.toString(StandardCharsets.US_ASCII);
    }
}
