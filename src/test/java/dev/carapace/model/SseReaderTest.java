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
        new SseReader(in).read((event, data) -> out.add(event + "|" + new String(data, StandardCharsets.UTF_8)), () -> false);
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

    /** The field rules of the SSE spec that the fast path for "data: ..." must not skip. */
    @Test
    void fieldsFollowTheEventStreamRules() throws IOException {
        String text = "data:no space\n\n"          // the space after the colon is optional
                + "data:  two spaces\n\n"          // only one is removed
                + "data\ndata\n\n"                 // a bare field name is an empty value; two lines join with \n
                + "event:x\nid: 7\nretry: 10\ndata: a\n\n"   // other fields are ignored
                + "event\ndata: b\n\n"            // a bare event name is the empty type
                + "datum: c\ndata: d\n\n"         // a field that only starts with "data" is not data
                + "eventful: e\n\n";              // nor is one that starts with "event"; no data, no frame
        assertThat(frames(trickle(text, 3))).containsExactly("null|no space", "null| two spaces", "null|\n", "x|a", "|b",
                "null|d");
    }
}
