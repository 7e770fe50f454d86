package dev.carapace.server.http;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.server.ServerWebSocketContainer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
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
    private static final Logger access = LoggerFactory.getLogger("carapace.access");

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
        HttpConnectionFactory http = new HttpConnectionFactory(config);
        watch = new ConnectionWatch(settings.headerTimeout(), KEEP_ALIVE, settings.maxConnections());
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

    /** Finds each request's route and runs it (Jetty calls this on a virtual thread: the route may block). */
    private static final class Dispatch extends Handler.Abstract {
        private final Routes routes;
        private final ServerWebSocketContainer sockets;
        private final ConnectionWatch watch;
        private final ErrorWriter errors;

        Dispatch(Routes routes, ServerWebSocketContainer sockets, ConnectionWatch watch, ErrorWriter errors) {
            super(InvocationType.BLOCKING);
            this.routes = routes;
            this.sockets = sockets;
            this.watch = watch;
            this.errors = errors;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String target = request.getHttpURI().getPathQuery();
            if (target != null && target.length() > MAX_URI_LENGTH) {
                // Closed like the parser's own 414 (a URI past the head limit): one answer for every long URI.
                refuse(request, response, callback, 414, "The request's URI is longer than " + MAX_URI_LENGTH
                        + " characters.", true);
                return true;
            }
            if (request.getConnectionMetaData().getHttpVersion() == HttpVersion.HTTP_1_0
                    && request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING)) {
                // HTTP/1.0 has no transfer codings, so where this body ends is unknowable: RFC 9112 6.1 says to treat
                // the framing as faulty and close. Jetty decodes it as chunked and keeps a keep-alive connection
                // open, so what followed the chunks would be read as the next request. Refused unread, and closed.
                refuse(request, response, callback, 400, "Transfer-Encoding is not part of HTTP/1.0; send"
                        + " Content-Length, or use HTTP/1.1.", true);
                return true;
            }
            Routes.Match match;
            try {
                match = routes.find(request.getMethod(), request.getHttpURI().getPath());
            } catch (IllegalArgumentException e) {
                refuse(request, response, callback, 400, "Malformed path: " + e.getMessage() + ".", false);
                return true;
            }
            Connection connection = request.getConnectionMetaData().getConnection();
            watch.routeStarted(connection);
            Exchange exchange = new Exchange(request, response, callback, sockets, match.params(), watch.body(connection));
            boolean closing = false;
            try {
                match.route().handle(exchange);
                if (exchange.upgraded()) return true;
                OutputStream out = exchange.openedOutput();
                if (out != null) out.close();
                closing = complete(request, response, callback);
            } catch (Throwable t) {
                if (exchange.upgraded()) return true;
                if (response.isCommitted()) {
                    callback.failed(t);   // a body was under way: the connection is cut, the client sees it short
                } else {
                    log.error("unexpected failure on {} {}", request.getMethod(), request.getHttpURI().getPath(), t);
                    errors.write(request, response, callback, 500, "Carapace failed to handle this request; the error"
                            + " is in the gateway's log.", true);
                }
            } finally {
                Thread.interrupted();   // an interrupt meant for this route must not reach the next task of the thread
                watch.routeEnded(connection, closing);
            }
            return true;
        }

        /** Answers a request refused before any route, then ends it as a route's ({@link #complete}). */
        private void refuse(Request request, Response response, Callback callback, int status, String message,
                            boolean close) {
            try (Blocker.Callback sent = Blocker.callback()) {
                errors.write(request, response, sent, status, message, close);
                sent.block();
            } catch (IOException | RuntimeException gone) {
                callback.failed(gone);   // the client has gone
                return;
            }
            complete(request, response, callback);
        }

        /**
         * Ends a request whose answer has left. After an answer that closes the connection, the rest of the body is
         * read and dropped first ({@link UnreadBody#linger}): Jetty aborts a connection whose request body is unread
         * when the request ends, and the reset would reach a client still sending its body.
         *
         * @return whether the answer closes the connection
         */
        private static boolean complete(Request request, Response response, Callback callback) {
            boolean closing = response.getHeaders().contains(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
            if (closing) UnreadBody.linger(request);
            callback.succeeded();
            return closing;
        }
    }

    /**
     * Answers a request no route answered (refused by the parser or here, or a route that failed) with the API's
     * error body, and logs its access line: the routes log their own, and a refused request deserves one too.
     */
    private record ErrorWriter(ErrorPage page, ConnectionWatch watch) {

        /**
         * @param close whether to close the connection after it; it is also closed when the request's body cannot
         *              be skipped now ({@link UnreadBody#skipArrived})
         */
        void write(Request request, Response response, Callback callback, int status, String message, boolean close) {
            boolean closing = close || !UnreadBody.skipArrived(request);
            access.info("{} {} {}", requestLine(request), status, message);
            // before the answer leaves: once it has, the connection may close at any moment
            watch.answered(request.getConnectionMetaData().getConnection(), closing);
            respond(request, response, callback, status, message, closing);
        }

        /**
         * The answer alone: no access line, and {@link ConnectionWatch} still counts the request as unanswered.
         *
         * @param close whether the answer says {@code Connection: close}, and Jetty then closes the connection
         */
        void respond(Request request, Response response, Callback callback, int status, String message, boolean close) {
            byte[] body = page.render(status, message, request.getHttpURI().getPath(), request.getHeaders()::get);
            response.setStatus(status);
            HttpFields.Mutable h = response.getHeaders();
            h.put(HttpHeader.CONTENT_TYPE, "application/json");
            h.put(HttpHeader.CONTENT_LENGTH, body.length);
            if (close) h.put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
            response.write(true, ByteBuffer.wrap(body), callback);
        }
    }

    /**
     * "METHOD path" for an access line, the path as sent (percent-encoded) and clipped; "- -" when the request line
     * could not be read (Jetty then names the request "BAD /badMessage").
     */
    private static String requestLine(Request request) {
        String path = request.getHttpURI().getPath();
        if ("BAD".equals(request.getMethod()) && "/badMessage".equals(path)) return "- -";
        if (path == null) path = "-";
        if (path.length() > 200) path = path.substring(0, 200) + "...";
        return request.getMethod() + " " + path;
    }

    /**
     * Jetty's answers to requests that never reached a route, as API-shaped JSON instead of an HTML page. A request
     * the parser refused (bad framing, a head too large) gets a request object with its request line only, if even
     * that could be read; Jetty then closes the connection after the answer.
     */
    private static final class JsonErrors extends ErrorHandler {
        private final ErrorWriter errors;

        JsonErrors(ErrorWriter errors) {
            this.errors = errors;
        }

        /** A request the parser refused, before there is any request object: only the status and reason are known. */
        @Override
        public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
            fields.put(HttpHeader.CONTENT_TYPE, "application/json");
            return ByteBuffer.wrap(errors.page().render(status, describe(status, reason), null, name -> null));
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            Object status = request.getAttribute(ERROR_STATUS);
            Object message = request.getAttribute(ERROR_MESSAGE);
            int code = status instanceof Integer i ? i : response.getStatus();
            String reason = message == null ? null : message.toString();
            if (code == HttpStatus.UPGRADE_REQUIRED_426) {
                // Jetty's answer to an HTTP/2.0 request line (or the h2c preface) on a connector without h2c. No
                // upgrade would help, as this server speaks only HTTP/1.x, and a 426 must name one (RFC 9110
                // 15.5.22): the version is what is not supported.
                code = HttpStatus.HTTP_VERSION_NOT_SUPPORTED_505;
                reason = "HTTP/2 is not served on this port";
            }
            // Jetty has already decided whether the connection stays open (a framing error closes it): say so only
            // where it must close anyway.
            boolean close = !request.getConnectionMetaData().isPersistent() || code >= 500;
            if (code == HttpStatus.BAD_REQUEST_400
                    && request.getConnectionMetaData().getConnection().getEndPoint().isInputShutdown()) {
                // The client closed its side (Jetty: "Early EOF") before the request's head was complete. The 400
                // still goes out (a client that only half-closed can read it), but this is a hang-up, not a request:
                // ConnectionWatch logs it once, as such, when the connection closes, which may come before or after
                // this.
                errors.respond(request, response, callback, code, describe(code, reason), true);
            } else {
                errors.write(request, response, callback, code, describe(code, reason), close);
            }
            return true;
        }

        private static String describe(int status, String reason) {
            String what = switch (status) {
                case 400 -> "The request is not valid HTTP/1.1";
                case 408 -> "The request did not arrive in time";
                case 413 -> "The request is too large";
                case 414 -> "The request's URI is too long";
                case 431 -> "The request's headers are too large";
                case 505 -> "Unsupported HTTP version; use HTTP/1.1 or HTTP/1.0";
                default -> HttpStatus.getMessage(status);
            };
            return reason == null || reason.isBlank() || reason.equals(HttpStatus.getMessage(status))
                    ? what + "." : what + ": " + reason + ".";
        }
    }

}
