package dev.carapace.server.http;

import org.eclipse.jetty.io.Content;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StreamBodyTest {

    /** What reached the connection: one entry per write, "+" marking the last. */
    private final List<String> writes = new ArrayList<>();
    private final Content.Sink connection = (last, bytes, callback) -> {
        byte[] b = new byte[bytes.remaining()];
        bytes.get(b);
        writes.add(new String(b, StandardCharsets.US_ASCII) + (last ? "+" : ""));
        callback.succeeded();
    };

    @Test
    void writesWaitForTheFlushAndLeaveTogether() throws IOException {
        StreamBody body = new StreamBody(connection, null);
        body.write("a".getBytes(StandardCharsets.US_ASCII));
        body.write("bc".getBytes(StandardCharsets.US_ASCII));
        assertThat(writes).isEmpty();
        body.flush();
        body.flush();   // nothing held: no empty write
        body.write("d".getBytes(StandardCharsets.US_ASCII));
        body.close();
        assertThat(writes).containsExactly("abc", "d+");
    }

    @Test
    void aBurstPastTheLargestBufferGoesOutInOrder() throws IOException {
        StreamBody body = new StreamBody(connection, null);
        String small = "x".repeat(1000);
        String big = "y".repeat(StreamBody.MAX + 1);
        body.write(small.getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < 20; i++) body.write(small.getBytes(StandardCharsets.US_ASCII));   // grows to MAX, then sends
        body.write(big.getBytes(StandardCharsets.US_ASCII));
        body.close();
        assertThat(String.join("", writes).replace("+", "")).isEqualTo(small.repeat(21) + big);
        assertThat(writes).allSatisfy(w -> assertThat(w.length()).isLessThanOrEqualTo(big.length() + 1));
        assertThat(writes.get(writes.size() - 1)).endsWith("+");
    }

    @Test
    void nothingIsWrittenAfterTheEnd() throws IOException {
        StreamBody body = new StreamBody(connection, null);
        body.close();
        body.close();
        assertThat(writes).containsExactly("+");
        assertThatThrownBy(() -> body.write(1)).isInstanceOf(IOException.class);
    }

}
