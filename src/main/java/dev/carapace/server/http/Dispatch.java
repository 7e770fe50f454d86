package dev.carapace.server.http;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.server.ServerWebSocketContainer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;

/** Finds each request's route and runs it (Jetty calls this on a virtual thread: the route may block). */
final class Dispatch extends Handler.Abstract {

    private static final Logger log = LoggerFactory.getLogger("carapace.http");

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
        if (target != null && target.length() > HttpServer.MAX_URI_LENGTH) {
            // Closed like the parser's own 414 (a URI past the head limit): one answer for every long URI.
            refuse(request, response, callback, 414, "The request's URI is longer than " + HttpServer.MAX_URI_LENGTH
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
        ConnectionWatch.Watched watched = watch.routeStarted(connection);
        Exchange exchange = new Exchange(request, response, callback, sockets, match.params(), match.allowed(), watched);
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
            watch.routeEnded(watched, connection, closing);
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
