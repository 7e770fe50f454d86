package dev.carapace.server.http;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;

/**
 * Answers a request no route answered (refused by the parser or here, or a route that failed) with the API's
 * error body, and logs its access line: the routes log their own, and a refused request deserves one too.
 */
record ErrorWriter(ErrorPage page, ConnectionWatch watch) {

    private static final Logger access = LoggerFactory.getLogger("carapace.access");

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

    /**
     * "METHOD path" for an access line, both as sent (the path percent-encoded) and clipped (a method is any token,
     * of any length); "- -" when the request line could not be read (Jetty then names the request "BAD /badMessage").
     */
    static String requestLine(Request request) {
        String method = request.getMethod(), path = request.getHttpURI().getPath();
        if ("BAD".equals(method) && "/badMessage".equals(path)) return "- -";
        if (path == null) path = "-";
        if (path.length() > 200) path = path.substring(0, 200) + "...";
        if (method.length() > 20) method = method.substring(0, 20) + "...";
        return method + " " + path;
    }
}
