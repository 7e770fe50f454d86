package dev.carapace.server.http;

/**
 * A request the HTTP layer found malformed while a route was reading it (a query with a broken escape, a WebSocket
 * handshake missing its key): the client's mistake, which the route answers with 400 in its API's shape.
 */
public final class BadRequest extends RuntimeException {

    BadRequest(String message) {
        super(message, null, false, false);
    }
}
