package dev.carapace.server.http;

import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.websocket.server.ServerWebSocketContainer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One request and its response, as a route sees them. Blocking: the route runs on a virtual thread, reads the body
 * as a stream and answers with {@link #send} or writes an {@link #outputStream} (a stream's events, flushed as they
 * go).
 */
public final class Exchange {

    private final Request request;
    private final Response response;
    private final Callback callback;
    private final ServerWebSocketContainer sockets;
    private final Map<String, String> pathParams;
    private final Set<String> allowedMethods;
    private final ConnectionWatch.Watched connection;   // null once the connection has closed
    private Fields query;
    private OutputStream out;
    private boolean upgraded;

    Exchange(Request request, Response response, Callback callback, ServerWebSocketContainer sockets,
             Map<String, String> pathParams, Set<String> allowedMethods, ConnectionWatch.Watched connection) {
        this.allowedMethods = allowedMethods;
        this.connection = connection;
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.sockets = sockets;
        this.pathParams = pathParams;
    }

    // ---- the request ----

    public String method() { return request.getMethod(); }

    /** The decoded path, e.g. {@code /v1/models/gpt 4} for {@code /v1/models/gpt%204}. */
    public String path() { return Request.getPathInContext(request); }

    /** The path as the client sent it (still percent-encoded): what the access log shows. */
    public String rawPath() { return request.getHttpURI().getPath(); }

    /** "METHOD path" for an access line: both as sent, each clipped. */
    public String requestLine() { return ErrorWriter.requestLine(request); }

    /** For a request no route took: the methods its path does take (empty for an unknown path). */
    public Set<String> allowedMethods() { return allowedMethods; }

    /** A {@code {name}} segment of the route's template, decoded. */
    public String pathParam(String name) { return pathParams.get(name); }

    /** The first value of a request header, or null ({@link #utf8}). */
    public String header(String name) { return utf8(request.getHeaders().get(name)); }

    public boolean hasHeader(String name) { return request.getHeaders().contains(name); }

    /** Every request header, by lower-case name, its first value ({@link #utf8}): what a webhook's signature covers. */
    public java.util.Map<String, String> headers() {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        for (org.eclipse.jetty.http.HttpField f : request.getHeaders()) {
            m.putIfAbsent(f.getLowerCaseName(), utf8(f.getValue()));
        }
        return m;
    }

    /** The peer's address, for logs. */
    public String remoteAddress() {
        return String.valueOf(Request.getRemoteAddr(request));
    }

    /** Each line of a request header, in order, not split at commas ({@link #utf8}); empty if there is none. */
    public List<String> headerLines(String name) {
        List<String> lines = new ArrayList<>(1);
        for (HttpField f : request.getHeaders()) {
            if (f.is(name)) lines.add(utf8(f.getValue()));
        }
        return lines;
    }

    /** Every value of a request header, as sent in one line or several ({@link #utf8}). */
    public java.util.List<String> headerValues(String name) {
        return request.getHeaders().getValuesList(name).stream().map(Exchange::utf8).toList();
    }

    /**
     * A header value as its sender meant it: Jetty reads header bytes as ISO-8859-1, one character per byte, but
     * clients send UTF-8, so a value that is valid UTF-8 is read as such (a message that quotes it shows "é", not
     * "Ã©"). A value that is not valid UTF-8 stays as Jetty read it. ASCII, nearly every value, is returned as is.
     */
    static String utf8(String value) {
        if (value == null) return null;
        int i = 0;
        while (i < value.length() && value.charAt(i) < 0x80) i++;
        if (i == value.length()) return value;
        byte[] bytes = value.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        try {
            return java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException notUtf8) {
            return value;
        }
    }

    /** The declared Content-Length, or -1 when the body is chunked or absent. */
    public long contentLength() { return request.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH); }

    /** The names of the query parameters, in the order sent. */
    public Set<String> queryNames() { return query().getNames(); }

    /**
     * The value of a query parameter, or null. A parameter given twice is refused: which of its values counts would
     * be a guess, and one that a proxy in front and Carapace could make differently ({@code ?agent=a&agent=b}).
     */
    public String query(String name) {
        Fields.Field f = query().get(name);
        if (f == null) return null;
        if (f.getValues().size() > 1) {
            throw new BadRequest("The query parameter '" + dev.carapace.text.Excerpt.clip(name, 40) + "' is given "
                    + f.getValues().size() + " times; give it once.");
        }
        return f.getValue();
    }

    private Fields query() {
        if (query == null) {
            try {
                query = Request.extractQueryParameters(request);
            } catch (RuntimeException e) {
                if (!(e instanceof HttpException) && !(e instanceof IllegalArgumentException)) throw e;
                throw new BadRequest("The query string is malformed (a '%' must be followed by two hex digits of"
                        + " UTF-8).");
            }
        }
        return query;
    }

    /** Whether the client asks to switch this connection to WebSocket. */
    public boolean isWebSocketUpgrade() {
        return "websocket".equalsIgnoreCase(request.getHeaders().get(HttpHeader.UPGRADE));
    }

    /** The body, as it arrives. Reading past a framing error fails with an IOException (the client's fault: 400). */
    public InputStream body() {
        InputStream body = Content.Source.asInputStream(UnreadBody.of(request));
        return connection == null ? body : connection.timeBody(body);
    }

    /**
     * RFC 6455 4.2.1: version 13, and a key that is the base64 of 16 bytes. Jetty takes any key; a client sending
     * another is not speaking WebSocket, and is told which version this server speaks.
     */
    private void checkHandshake() {
        String version = request.getHeaders().get(HttpHeader.SEC_WEBSOCKET_VERSION);
        if (!"13".equals(version)) {
            response.getHeaders().put(HttpHeader.SEC_WEBSOCKET_VERSION, "13");
            throw new BadRequest("Sec-WebSocket-Version must be 13 (RFC 6455).");
        }
        String key = request.getHeaders().get(HttpHeader.SEC_WEBSOCKET_KEY);
        byte[] nonce;
        try {
            nonce = key == null ? null : Base64.getDecoder().decode(key.strip());
        } catch (IllegalArgumentException e) {
            nonce = null;
        }
        if (nonce == null || nonce.length != 16) {
            throw new BadRequest("Sec-WebSocket-Key must be 16 random bytes in base64 (RFC 6455).");
        }
    }

    // ---- the response ----

    public void status(int status) { response.setStatus(status); }

    public int status() { return response.getStatus(); }

    public void header(String name, String value) { response.getHeaders().put(name, value); }

    /** A header already set on the response, or null. */
    public String responseHeader(String name) { return response.getHeaders().get(name); }

    /** Whether the status and headers have left: after that only the body can still be written. */
    public boolean isCommitted() { return response.isCommitted(); }

    /** Answers with this whole body (and its Content-Length). */
    public void send(byte[] body) throws IOException {
        if (out != null) throw new IllegalStateException("the body is being streamed");
        UnreadBody.sayCloseUnlessSkipped(request, response);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        write(response, true, ByteBuffer.wrap(body), connection);
    }

    /**
     * The body as a stream, for answers written as they are made: writes are held until {@code flush()}, so a burst of
     * events leaves in one socket write ({@link StreamBody}). Close the stream to end the response.
     */
    public OutputStream outputStream() {
        if (out == null) {
            UnreadBody.sayCloseUnlessSkipped(request, response);
            out = new StreamBody(response, connection);
        }
        return out;
    }

    /**
     * Switches the connection to WebSocket, served by {@code listener}; false when the request is no valid upgrade,
     * and the route still answers it.
     */
    public boolean upgradeToWebSocket(WebSocket.Listener listener) {
        checkHandshake();
        JettyWebSocket endpoint = new JettyWebSocket(listener);
        try {
            if (!sockets.upgrade((req, res, cb) -> endpoint, request, response, callback)) return false;
        } catch (RuntimeException e) {
            if (!(e instanceof HttpException)) throw e;
            throw new BadRequest("The WebSocket handshake is malformed: " + e.getMessage() + ".");
        }
        upgraded = true;
        return true;
    }

    /** A blocking write to the client, timed by {@link ConnectionWatch} so that a client that stops reading is let go. */
    static void write(Content.Sink response, boolean last, ByteBuffer bytes, ConnectionWatch.Watched connection)
            throws IOException {
        if (connection != null) connection.writing(true);
        try {
            Content.Sink.write(response, last, bytes);
        } finally {
            if (connection != null) connection.writing(false);
        }
    }

    // ---- for the server ----

    OutputStream openedOutput() { return out; }

    /** Whether the WebSocket container now owns the connection (and completes the request itself). */
    boolean upgraded() { return upgraded; }
}
