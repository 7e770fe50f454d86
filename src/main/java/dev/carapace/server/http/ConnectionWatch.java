package dev.carapace.server.http;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What happens on a connection between its requests, and which thread runs its route (so a shutdown can interrupt
 * it). What is bounded here, the parser alone cannot see:
 * <ul>
 *   <li><b>The header deadline.</b> A client that sends a request's head a byte at a time never trips the idle
 *   timeout, yet holds a connection (and a slot under the connection cap) for as long as it likes. Once bytes of a
 *   new request have arrived, its route must have been reached within {@code headerTimeout}, or the connection is
 *   closed.</li>
 *   <li><b>The linger after a closing answer.</b> After an answer saying {@code Connection: close} (a 413, a refused
 *   request), Jetty half-closes and reads and drops what the client still sends until it closes, so that the client
 *   is not reset before it has read the answer. That is bounded by the same deadline.</li>
 *   <li><b>Hang-ups.</b> A client that closes the connection in the middle of a request's head is worth one access-log
 *   line, not a stack trace; a connection closed by the server, or after an answer that said close, is no hang-up.</li>
 *   <li><b>Slow bodies.</b> Once a route reads a body, it must arrive at {@link #MIN_BODY_RATE} at least (after a
 *   grace), or the connection is closed.</li>
 *   <li><b>Stalled writes.</b> A write to a client that has stopped reading may stay blocked for {@link #WRITE_STALL}
 *   at most, then the connection is closed.</li>
 *   <li><b>Keep-alive.</b> A connection waiting for its next request is closed after a while ({@code keepAlive}, or
 *   {@link #CROWDED_KEEP_ALIVE} near the connection cap), so idle connections cannot hold every slot.</li>
 * </ul>
 * Only the public counters of a connection are used (bytes in, and whether a route is running), so this does not
 * depend on the parser's internals: between requests, bytes in that did not lead to a route are a request head
 * still arriving. A sweep every twentieth of the deadline checks every open connection; that costs a few map reads
 * per connection, off the request path. A head first seen by one sweep arrived at most one sweep earlier, and the close
 * comes at most one sweep late: a head is cut off within the deadline and a tenth (11 s for 10 s).
 */
final class ConnectionWatch implements Connection.Listener, AutoCloseable {

    /**
     * The slowest a request body may arrive, after {@link #BODY_GRACE}: bytes read must keep up with this rate over
     * the time since the route began reading, or the connection is closed. A client trickling a byte every few
     * seconds would otherwise hold a connection (and a slot under the cap) for hours, each byte resetting the idle
     * timeout. (Jetty 12 has the setting, {@code minRequestDataRate}, but does not enforce it.)
     */
    static final long MIN_BODY_RATE = 1024;
    /**
     * How long one write to a client may stay blocked: a client that stops reading (it pipelined thousands of
     * {@code /healthz} requests and reads none of the answers, or it holds a stream open unread) would otherwise keep
     * its route, and its slot under the cap, until the idle timeout (minutes). A reading client empties the socket's
     * buffer in far less.
     */
    static final Duration WRITE_STALL = Duration.ofSeconds(30);
    static final Duration BODY_GRACE = Duration.ofSeconds(10);

    /** How long an idle connection is kept when the server is near its connection cap. */
    static final Duration CROWDED_KEEP_ALIVE = Duration.ofSeconds(2);

    private static final Logger log = LoggerFactory.getLogger("carapace.access");

    /** One open connection. Written by its request threads and the sweeper; a stale read only delays a close by a sweep. */
    static final class Watched {
        final SocketAddress remote;     // kept from the open: a closed endpoint no longer knows it
        volatile Thread route;          // the thread running its route, null between requests (HTTP/1.1: one at a time)
        volatile long bytesAtIdle;      // bytes in when it last went idle, so later bytes are a new request
        volatile long waitingSince;     // nanoTime when bytes of a new request were first seen, 0 when none are
        volatile long idleSince = System.nanoTime();   // when it last went idle (or opened)
        volatile boolean ending;        // no request will be read on it any more: its close is no hang-up
        volatile long bodySince;        // nanoTime when its route began reading a body, 0 when none is being read
        volatile long bodyBytes;        // bytes of that body read so far
        volatile long writingSince;     // nanoTime when its route began a write that has not returned, 0 when none

        /** Marks a write to the client as under way (true) or done (false); see {@link #WRITE_STALL}. */
        void writing(boolean now) {
            writingSince = now ? System.nanoTime() : 0;
        }

        Watched(SocketAddress remote) {
            this.remote = remote;
        }

        /** {@code body}, its reading timed against {@link #MIN_BODY_RATE} by the sweep. */
        InputStream timeBody(InputStream body) {
            bodyBytes = 0;
            bodySince = System.nanoTime();
            return new FilterInputStream(body) {
                @Override
                public int read() throws IOException {
                    int b = super.read();
                    if (b < 0) bodySince = 0;
                    else bodyBytes++;
                    return b;
                }

                @Override
                public int read(byte[] buf, int off, int len) throws IOException {
                    int n = super.read(buf, off, len);
                    if (n < 0) bodySince = 0;
                    else bodyBytes += n;
                    return n;
                }

                @Override
                public void close() throws IOException {
                    bodySince = 0;
                    super.close();
                }
            };
        }
    }

    private final Map<Connection, Watched> open = new ConcurrentHashMap<>();
    private final long headerNanos;
    /** The body of the 408 a connection whose request head missed the deadline is told before it closes. */
    private final ErrorPage errors;
    private final long keepAliveNanos;
    private final int maxConnections;
    private final ScheduledExecutorService sweeper;

    /**
     * @param keepAlive      how long a connection may wait for its next request; when the server is near its
     *                       connection cap, {@link #CROWDED_KEEP_ALIVE} at most, so idle connections make room
     * @param maxConnections the connection cap
     */
    ConnectionWatch(Duration headerTimeout, Duration keepAlive, int maxConnections, ErrorPage errors) {
        this.errors = errors;
        this.headerNanos = headerTimeout.toNanos();
        this.keepAliveNanos = keepAlive.toNanos();
        this.maxConnections = maxConnections;
        this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "http-header-deadline");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(50, headerTimeout.toMillis() / 20);
        sweeper.scheduleWithFixedDelay(this::sweep, every, every, TimeUnit.MILLISECONDS);
    }

    @Override
    public void onOpened(Connection connection) {
        open.put(connection, new Watched(connection.getEndPoint().getRemoteSocketAddress()));
    }

    @Override
    public void onClosed(Connection connection) {
        Watched w = open.remove(connection);
        if (w != null && !w.ending && w.route == null && connection.getBytesIn() > w.bytesAtIdle) {
            log.info("- - closed by the client in the middle of a request's head ({} bytes) from {}",
                    connection.getBytesIn() - w.bytesAtIdle, w.remote);
        }
    }

    /**
     * A route starts on {@code connection}, on the current thread: its head arrived in time.
     *
     * @return the connection's record, for {@link #routeEnded} and the body's timing; null if it has closed already
     */
    Watched routeStarted(Connection connection) {
        Watched w = open.get(connection);
        if (w == null) return null;
        w.route = Thread.currentThread();
        w.waitingSince = 0;
        return w;
    }

    /**
     * The route has ended: from now on, bytes in belong to the next request.
     *
     * @param closing its answer said {@code Connection: close}: Jetty now reads and drops what the client still sends
     *                (the rest of a body it was refused) until the client closes, so those bytes are no request head
     */
    void routeEnded(Watched w, Connection connection, boolean closing) {
        if (w == null || open.get(connection) != w) return;   // closed, or upgraded to a WebSocket
        w.bytesAtIdle = connection.getBytesIn();
        w.idleSince = System.nanoTime();
        w.bodySince = 0;
        if (closing) w.ending = true;
        w.route = null;
    }

    /** Interrupts every running route (at shutdown); returns how many were running. */
    int interruptRoutes() {
        int n = 0;
        for (Watched w : open.values()) {
            Thread t = w.route;
            if (t != null) {
                t.interrupt();
                n++;
            }
        }
        return n;
    }

    /** Whether any route is still running. */
    boolean routesRunning() {
        for (Watched w : open.values()) if (w.route != null) return true;
        return false;
    }

    /**
     * The HTTP layer answered the request itself, no route ran (it was refused): like a route's end, its bytes were
     * a request, not a head still arriving, and its access line is already written. Without this, every refused
     * request would also be logged as a hang-up when its connection closes.
     *
     * @param closing the answer closes the connection: Jetty reads and drops whatever the client still sends until it
     *                closes, and none of that is a request's head either
     */
    void answered(Connection connection, boolean closing) {
        Watched w = open.get(connection);
        if (w == null) return;
        w.bytesAtIdle = connection.getBytesIn();
        w.idleSince = System.nanoTime();
        w.waitingSince = 0;
        if (closing) w.ending = true;
    }

    private void sweep() {
        long now = System.nanoTime();
        long keepAlive = open.size() >= maxConnections * 9L / 10 ? Math.min(keepAliveNanos, CROWDED_KEEP_ALIVE.toNanos())
                : keepAliveNanos;
        open.forEach((connection, w) -> {
            try {
                sweep(connection, w, now, keepAlive);
            } catch (RuntimeException e) {
                // One connection's trouble must not end the sweeps: an exception would cancel every later one.
                log.debug("closing a connection the sweep failed on", e);
                connection.getEndPoint().close();
            }
        });
    }

    private void sweep(Connection connection, Watched w, long now, long keepAlive) {
        if (w.route != null) {
            long writing = w.writingSince;
            if (writing != 0 && now - writing > WRITE_STALL.toNanos()) {
                log.info("- - closed: the client read nothing of its answer for {} s, from {}",
                        WRITE_STALL.toSeconds(), w.remote);
                w.ending = true;
                connection.getEndPoint().close();
                return;
            }
            long since = w.bodySince;
            if (since != 0 && (now - since - BODY_GRACE.toNanos()) / 1_000_000_000.0 * MIN_BODY_RATE > w.bodyBytes) {
                log.info("- - closed: a request body arrived slower than {} bytes/s ({} bytes in {} ms), from {}",
                        MIN_BODY_RATE, w.bodyBytes, (now - since) / 1_000_000, w.remote);
                w.ending = true;
                connection.getEndPoint().close();
            }
            return;
        }
        if (connection.getBytesIn() <= w.bytesAtIdle) {
            // Waiting for its next request: a kept-alive connection is closed after a while, as every server
            // does, so that idle ones cannot hold every slot under the cap (silently: it is routine).
            if (now - w.idleSince > keepAlive) {
                w.ending = true;
                connection.getEndPoint().close();
            }
            return;
        }
        if (w.waitingSince == 0) {
            w.waitingSince = now;
        } else if (now - w.waitingSince > headerNanos) {
            EndPoint endPoint = connection.getEndPoint();
            // Still bounded after a refusal that closes: a client that keeps sending is not kept till the idle timeout.
            if (w.ending) {
                log.info("- - closed: still sending {} ms after its last answer, from {}", headerNanos / 1_000_000, w.remote);
                endPoint.close();
                return;
            }
            log.info("- - closed: a request's head took longer than {} ms to arrive, from {}",
                    headerNanos / 1_000_000, w.remote);
            w.ending = true;   // the close is ours, not the client's hanging up
            // No answer is under way on a connection still reading a head, so this write is the only one: the
            // client learns why (RFC 9110 15.5.9), then the connection closes whether or not the write went out.
            endPoint.write(Callback.from(endPoint::close, failed -> endPoint.close()), headTimeoutAnswer());
        }
    }

    /** A whole 408 response that says close. */
    private ByteBuffer headTimeoutAnswer() {
        byte[] body = errors.render(408, "The request's head did not arrive within " + headerNanos / 1_000_000_000
                + " s; send each request's line and headers at once.", null, name -> null);
        byte[] head = ("HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocate(head.length + body.length).put(head).put(body).flip();
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
    }
}
