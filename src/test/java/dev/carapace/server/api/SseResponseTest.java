package dev.carapace.server.api;

import dev.carapace.model.ApiException;
import dev.carapace.model.FinishReason;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.WireFormat;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * When a streamed answer reaches the socket: each flush of the response stream is one write to the client, so the
 * test records what had been written at every flush.
 */
class SseResponseTest {

    /** The body stream: remembers the text that had been written at each flush, and whether it was closed. */
    private static final class Socket extends ByteArrayOutputStream {
        final List<String> flushes = new ArrayList<>();
        boolean closed;

        @Override
        public void flush() { flushes.add(text()); }

        @Override
        public void close() {
            flush();   // as a real response stream does: what is buffered goes out on close
            closed = true;
        }

        String text() { return toString(StandardCharsets.UTF_8); }
    }

    /** Renders each event as one line, so the bytes show which events were written. */
    private static final WireFormat.StreamEncoder LINES = new WireFormat.StreamEncoder() {
        @Override
        public byte[] encode(StreamEvent event) {
            String line = switch (event) {
                case StreamEvent.Started s -> "start";
                case StreamEvent.TextDelta t -> t.text();
                case StreamEvent.Finished f -> "finish";
                default -> "";   // nothing to send, as for a usage report the client did not ask for
            };
            return line.isEmpty() ? new byte[0] : (line + "\n").getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public byte[] error(ApiException error) { return "error\n".getBytes(StandardCharsets.UTF_8); }

        @Override
        public byte[] end() { return "end\n".getBytes(StandardCharsets.UTF_8); }
    };

    private final Socket socket = new Socket();
    private int starts;
    private final HttpApi.SseResponse sse = new HttpApi.SseResponse(() -> {
        starts++;
        return socket;
    }, () -> LINES);

    @Test
    void withoutIdleSignalsEveryEventIsFlushedOnItsOwn() {
        sse.accept(new StreamEvent.Started("id", "m"));
        sse.accept(new StreamEvent.TextDelta("a"));
        sse.accept(new StreamEvent.TextDelta("b"));
        sse.end();

        assertThat(socket.flushes).containsExactly("start\n", "start\na\n", "start\na\nb\n", "start\na\nb\nend\n");
        assertThat(socket.closed).isTrue();
        assertThat(starts).isOne();
    }

    @Test
    void afterTheFirstIdleSignalEventsWaitForTheNextOne() {
        sse.idle();                                      // the reader waits for the first bytes: nothing to flush
        assertThat(sse.started()).isFalse();
        sse.accept(new StreamEvent.Started("id", "m"));  // the first event waits too, with the headers
        assertThat(sse.started()).isTrue();
        assertThat(socket.flushes).isEmpty();

        sse.accept(new StreamEvent.TextDelta("a"));      // a burst: a and b came in together with the first event
        sse.accept(new StreamEvent.TextDelta("b"));
        assertThat(socket.flushes).isEmpty();
        sse.idle();                                      // the reader is about to wait: the burst leaves as one write
        assertThat(socket.flushes).containsExactly("start\na\nb\n");

        sse.idle();                                      // nothing new: no empty write
        sse.accept(new StreamEvent.UsageReport(null));   // renders to nothing: nothing to flush either
        sse.idle();
        assertThat(socket.flushes).hasSize(1);

        sse.accept(new StreamEvent.TextDelta("c"));
        sse.accept(new StreamEvent.Finished(FinishReason.STOP));
        sse.end();                                       // the end flushes what is held, with the closing frame
        assertThat(socket.flushes).containsExactly("start\na\nb\n", "start\na\nb\nc\nfinish\nend\n");
        assertThat(socket.closed).isTrue();
    }

    @Test
    void aFailureMidStreamFlushesWhatWasHeldBeforeTheErrorFrame() {
        sse.idle();
        sse.accept(new StreamEvent.Started("id", "m"));
        sse.accept(new StreamEvent.TextDelta("a"));
        sse.fail(ApiException.of(ApiException.Kind.UPSTREAM, "upstream_error", "boom"));

        assertThat(socket.flushes).containsExactly("start\na\nerror\n");   // what was held leaves with the error frame
        assertThat(socket.closed).isTrue();
    }

    @Test
    void nothingIsStartedOrSentBeforeTheFirstEvent() {
        sse.idle();
        sse.end();
        assertThat(sse.started()).isFalse();
        assertThat(starts).isZero();
        assertThat(socket.flushes).isEmpty();
    }
}
