package dev.carapace.model;

import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A blocking HTTP/1.1 client for one origin, keeping connections alive between requests.
 *
 * <p>Why not the JDK {@code HttpClient}: it hands every exchange from the calling thread to its selector thread and
 * back, which measured as most of the latency and CPU the gateway added (BENCHMARKS.md, "Where the time goes").
 * Callers here are virtual threads, so a plain blocking socket holds no platform thread while it waits; a request is
 * one write, and its answer is read on the caller's own thread.
 *
 * <p>The read timeout bounds the wait for the response headers and every silence inside a body, streams included. It
 * is not the socket's own ({@code SO_TIMEOUT}): on a virtual thread a timed read schedules a timer task and cancels
 * it, which can wake the JDK's delay-scheduler thread, once per wait, so once per upstream frame of a stream
 * (measured: context switches per stream 4.5 -> 2.3, BENCHMARKS.md). Reads block untimed instead, and one watchdog
 * per client, running only while exchanges are open, closes a connection whose read has waited too long: the
 * timeout is then detected within {@code tickMillis} (a tenth of it, 10-250 ms) of its due time.
 *
 * <p>A connection returns to the pool only once its body was read to the end; closing a body early closes the
 * connection, which is how an abandoned call stops the upstream's generation.
 *
 * <p>A POST is never sent twice unless the first copy provably did not reach the server: providers bill every
 * request they read, and a model call is not idempotent. See {@link #post} for what counts as proof.
 *
 * <p>Every open connection, idle or not, holds a permit of the {@link UpstreamConnections} shared by all clients: a
 * new one is opened only with a permit, and gives it back when it closes.
 */
final class Http1Client implements AutoCloseable {

    static final int MAX_HEADER_BYTES = 64 * 1024;
    /**
     * A connection's read buffer starts this small and doubles, up to {@link #MAX_BUFFER}, each time a read fills it:
     * a stream of small events (the common case, and one connection per open stream) never needs more, while a large
     * body soon reads in big pieces. A response line longer than the buffer grows it too, up to the header limit.
     */
    static final int MIN_BUFFER = 2 * 1024, MAX_BUFFER = 16 * 1024;
    private static final int MAX_IDLE = 256;
    /** Kept-alive connections older than this are not reused: upstream servers close idle ones after a few seconds. */
    private static final long MAX_IDLE_NANOS = Duration.ofSeconds(30).toNanos();
    /** How much of an unneeded body is read to keep its connection, and for how long. */
    static final long MAX_DRAIN = 64 * 1024;
    static final int DRAIN_MILLIS = 1_000;
    /** How often the watchdog looks, at most: a tenth of the read timeout, bounded to keep it cheap and prompt. */
    private static final long MIN_TICK_MILLIS = 10, MAX_TICK_MILLIS = 250;

    private final String host;
    private final int port;
    private final boolean tls;
    private final byte[] hostLine;
    private final int connectTimeoutMillis;
    private final int readTimeoutMillis;
    private final long tickMillis;
    private final ConcurrentLinkedDeque<Http1Connection> idle = new ConcurrentLinkedDeque<>();
    private final AtomicInteger idleCount = new AtomicInteger();
    /** Connections in an exchange (or draining one): what the watchdog looks at. */
    final Set<Http1Connection> busy = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean watching = new AtomicBoolean();
    final UpstreamConnections connections;
    private volatile boolean closed;

    Http1Client(URI origin, Duration connectTimeout, Duration readTimeout) {
        this(origin, connectTimeout, readTimeout, UpstreamConnections.unlimited());
    }

    Http1Client(URI origin, Duration connectTimeout, Duration readTimeout, UpstreamConnections connections) {
        String scheme = origin.getScheme() == null ? "" : origin.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("only http and https URLs are supported, not " + origin);
        }
        this.tls = scheme.equals("https");
        this.host = origin.getHost();
        if (host == null) throw new IllegalArgumentException("URL has no host: " + origin);
        this.port = origin.getPort() != -1 ? origin.getPort() : tls ? 443 : 80;
        boolean defaultPort = origin.getPort() == -1 || origin.getPort() == (tls ? 443 : 80);
        String authority = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + (defaultPort ? "" : ":" + port);
        this.hostLine = ("host: " + authority + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
        this.connectTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, connectTimeout.toMillis()));
        this.readTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, readTimeout.toMillis()));
        this.tickMillis = Math.clamp(readTimeoutMillis / 10, MIN_TICK_MILLIS, MAX_TICK_MILLIS);
        this.connections = connections;
        connections.register(this);
    }

    /** Renders request header lines once, for every {@link #post}. Names and values may not hold CR or LF. */
    static byte[] headerLines(String... namesAndValues) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            String name = namesAndValues[i], value = namesAndValues[i + 1];
            if (name.isEmpty() || (name + value).chars().anyMatch(ch -> ch == '\r' || ch == '\n' || ch > 0xff)
                || name.chars().anyMatch(ch -> ch == ':' || ch == ' ')) {
                throw new IllegalArgumentException("header '" + name + "' has a character HTTP does not allow");
            }
            sb.append(name).append(": ").append(value).append("\r\n");
        }
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A response whose headers have arrived; its body must be read to the end or closed. */
    static final class Response implements AutoCloseable {
        private final int status;
        private final Map<String, String> headers;
        private final Http1Body body;

        private Response(int status, Map<String, String> headers, Http1Body body) {
            this.status = status;
            this.headers = headers;
            this.body = body;
        }

        int status() { return status; }

        /** The first value of a header, by its name in any case; null when absent. */
        String header(String name) { return headers.get(name.toLowerCase(Locale.ROOT)); }

        InputStream body() { return body; }

        /** Ends the exchange once the caller has what it needs (a stream's final event), keeping the connection if it can. */
        void done() { body.done(); }

        /** Ends the exchange; a body not read to its end closes the connection. */
        @Override
        public void close() { body.close(); }
    }

    /**
     * Sends {@code POST path} with the given header lines and body, and waits for the response headers.
     *
     * <p>The request goes out once. It is sent again, on another connection, only when this one provably never
     * carried it to the server:
     * <ul>
     *   <li>a kept-alive connection is checked before it is reused ({@link Http1Connection#stale}): one the server has
     *       closed or reset while it idled, or that holds bytes nobody asked for, is dropped before a byte is written;
     *   <li>a write on a kept-alive connection that fails before the kernel accepted any byte of the request (the
     *       server's reset arrived between that check and the write) sent nothing.
     * </ul>
     * Once any byte of the request is written, a connection that then fails before the first byte of an answer may
     * have delivered it: the server may have read the whole request and be generating (and billing) the answer when
     * it resets. That cannot be told apart from a server that closed the idle connection just as the request went
     * out — the write succeeds into the kernel's buffer either way — so it is treated as delivered and thrown as
     * {@link UnansweredException}; the caller fails over to another deployment or fails, never silently twice here.
     * The check before reuse makes the benign case rare: only a close racing the request's own flight is left.
     *
     * @throws ConnectException       when no connection could be opened
     * @throws UpstreamConnections.Exhausted        when no connection could be had within the shared cap
     * @throws UpstreamConnections.OutOfDescriptors when the kernel refused a descriptor for the connection
     * @throws SocketTimeoutException when the server stayed silent longer than the read timeout
     * @throws UnansweredException    when the connection failed after the request was (or may have been) written,
     *                                before any byte of an answer
     */
    Response post(String path, byte[] headerLines, byte[] body) throws IOException {
        byte[] head = head(path, headerLines, body.length);
        while (true) {
            Http1Connection c = pooled();
            boolean reused = c != null;
            if (c == null) c = connect();
            c.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(readTimeoutMillis);
            busy.add(c);
            watch();
            c.received = false;
            try {
                c.send(head, body);
            } catch (IOException e) {
                c.close();
                if (c.sent) throw new UnansweredException("the connection failed while the request was being sent", e);
                if (reused) continue;       // not a byte left: the server cannot have read it
                throw e;
            }
            try {
                return readResponse(c);
            } catch (IOException e) {
                c.close();
                if (c.received || e instanceof SocketTimeoutException) throw e;
                throw new UnansweredException("the connection " + (reused ? "(kept alive) " : "")
                        + "failed after the request was sent, before any byte of an answer", e);
            }
        }
    }

    /**
     * The request was written (or may have been), then the connection failed before the first byte of an answer. The
     * server may have read it and acted on it, so it must not be sent to this server again.
     */
    static final class UnansweredException extends IOException {
        UnansweredException(String message, IOException cause) { super(message, cause); }
    }

    /** The request line and headers; the body is written after them from the caller's array, never copied. */
    private byte[] head(String path, byte[] headerLines, int bodyLength) {
        byte[] start = ("POST " + path + " HTTP/1.1\r\n").getBytes(StandardCharsets.ISO_8859_1);
        byte[] length = ("content-length: " + bodyLength + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
        byte[] r = new byte[start.length + hostLine.length + headerLines.length + length.length];
        int at = 0;
        for (byte[] part : new byte[][] {start, hostLine, headerLines, length}) {
            System.arraycopy(part, 0, r, at, part.length);
            at += part.length;
        }
        return r;
    }

    private Http1Connection pooled() {
        long now = System.nanoTime();
        for (Http1Connection c; (c = idle.pollFirst()) != null; ) {
            idleCount.decrementAndGet();
            if (now - c.idleSince < MAX_IDLE_NANOS && !c.stale()) return c;
            c.close();
        }
        return null;
    }

    void release(Http1Connection c) {
        busy.remove(c);
        // a call waiting for a permit of the shared cap gets this connection's, rather than it idling here
        if (closed || connections.contended()) {
            c.close();
            return;
        }
        if (idleCount.incrementAndGet() > MAX_IDLE) {
            idleCount.decrementAndGet();
            c.close();
            return;
        }
        c.idleSince = System.nanoTime();
        idle.offerFirst(c);     // last in, first out: the warmest connection is reused first
    }

    private Http1Connection connect() throws IOException {
        connections.acquire();
        Socket s = null;
        try {
            // A channel's socket rather than a plain one: only a channel can be read without blocking, which is how an
            // idle connection is checked for the server's close before it is reused (Http1Connection#stale).
            SocketChannel channel = SocketChannel.open();
            s = channel.socket();
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(host, port), connectTimeoutMillis);
            if (tls) {
                // The handshake happens before the watchdog knows the connection: the socket's own timeout bounds it.
                s.setSoTimeout(readTimeoutMillis);
                SSLSocket ssl = (SSLSocket) ((SSLSocketFactory) SSLSocketFactory.getDefault()).createSocket(s, host, port, true);
                SSLParameters p = ssl.getSSLParameters();
                p.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(p);
                ssl.startHandshake();
                ssl.setSoTimeout(0);
                s = ssl;
            }
            return new Http1Connection(s, channel, this);
        } catch (SocketTimeoutException e) {
            if (s != null) closeQuietly(s);
            connections.release();
            throw new ConnectException("connect timed out after " + connectTimeoutMillis + " ms");
        } catch (IOException | RuntimeException e) {
            if (s != null) closeQuietly(s);
            connections.release();
            // Carapace's own exhaustion, said so: the upstream is not to blame for it
            if (e instanceof IOException io && UpstreamConnections.outOfDescriptors(io)) {
                throw new UpstreamConnections.OutOfDescriptors(io);
            }
            throw e;
        }
    }

    private Response readResponse(Http1Connection c) throws IOException {
        int status;
        Map<String, String> headers;
        do {    // 1xx answers are interim: the final one follows
            String statusLine = c.readLine();
            if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12 || statusLine.charAt(8) != ' ') {
                throw new IOException("not an HTTP/1.x response");
            }
            try {
                status = Integer.parseInt(statusLine.substring(9, 12));
            } catch (NumberFormatException e) {
                throw new IOException("not an HTTP/1.x response");
            }
            headers = new HashMap<>();
            int size = statusLine.length();
            for (String line; !(line = c.readLine()).isEmpty(); ) {
                size += line.length();
                if (size > MAX_HEADER_BYTES) throw new IOException("response headers larger than " + MAX_HEADER_BYTES + " bytes");
                int colon = line.indexOf(':');
                if (colon <= 0) throw new IOException("malformed response header");
                headers.putIfAbsent(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
        } while (status / 100 == 1);

        boolean keepAlive = !"close".equalsIgnoreCase(headers.get("connection"));
        String te = headers.get("transfer-encoding");
        String cl = headers.get("content-length");
        Http1Body body;
        if (status == 204 || status == 304) {
            body = new Http1Body(c, 0, false, keepAlive);
        } else if (te != null && te.toLowerCase(Locale.ROOT).endsWith("chunked")) {
            body = new Http1Body(c, 0, true, keepAlive);
        } else if (cl != null) {
            long length;
            try {
                length = Long.parseLong(cl);
            } catch (NumberFormatException e) {
                throw new IOException("malformed content-length");
            }
            // Some servers send -1 for "unknown"; as with no length at all, the body then ends with the connection.
            body = length < 0 ? new Http1Body(c, Long.MAX_VALUE, false, false) : new Http1Body(c, length, false, keepAlive);
        } else {
            body = new Http1Body(c, Long.MAX_VALUE, false, false);  // delimited by the server closing the connection
        }
        return new Response(status, headers, body);
    }

    @Override
    public void close() {
        closed = true;
        connections.unregister(this);
        for (Http1Connection c; (c = idle.pollFirst()) != null; ) c.close();
    }

    /** Closes the idle connection that waited longest, if there is one, giving its permit back; false if none idles. */
    boolean closeEldestIdle() {
        Http1Connection c = idle.pollLast();
        if (c == null) return false;
        idleCount.decrementAndGet();
        c.close();
        return true;
    }

    /** Starts the watchdog unless it runs. It stops by itself once no exchange is open. */
    private void watch() {
        if (!watching.get() && watching.compareAndSet(false, true)) {
            Thread.ofVirtual().name("carapace-upstream-watchdog").start(this::watchdog);
        }
    }

    private void watchdog() {
        while (true) {
            try {
                Thread.sleep(tickMillis);
            } catch (InterruptedException e) {
                watching.set(false);
                return;
            }
            long now = System.nanoTime();
            for (Http1Connection c : busy) {
                if (c.waiting && now - c.waitingSince > c.timeoutNanos) c.timeOut();
            }
            if (busy.isEmpty()) {
                watching.set(false);
                // an exchange that began after the look above either started a watchdog or finds this one going on
                if (busy.isEmpty() || !watching.compareAndSet(false, true)) return;
            }
        }
    }

    static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing to save
        }
    }
}
