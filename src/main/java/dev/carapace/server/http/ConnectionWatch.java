package dev.carapace.server.http;

import org.eclipse.jetty.io.Connection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What happens on a connection between its requests, and which thread runs its route (so a shutdown can interrupt
 * it). Two things are bounded here because the parser alone cannot
 * see them:
 * <ul>
 *   <li><b>The header deadline.</b> A client that sends a request's head a byte at a time never trips the idle
 *   timeout, yet holds a connection (and a slot under the connection cap) for as long as it likes. Once bytes of a
 *   new request have arrived, its route must have been reached within {@code headerTimeout}, or the connection is
 *   closed.</li>
 *   <li><b>Hang-ups.</b> A client that closes the connection in the middle of a request's head is worth one access-log
 *   line, not a stack trace.</li>
 * </ul>
 * Only the public counters of a connection are used (bytes in, and whether a route is running), so this does not
 * depend on the parser's internals: between requests, bytes in that did not lead to a route are a request head
 * still arriving. A sweep every quarter of the deadline checks every open connection; that costs a few map reads per
 * connection, off the request path.
 */
final class ConnectionWatch implements Connection.Listener, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("carapace.access");

    /** One open connection. Written by its request threads and the sweeper; a stale read only delays a close by a sweep. */
    private static final class Watched {
        volatile Thread route;          // the thread running its route, null between requests (HTTP/1.1: one at a time)
        volatile long bytesAtIdle;      // bytes in when it last went idle, so later bytes are a new request
        volatile long waitingSince;     // nanoTime when bytes of a new request were first seen, 0 when none are
    }

    private final Map<Connection, Watched> open = new ConcurrentHashMap<>();
    private final long headerNanos;
    private final ScheduledExecutorService sweeper;

    ConnectionWatch(Duration headerTimeout) {
        this.headerNanos = headerTimeout.toNanos();
        this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "http-header-deadline");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(50, headerTimeout.toMillis() / 4);
        sweeper.scheduleWithFixedDelay(this::sweep, every, every, TimeUnit.MILLISECONDS);
    }

    int openConnections() { return open.size(); }

    @Override
    public void onOpened(Connection connection) {
        open.put(connection, new Watched());
    }

    @Override
    public void onClosed(Connection connection) {
        Watched w = open.remove(connection);
        if (w != null && w.route == null && connection.getBytesIn() > w.bytesAtIdle) {
            log.info("- - closed by the client in the middle of a request's head ({} bytes) from {}",
                    connection.getBytesIn() - w.bytesAtIdle, connection.getEndPoint().getRemoteSocketAddress());
        }
    }

    /** A route starts on {@code connection}, on the current thread: its head arrived in time. */
    void routeStarted(Connection connection) {
        Watched w = open.get(connection);
        if (w == null) return;   // already closed
        w.route = Thread.currentThread();
        w.waitingSince = 0;
    }

    /** The route has ended: from now on, bytes in belong to the next request. */
    void routeEnded(Connection connection) {
        Watched w = open.get(connection);
        if (w == null) return;   // closed, or upgraded to a WebSocket
        w.bytesAtIdle = connection.getBytesIn();
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

    private void sweep() {
        long now = System.nanoTime();
        open.forEach((connection, w) -> {
            if (w.route != null || connection.getBytesIn() <= w.bytesAtIdle) return;
            if (w.waitingSince == 0) {
                w.waitingSince = now;
            } else if (now - w.waitingSince > headerNanos) {
                log.info("- - closed: a request's head took longer than {} ms to arrive, from {}",
                        headerNanos / 1_000_000, connection.getEndPoint().getRemoteSocketAddress());
                connection.getEndPoint().close();
            }
        });
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
    }
}
