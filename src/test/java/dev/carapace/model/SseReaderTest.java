package dev.carapace.model;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Frames come out whole whatever the sizes of the reads under them, small buffer or grown. */
class SseReaderTest {

    /** Hands out at most {@code max} bytes per read, as a network does. */
    private static InputStream trickle(String text, int max) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, max));
            }
        };
    }

    private static List<String> frames(InputStream in) throws IOException {
        List<String> out = new ArrayList<>();
        new SseReader(in).read((event, data) -> out.add(event + "|" + data), () -> false);
        return out;
    }

    @Test
    void framesLongerThanTheBufferAndManyInOneReadComeOutWhole() throws IOException {
        String big = "é".repeat(20_000);    // a data line of 40,000 bytes: past the buffer at any size
        StringBuilder text = new StringBuilder();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            text.append("data: {\"n\":").append(i).append("}\r\n\r\n");
            expected.add("null|{\"n\":" + i + "}");
        }
        text.append("event: big\ndata: ").append(big).append("\ndata: second line\n\n");
        expected.add("big|" + big + "\nsecond line");
        text.append(": a comment\rdata: last\r\r");
        expected.add("null|last");
        for (int max : new int[] {1, 7, 512, 100_000}) {
            assertThat(frames(trickle(text.toString(), max))).as("reads of at most %d bytes", max).isEqualTo(expected);
        }
    }
}
