package dev.carapace.model;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The reader's idle signal comes before every wait for the upstream, and only then. */
class IdleSignallingInputStreamTest {

    private final List<String> log = new ArrayList<>();

    /** A sink that only logs when it is told the reader goes idle; the frames are logged by the reader's handler. */
    private final StreamSink sink = new StreamSink() {
        @Override
        public void accept(StreamEvent event) { throw new AssertionError("frames are logged by the handler"); }

        @Override
        public void idle() { log.add("idle"); }
    };

    /**
     * An upstream body arriving in bursts, as reads from a socket do. A burst marked "queued" has already arrived
     * when the one before it is used up; any other burst has to be waited for, and each wait is logged.
     */
    private final class Bursts extends InputStream {
        private record Burst(byte[] bytes, boolean queued) { }

        private final Deque<Burst> bursts = new ArrayDeque<>();
        private byte[] current = new byte[0];
        private int pos;

        Bursts then(String text) { return add(text, false); }

        Bursts queued(String text) { return add(text, true); }

        private Bursts add(String text, boolean queued) {
            bursts.add(new Burst(text.getBytes(StandardCharsets.UTF_8), queued));
            return this;
        }

        @Override
        public int available() {
            if (pos < current.length) return current.length - pos;
            Burst next = bursts.peek();
            return next != null && next.queued ? 1 : 0;   // as the JDK HttpClient says of a queued buffer
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (pos == current.length) {
                Burst next = bursts.poll();
                if (next == null) return -1;
                if (!next.queued) log.add("wait");
                current = next.bytes;
                pos = 0;
            }
            int n = Math.min(len, current.length - pos);
            System.arraycopy(current, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public int read() { throw new AssertionError("SseReader reads in blocks"); }
    }

    private void read(Bursts upstream) throws IOException {
        new SseReader(new IdleSignallingInputStream(upstream, sink)).read((event, data) -> log.add(new String(data, java.nio.charset.StandardCharsets.UTF_8)), () -> false);
    }

    @Test
    void signalsBeforeEachWaitSoABurstLeavesTogether() throws IOException {
        read(new Bursts()
                .then("data: 1\n\ndata: 2\n\n")    // two frames in one burst
                .then("data: 3\n\n")
                .then("data: 4\n\ndata: [DONE]\n\n"));

        assertThat(log).containsExactly(
                "idle", "wait", "1", "2",
                "idle", "wait", "3",
                "idle", "wait", "4", "[DONE]",
                "idle");                              // the reader looks for more and finds the end
    }

    @Test
    void noSignalWhileMoreIsAlreadyThere() throws IOException {
        read(new Bursts()
                .then("data: 1\n\n")
                .queued("data: 2\n\n")              // arrived while 1 was being handled: no wait, no flush yet
                .queued("data: 3\n\n")
                .then("data: 4\n\n"));

        assertThat(log).containsExactly("idle", "wait", "1", "2", "3", "idle", "wait", "4", "idle");
    }

    @Test
    void signalsOnceBeforeReadingEvenWhenTheFirstBytesAreAlreadyThere() throws IOException {
        // The response's first bytes often come in with its headers. The sink must still learn, before the first
        // event, that the reader will tell it when to flush; else it would flush this whole burst event by event.
        read(new Bursts()
                .queued("data: 1\n\ndata: 2\n\n")
                .then("data: 3\n\n"));

        assertThat(log).containsExactly("idle", "1", "2", "idle", "wait", "3", "idle");
    }

    @Test
    void aFrameSplitAcrossBurstsStillLetsTheCompleteOnesGo() throws IOException {
        read(new Bursts()
                .then("data: 1\n\ndata: tw")
                .then("o\n\n"));

        // Frame 1 is complete when the reader has to wait for the rest of frame 2: the moment to flush it.
        assertThat(log).containsExactly("idle", "wait", "1", "idle", "wait", "two", "idle");
    }
}
