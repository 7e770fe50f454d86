package dev.carapace.agent.tools;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The head-and-tail capture under a byte cap: exact counts, ring wrap-around, UTF-8 boundaries. */
class OutputCaptureTest {

    private static String expected(byte[] all, int head, int tail) {
        long cut = all.length - head - tail;
        return new String(all, 0, head, StandardCharsets.US_ASCII) + "\n[... " + cut + " bytes of output cut ...]\n"
                + new String(all, all.length - tail, tail, StandardCharsets.US_ASCII);
    }

    @Test
    void keepsTheFirstAndLastBytesWhateverTheChunkSizes() {
        Random random = new Random(42);
        byte[] all = new byte[100_000];
        for (int i = 0; i < all.length; i++) all[i] = (byte) ('a' + random.nextInt(26)); // no line ends to cut at
        for (int trial = 0; trial < 50; trial++) {
            OutputCapture c = new OutputCapture(264); // 200 kept: 100 + 100
            int i = 0;
            while (i < all.length) {
                int n = Math.min(all.length - i, 1 + random.nextInt(trial % 2 == 0 ? 7 : 5000));
                c.write(all, i, n);
                i += n;
            }
            assertThat(c.total()).isEqualTo(all.length);
            assertThat(c.text()).isEqualTo(expected(all, 100, 100));
        }
    }

    @Test
    void shortOutputIsKeptWhole() {
        OutputCapture c = new OutputCapture(264);
        byte[] b = "x".repeat(200).getBytes(StandardCharsets.US_ASCII);
        c.write(b, 0, 150);
        c.write(b, 150, 50);
        assertThat(c.text()).isEqualTo("x".repeat(200));
        c.write(b, 0, 1);
        assertThat(c.text()).isEqualTo(expected("x".repeat(201).getBytes(StandardCharsets.US_ASCII), 100, 100));
    }

    @Test
    void neverSplitsAUtf8CharacterAndStaysWithinTheCap() {
        for (String unit : new String[] {"é", "€", "😀", "a€😀é"}) {
            byte[] b = unit.repeat(5000).getBytes(StandardCharsets.UTF_8);
            for (int cap = 70; cap < 120; cap++) {
                OutputCapture c = new OutputCapture(cap);
                c.write(b, 0, b.length);
                String text = c.text();
                assertThat(text).as(unit + " cap " + cap).doesNotContain("?").doesNotContain("\uFFFD");
                assertThat(text.getBytes(StandardCharsets.UTF_8).length).as(unit + " cap " + cap).isLessThanOrEqualTo(cap);
                long shown = text.replaceAll("\n?\\[\\.\\.\\. \\d+ bytes of output cut \\.\\.\\.]\n", "")
                        .getBytes(StandardCharsets.UTF_8).length;
                long cut = Long.parseLong(text.replaceAll("(?s).*\\[\\.\\.\\. (\\d+) bytes.*", "$1"));
                assertThat(shown + cut).isEqualTo(b.length);
            }
        }
    }

    @Test
    void writesAfterSealAreIgnored() {
        OutputCapture c = new OutputCapture(1000);
        c.write("before".getBytes(StandardCharsets.US_ASCII), 0, 6);
        c.seal();
        c.write("after".getBytes(StandardCharsets.US_ASCII), 0, 5);
        assertThat(c.text()).isEqualTo("before");
        assertThat(c.total()).isEqualTo(6);
    }
}
