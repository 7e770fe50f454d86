package dev.carapace.server.http;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * What becomes of a request body the route did not read to its end: a 413 refused before reading, a 401 to a POST,
 * a route that stopped at the size limit.
 *
 * <p>Such a body is never parsed as a request: either it is skipped by its length, and the connection serves the next
 * request, or the connection is closed. Jetty 12.1 closes it by aborting: a request whose body is not consumed when
 * the request ends has its connection closed at once, whatever the answer said. Closing a socket with unread bytes
 * makes the kernel send a reset, and a client still sending its body then sees the reset, often instead of the answer
 * it was sent (Java's HttpClient: "header parser received no bytes"). Three things keep the client's answer:
 * <ul>
 *   <li>The answer says {@code Connection: close} when the body cannot be skipped at once
 *   ({@link #sayCloseUnlessSkipped}), so no client reuses a connection about to close.</li>
 *   <li>After the answer the server reads and drops the rest of the body until it ends or a bound is reached
 *   ({@link #linger}), so the request ends consumed and Jetty's close is a graceful one.</li>
 *   <li>Nothing fails the body before that: a route's input stream closed early ({@link #of}), or Jetty's own
 *   {@code consumeAvailable}, would, and a failed body can no longer be read.</li>
 * </ul>
 */
final class UnreadBody {

    /** How long the server keeps reading a refused body after its answer; a client that has read the answer stops well before. */
    static final Duration LINGER_TIME = Duration.ofSeconds(2);
    /** How much of a refused body it reads at most in that time. */
    static final long LINGER_BYTES = 8L << 20;

    private UnreadBody() {}

    /**
     * The request's body as a source whose {@code fail} is ignored, for a route's input stream: Jetty's stream fails
     * its source when closed before the end (a route stopping at the size limit). The rest of the body is left to
     * {@link #sayCloseUnlessSkipped} and {@link #linger}.
     */
    static Content.Source of(Request request) {
        return new Content.Source() {
            @Override
            public long getLength() { return request.getLength(); }

            @Override
            public Content.Chunk read() { return request.read(); }

            @Override
            public void demand(Runnable demandCallback) { request.demand(demandCallback); }

            @Override
            public void fail(Throwable failure) { }

            @Override
            public void fail(Throwable failure, boolean last) { }
        };
    }

    /**
     * Before an answer leaves: reads and drops what has already arrived of the body, without waiting (so a client
     * waiting for 100 Continue is not asked for it), and if that is not the body's end, the answer says
     * {@code Connection: close}.
     */
    static void sayCloseUnlessSkipped(Request request, Response response) {
        if (!skipArrived(request)) response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
    }

    /**
     * Reads and drops the body as far as it has arrived, without waiting: whether it has ended. False when it failed
     * (a framing error: the connection closes anyway).
     *
     * <p>Not {@code Request.consumeAvailable()}: when the body has not all arrived, that fails it, and it can then no
     * longer be read to its end.
     */
    static boolean skipArrived(Request request) {
        while (true) {
            Content.Chunk chunk = request.read();
            if (chunk == null || Content.Chunk.isFailure(chunk)) return false;
            boolean last = chunk.isLast();
            chunk.release();
            if (last) return true;
        }
    }

    /**
     * After an answer that closes the connection has left: reads and drops the rest of the body as it comes, until it
     * ends, the client closes, or {@link #LINGER_TIME} or {@link #LINGER_BYTES} is reached (Jetty then closes with the
     * rest unread, and the client may see a reset: it was told to stop long before). Blocks the route's thread.
     *
     * <p>Not for a request expecting 100 Continue: asking for its body would send the 100 after the final answer, and
     * the client has not sent the body anyway.
     */
    static void linger(Request request) {
        if (request.getHeaders().contains(HttpHeader.EXPECT, HttpHeaderValue.CONTINUE.asString())) return;
        long deadline = System.nanoTime() + LINGER_TIME.toNanos();
        long dropped = 0;
        try {
            while (dropped <= LINGER_BYTES) {
                Content.Chunk chunk = request.read();
                if (chunk == null) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) return;
                    CountDownLatch more = new CountDownLatch(1);
                    request.demand(more::countDown);
                    if (!more.await(left, TimeUnit.NANOSECONDS)) return;
                    continue;
                }
                if (Content.Chunk.isFailure(chunk)) return;   // the client closed, or the framing broke: nothing to wait for
                dropped += chunk.remaining();
                boolean last = chunk.isLast();
                chunk.release();
                if (last) return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();   // the server is stopping
        }
    }
}
