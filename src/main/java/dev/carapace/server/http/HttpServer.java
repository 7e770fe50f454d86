package dev.carapace.server.http;

import org.eclipse.jetty.http.HttpCompliance;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.server.ServerWebSocketContainer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.Executors;

/**
 * Carapace's HTTP/1.1 server: Jetty 12, each request's route on its own virtual thread.
 *
 * <p>Why Jetty: its parser refuses what RFC 9112 says to refuse (Content-Length beside Transfer-Encoding, a
 * Transfer-Encoding other than a final {@code chunked}, conflicting Content-Lengths, malformed chunks) with 400 and
 * closes the connection; a response it sends with {@code Connection: close} closes the connection; and a body the
 * route did not read is drained or the connection closed, never parsed as the next request. Its accept loop also
 * survives running out of file descriptors. Helidon 4.3 did none of these.
 *
 * <p>On top of Jetty: a cap on open connections (past it, the server stops accepting until one closes), a header
 * deadline ({@link ConnectionWatch}), and error bodies in the API's shape for the requests Jetty refuses before any
 * route sees them ({@link ErrorPage}).
 */
public final class HttpServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("carapace.http");

    /**
     * The longest request target (path and query) a route is given; past it, 414. Jetty's only limit is on the
     * whole head ({@link Settings#maxHeaderBytes}), far above any URI this API uses; a 4 KiB target is what Helidon
     * allowed before, so no client that worked then is refused now.
     */
    static final int MAX_URI_LENGTH = 4096;
    /** How long a connection may wait for its next request before it is closed (nginx keeps 75 s, Apache 5 s). */
    static final Duration KEEP_ALIVE = Duration.ofSeconds(60);
    /** Connections the kernel holds for accepting (its own cap, somaxconn, still applies). */
    static final int ACCEPT_QUEUE = 1024;

    /**
     * @param maxConnections  open client connections at most; past it, accepting pauses until one closes
     * @param headerTimeout   how long a request's head may take to arrive once its first byte has
     * @param idleTimeout     how long a connection may see no bytes either way while a request is under way (between
     *                        requests, {@link #KEEP_ALIVE} applies)
     * @param maxHeaderBytes  the request line and headers together at most (a longer URI gets 414, headers 431)
     */
    public record Settings(String host, int port, int maxConnections, Duration headerTimeout, Duration idleTimeout,
                           int maxHeaderBytes) {}

    private final Server server;
    private final ServerConnector connector;
    private final NetworkConnectionLimit limit;
    private final ConnectionWatch watch;

    private HttpServer(Settings settings, Routes routes, ErrorPage errors) {
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("http");
        threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server = new Server(threads);

        HttpConfiguration config = new HttpConfiguration();
        config.setSendServerVersion(false);
        config.setSendXPoweredBy(false);
        config.setRequestHeaderSize(settings.maxHeaderBytes());
        // RFC 9110 mode still reads a bare LF as the end of a header line (RFC 9112 permits it); a proxy in front that
        // does not would see one header where Carapace sees two, so a request could carry a header the proxy never
        // saw. Strict refuses it, and nothing a client library sends needs it.
        config.setHttpCompliance(HttpCompliance.STRICT);
        // Jetty's parser keeps a cache of the header lines seen on a connection, built on its second request: a trie
        // of about 100 KB per keep-alive connection, 200 MB live at 2,000 open streams. Parsing them afresh costs
        // far less than that memory.
        config.setHeaderCacheSize(0);
        HttpConnectionFactory http = new HttpConnectionFactory(config);
        watch = new ConnectionWatch(settings.headerTimeout(), KEEP_ALIVE, settings.maxConnections(), errors);
        http.addEventListener(watch);

        connector = new ServerConnector(server, 1, -1, http);
        connector.setHost(settings.host());
        connector.setPort(settings.port());
        connector.setIdleTimeout(settings.idleTimeout().toMillis());
        // Past the cap, accepting pauses: connections then wait in the kernel's queue rather than being reset.
        connector.setAcceptQueueSize(ACCEPT_QUEUE);
        connector.setAcceptedTcpNoDelay(true);   // small SSE frames must not wait for delayed ACKs
        server.addConnector(connector);
        limit = new NetworkConnectionLimit(settings.maxConnections(), connector);
        server.addBean(limit);

        ErrorWriter errorWriter = new ErrorWriter(errors, watch);
        server.setErrorHandler(new JsonErrors(errorWriter));
        ServerWebSocketContainer sockets = ServerWebSocketContainer.ensure(server);
        server.setHandler(new Dispatch(routes, sockets, watch, errorWriter));
    }

    /** Builds and starts a server; fails if the port cannot be bound. */
    public static HttpServer start(Settings settings, Routes routes, ErrorPage errors) {
        HttpServer s = new HttpServer(settings, routes, errors);
        try {
            s.server.start();
        } catch (Exception e) {
            s.close();
            throw new IllegalStateException("cannot start the HTTP server on " + settings.host() + ":" + settings.port()
                    + ": " + e.getMessage(), e);
        }
        return s;
    }

    public int port() { return connector.getLocalPort(); }

    /** Client connections open now (the connection cap counts these). */
    public int openConnections() { return limit.getNetworkConnectionCount(); }

    /**
     * Stops accepting, interrupts the routes still running (a live event stream then ends its response cleanly; a
     * model call in flight ends as interrupted and is recorded so), gives them a moment to finish, then stops.
     */
    @Override
    public void close() {
        try {
            connector.setAccepting(false);
            watch.interruptRoutes();
            long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
            while (watch.routesRunning() && System.nanoTime() < deadline) Thread.sleep(10);
            server.stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.warn("stopping the HTTP server: {}", e.toString());
        }
        watch.close();
    }
}
