package dev.carapace.guard.egress;

import dev.carapace.guard.AuditSink;
import dev.carapace.guard.NetworkRules;
import dev.carapace.guard.egress.HttpMessages.Framing;
import dev.carapace.guard.egress.HttpMessages.Header;
import dev.carapace.guard.egress.Planner.Plan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.URI;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;

import static dev.carapace.guard.egress.Hop.appendInjected;
import static dev.carapace.guard.egress.Hop.appendPassed;
import static dev.carapace.guard.egress.Hop.compressed;
import static dev.carapace.guard.egress.Hop.dropped;
import static dev.carapace.guard.egress.Hop.pump;
import static dev.carapace.guard.egress.Hop.readFinalResponse;
import static dev.carapace.guard.egress.Hop.utf8;
import static dev.carapace.guard.egress.Hop.withheld;

/**
 * Carapace's egress proxy: the only way out to the network for sandboxed processes (over a Unix socket bound into
 * the sandbox), for {@code web_fetch} (through {@link #fetch}) and for jobs' webhooks (through {@link #send}). It
 * speaks HTTP/1.1 forward proxying (absolute-form requests) and CONNECT tunnels, one virtual thread per connection,
 * blocking I/O.
 *
 * <p>For every request, in this order: the target is parsed strictly and made canonical (host spellings, path);
 * {@link NetworkRules} decides on host, port and (for readable requests) method and path; only an allowed name is
 * resolved, once, through the {@link Resolver}; every answer must be a public address or lie in the decision's
 * {@code allowed_ips}; the connection goes to one of the checked addresses (never to a fresh lookup); the
 * decision's credentials are injected, replacing any header of the same name the client sent. Each decision is
 * recorded in the {@link AuditSink}; a refusal is answered 403 (400 for a malformed request) with a JSON
 * {@link Denial}. With credentials injected, the response is passed through a {@link CredentialScrubber} (status
 * line, headers, body) before the client sees it, and every masking is audited; see {@link #forward}.
 *
 * <p>A CONNECT tunnel is opaque: only host and port can be judged and no credential can be added. To have the proxy
 * read (judge, add credentials to) requests to an HTTPS endpoint, send them as plain {@code http://host:443/...}
 * (or {@code https://host/...} in absolute form) to the proxy: it then connects with TLS itself, verifying the
 * server's certificate. CONNECT to an endpoint whose decision carries credentials is refused; a {@link NetworkRules}
 * must refuse CONNECT (method null) to endpoints that have method/path rules, naming this way instead.
 *
 * <p>This class speaks the protocol; {@link Planner} decides and connects, {@link Hop} says what a message keeps
 * on its way through, and {@link AuditTrail} records each decision.
 */
public final class EgressProxy implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EgressProxy.class);
    static final int BUFFER = 16 * 1024;

    /**
     * @param connectTimeout  for each TCP connection (and TLS handshake) to a server
     * @param idleTimeout     a connection on which nothing arrives for this long is closed (TCP listeners and
     *                        servers; a Unix socket client lives as long as its sandbox)
     * @param tls             for connections the proxy makes with TLS; verifies certificates and host names
     * @param tlsPorts        ports where a plain {@code http://} request is sent upstream over TLS
     */
    public record Options(Duration connectTimeout, Duration idleTimeout, SSLContext tls, Set<Integer> tlsPorts) {
        public Options {
            Objects.requireNonNull(connectTimeout, "connectTimeout");
            Objects.requireNonNull(idleTimeout, "idleTimeout");
            Objects.requireNonNull(tls, "tls");
            tlsPorts = Set.copyOf(tlsPorts);
        }

        /** 10 s to connect, 5 minutes idle, the JDK's trust store, TLS on port 443. */
        public static Options defaults() {
            try {
                return new Options(Duration.ofSeconds(10), Duration.ofMinutes(5), SSLContext.getDefault(), Set.of(443));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("no default TLS context", e);
            }
        }
    }

    /** An HTTP response to {@link #send} or {@link #fetch}; header names in lower case. */
    public record Fetched(int status, Map<String, List<String>> headers, byte[] body, boolean truncated) {}

    private final Options options;
    private final AuditTrail trail;
    private final Planner planner;
    private final List<Listener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    public EgressProxy(NetworkRules rules, Resolver resolver, SecretStore secrets, AuditSink audit, Clock clock,
                       Options options) {
        Objects.requireNonNull(rules, "rules");
        Objects.requireNonNull(resolver, "resolver");
        Objects.requireNonNull(secrets, "secrets");
        Objects.requireNonNull(audit, "audit");
        Objects.requireNonNull(clock, "clock");
        this.options = Objects.requireNonNull(options, "options");
        this.trail = new AuditTrail(audit, clock);
        this.planner = new Planner(rules, resolver, secrets, options, trail);
    }

    /**
     * Starts accepting proxy connections on a Unix socket ({@link java.net.UnixDomainSocketAddress}) or a loopback
     * TCP address (port 0 picks one). Whoever connects there speaks for {@code agent}: give each sandbox its own
     * socket, so the agent is known from the socket and cannot be claimed by the client.
     *
     * @throws IllegalArgumentException for a TCP address that is not loopback (the proxy holds credentials)
     */
    public Listener listen(SocketAddress address, String agent) throws IOException {
        Listener l = Listener.open(address, agent, options.idleTimeout(), this::serve);
        listeners.add(l);
        return l;
    }

    /** Closes one listener (and the connections it accepted) and forgets it: for a socket that served one command. */
    public void unlisten(Listener l) {
        listeners.remove(l);
        l.close();
    }

    /** Closes every listener and the connections they accepted. */
    @Override
    public void close() {
        for (Listener l : listeners) l.close();
        listeners.clear();
    }

    // ---- web_fetch and job webhooks ---------------------------------------------------------------------------

    /** The most request body {@link #send} carries: a webhook's payload, not an upload. */
    public static final int MAX_REQUEST_BODY = 1 << 20;

    /** The methods {@link #send} speaks; CONNECT is the protocol's, and the rest have no use here. */
    private static final List<String> SENDABLE = List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE");

    /** One GET, as {@code web_fetch} asks: {@link #send} without a body. */
    public Fetched fetch(String agent, URI uri, Map<String, String> headers, int maxBytes, Duration timeout)
            throws IOException, InterruptedException {
        return send(agent, "GET", uri, headers, null, maxBytes, timeout);
    }

    /**
     * One request on behalf of {@code agent} ({@code web_fetch}'s GETs, a job's webhook POSTs), under the same rules
     * as a proxied request: the method (and any method-override header or {@code _method} parameter) and path are
     * judged, the name is resolved once and checked, credentials are injected and the response scrubbed of them. An
     * https URL is fetched with TLS originated here, so method/path rules and credentials apply to it too. Redirects
     * are returned, not followed. The caller's request is refused before anything is resolved or connected when it
     * cannot be sent as given: a URL that is not http(s) or carries a user or password, a header name that is not a
     * token or a value with CR, LF or another control character, a body over {@link #MAX_REQUEST_BODY}.
     *
     * @param method   GET, HEAD, POST, PUT, PATCH or DELETE
     * @param headers  request headers to send; hop-by-hop ones (Host, Content-Length, Connection...) are the
     *                 proxy's and those the decision injects are replaced, so both are dropped
     * @param body     sent with a Content-Length; null for none (a GET or HEAD has none)
     * @param maxBytes most response body bytes to read; {@link Fetched#truncated} says if there were more
     * @param timeout  for the whole exchange
     * @throws EgressDeniedException the request was refused (malformed request, policy, address); already audited
     * @throws HttpTimeoutException  the timeout passed
     */
    public Fetched send(String agent, String method, URI uri, Map<String, String> headers, byte[] body, int maxBytes,
                        Duration timeout) throws IOException, InterruptedException {
        String verb = SENDABLE.contains(method) ? method : null;
        Target target;
        try {
            target = Target.of(uri, options.tlsPorts());
        } catch (IllegalArgumentException e) {
            throw new EgressDeniedException(trail.refuseRequest(agent, verb, null, e.getMessage()));
        }
        List<Header> given = new ArrayList<>();
        String problem = verb == null ? "the method must be one of " + String.join(", ", SENDABLE) + ", not '"
                + HttpMessages.printable(String.valueOf(method)) + "'" : null;
        for (Map.Entry<String, String> h : headers.entrySet()) {
            if (problem == null) problem = HttpMessages.fieldProblem(h.getKey(), h.getValue());
            given.add(new Header(h.getKey(), h.getValue()));
        }
        if (problem == null && body != null && (method.equals("GET") || method.equals("HEAD"))) {
            problem = "a " + method + " request carries no body";
        }
        if (problem == null && body != null && body.length > MAX_REQUEST_BODY) {
            problem = "the request body is " + body.length + " bytes; the proxy sends at most " + MAX_REQUEST_BODY
                    + " bytes (1 MiB)";
        }
        if (problem != null) throw new EgressDeniedException(trail.refuseRequest(agent, verb, target, problem));
        Plan plan = planner.plan(agent, method, target);
        String override = Planner.methodOverride(given, target);
        if (override != null && !override.equals(method)) planner.plan(agent, override, target);
        long deadline = System.nanoTime() + timeout.toNanos();
        AtomicBoolean timedOut = new AtomicBoolean();
        Socket[] open = new Socket[1];
        Thread timer = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(timeout);
                timedOut.set(true);
                synchronized (open) {
                    closeQuietly(open[0]);
                }
            } catch (InterruptedException done) {
                // finished in time
            }
        });
        CredentialScrubber scrubber = CredentialScrubber.of(plan.credentials());
        try (Socket up = planner.connect(plan, target)) {
            synchronized (open) {
                open[0] = up;
                if (timedOut.get()) throw new HttpTimeoutException("timed out after " + timeout.toMillis() + " ms");
            }
            OutputStream out = new BufferedOutputStream(up.getOutputStream(), BUFFER);
            StringBuilder head = new StringBuilder(method).append(' ').append(target.originForm())
                    .append(" HTTP/1.1\r\nHost: ").append(target.hostHeader()).append("\r\n");
            appendPassed(head, given, dropped(plan, scrubber), s -> s);
            appendInjected(head, plan, scrubber);
            if (body != null || !(method.equals("GET") || method.equals("HEAD") || method.equals("DELETE"))) {
                head.append("Content-Length: ").append(body == null ? 0 : body.length).append("\r\n");
            }
            head.append("Connection: close\r\n\r\n");
            HttpMessages.writeAscii(out, head);
            if (body != null) out.write(body);
            out.flush();
            InputStream in = new BufferedInputStream(up.getInputStream(), BUFFER);
            HttpMessages.Response response = readFinalResponse(in);
            if (scrubber.active() && compressed(response)) {
                throw new EgressDeniedException(trail.compressedRefused(agent, method, target));
            }
            InputStream responseBody =
                    scrubber.body(HttpMessages.body(in, HttpMessages.responseFraming(response, method)));
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            byte[] buffer = new byte[BUFFER];
            int cap = Math.max(0, maxBytes);
            boolean truncated = false;
            int n;
            while ((n = responseBody.read(buffer)) > 0) {
                int room = cap - bytes.size();
                if (n > room) {
                    bytes.write(buffer, 0, room);
                    truncated = true;
                    break;
                }
                bytes.write(buffer, 0, n);
            }
            Map<String, List<String>> responseHeaders = new LinkedHashMap<>();
            for (Header h : response.headers()) {
                responseHeaders.computeIfAbsent(scrubber.text(h.name()).toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                        .add(scrubber.text(h.value()));
            }
            return new Fetched(response.status(), responseHeaders, bytes.toByteArray(), truncated);
        } catch (IOException e) {
            if (Thread.interrupted()) throw new InterruptedException();
            if (timedOut.get() || System.nanoTime() - deadline > 0) {
                throw new HttpTimeoutException("timed out after " + timeout.toMillis() + " ms");
            }
            if (e instanceof BadMessageException && scrubber.active()) throw withheld();
            throw e;
        } finally {
            timer.interrupt();
            trail.auditScrubbed(agent, method, target, scrubber);
        }
    }

    // ---- the proxy protocol ------------------------------------------------------------------------------------

    /** Serves one client connection until it closes, a tunnel ends, or a request is refused. */
    private void serve(InputStream rawIn, OutputStream rawOut, Closeable connection, String agent) {
        InputStream in = new BufferedInputStream(rawIn, BUFFER);
        OutputStream out = new BufferedOutputStream(rawOut, BUFFER);
        try (connection) {
            while (true) {
                HttpMessages.Request request;
                try {
                    request = HttpMessages.readRequest(in);
                } catch (BadMessageException e) {
                    respond(out, trail.refuseMalformed(agent, null, null, e.getMessage()));
                    return;
                }
                if (request == null) return;
                if (request.method().equals("CONNECT")) {
                    tunnel(request, in, out, connection, agent);
                    return;
                }
                if (!forward(request, in, out, agent)) return;
            }
        } catch (IOException e) {
            log.debug("egress connection for agent {} ended: {}", agent, e.toString());
        } catch (RuntimeException e) {
            log.warn("egress connection for agent {} failed", agent, e);
        }
    }

    /**
     * Forwards one absolute-form request; true if the client connection may carry another. When the decision injects
     * credentials, the server is an echo risk: it is asked for identity encoding (a compressed answer is refused),
     * gets no Range, and whatever it answers reaches the client only through the credential scrubber.
     */
    private boolean forward(HttpMessages.Request request, InputStream in, OutputStream out, String agent)
            throws IOException {
        Target target;
        try {
            target = Target.absolute(utf8(request.target()), options.tlsPorts());
        } catch (IllegalArgumentException e) {
            respond(out, trail.refuseMalformed(agent, request.method(), null, e.getMessage()));
            return false;
        }
        Plan plan;
        try {
            plan = planner.plan(agent, request.method(), target);
            String override = Planner.methodOverride(request.headers(), target);
            if (override != null && !override.equals(request.method())) planner.plan(agent, override, target);
        } catch (EgressDeniedException e) {
            respond(out, e.denial());
            return false;
        }
        Socket up;
        try {
            up = planner.connect(plan, target);
        } catch (IOException e) {
            respond(out, AuditTrail.unreachable(target, request.method(), e));
            return false;
        }
        CredentialScrubber scrubber = CredentialScrubber.of(plan.credentials());
        try (up) {
            OutputStream upOut = new BufferedOutputStream(up.getOutputStream(), BUFFER);
            boolean chunked = request.framing() instanceof Framing.Chunked;
            StringBuilder head = new StringBuilder(request.method()).append(' ').append(target.originForm())
                    .append(" HTTP/1.1\r\nHost: ").append(target.hostHeader()).append("\r\n");
            appendPassed(head, request.headers(), dropped(plan, scrubber), s -> s);
            appendInjected(head, plan, scrubber);
            if (request.framing() instanceof Framing.Fixed f) head.append("Content-Length: ").append(f.length()).append("\r\n");
            if (chunked) head.append("Transfer-Encoding: chunked\r\n");
            head.append("Connection: close\r\n\r\n");
            HttpMessages.writeAscii(upOut, head);
            upOut.flush();
            if ("100-continue".equalsIgnoreCase(request.header("expect")) && request.http11()) {
                HttpMessages.writeAscii(out, "HTTP/1.1 100 Continue\r\n\r\n");
                out.flush();
            }
            try {
                HttpMessages.copy(HttpMessages.body(in, request.framing()), upOut, chunked);
            } catch (BadMessageException e) {
                // the body broke its own framing half-way: the server gets no complete request, the client an answer
                respond(out, trail.refuseMalformed(agent, request.method(), target, e.getMessage()));
                return false;
            }

            InputStream upIn = new BufferedInputStream(up.getInputStream(), BUFFER);
            HttpMessages.Response response;
            Framing framing;
            try {
                response = readFinalResponse(upIn);
                framing = HttpMessages.responseFraming(response, request.method());
            } catch (BadMessageException e) {
                // the server's text may quote the request, so with credentials in it nothing of it is repeated
                respond(out, new Denial(502, "bad_upstream_response", target.host().name(), target.port(),
                        request.method(), target.path(), "egress:upstream", "the server's response was refused: "
                        + (scrubber.active() ? withheld().getMessage() : e.getMessage()),
                        "the server must answer with well-formed HTTP/1.1"));
                return false;
            }
            if (scrubber.active() && compressed(response)) {
                respond(out, trail.compressedRefused(agent, request.method(), target));
                return false;
            }
            boolean keepAlive = request.keepAlive();
            boolean reChunk = framing instanceof Framing.Chunked || framing instanceof Framing.UntilClose;
            if (reChunk && !request.http11()) keepAlive = false;
            StringBuilder responseHead = new StringBuilder("HTTP/1.1 ").append(response.status()).append(' ')
                    .append(scrubber.text(response.reason())).append("\r\n");
            appendPassed(responseHead, response.headers(), Set.of(), scrubber::text);
            String length = response.header("content-length");
            if (framing instanceof Framing.Fixed f) responseHead.append("Content-Length: ").append(f.length()).append("\r\n");
            else if (framing instanceof Framing.None && length != null && response.status() != 204) {
                responseHead.append("Content-Length: ").append(length).append("\r\n"); // HEAD, 304, or 0
            }
            if (reChunk && request.http11()) responseHead.append("Transfer-Encoding: chunked\r\n");
            if (!keepAlive) responseHead.append("Connection: close\r\n");
            responseHead.append("\r\n");
            HttpMessages.writeAscii(out, responseHead);
            try {
                HttpMessages.copy(scrubber.body(HttpMessages.body(upIn, framing)), out, reChunk && request.http11());
            } catch (BadMessageException e) {
                throw scrubber.active() ? withheld() : e;
            } finally {
                trail.auditScrubbed(agent, request.method(), target, scrubber);
            }
            return keepAlive;
        }
    }

    private void tunnel(HttpMessages.Request request, InputStream in, OutputStream out, Closeable client, String agent)
            throws IOException {
        Target target;
        try {
            target = Target.authority(request.target());
        } catch (IllegalArgumentException e) {
            respond(out, trail.refuseMalformed(agent, "CONNECT", null, e.getMessage()));
            return;
        }
        if (!(request.framing() instanceof Framing.None)) {
            respond(out, trail.refuseMalformed(agent, "CONNECT", target, "a CONNECT request has no body"));
            return;
        }
        Plan plan;
        try {
            plan = planner.plan(agent, "CONNECT", target);
        } catch (EgressDeniedException e) {
            respond(out, e.denial());
            return;
        }
        Socket up;
        try {
            up = planner.connect(plan, target);
        } catch (IOException e) {
            respond(out, AuditTrail.unreachable(target, "CONNECT", e));
            return;
        }
        try (up) {
            HttpMessages.writeAscii(out, "HTTP/1.1 200 Connection established\r\n\r\n");
            out.flush();
            InputStream upIn = up.getInputStream();
            Thread back = Thread.ofVirtual().start(() -> {
                try {
                    pump(upIn, out);
                } catch (IOException e) {
                    // either side closed
                } finally {
                    closeQuietly(up);
                    closeQuietly(client);
                }
            });
            try {
                pump(in, up.getOutputStream());
                up.shutdownOutput();
                back.join();
            } catch (IOException e) {
                // either side closed
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }


    private static void respond(OutputStream out, Denial denial) throws IOException {
        byte[] body = denial.json().getBytes(StandardCharsets.UTF_8);
        String reason = switch (denial.status()) {
            case 400 -> "Bad Request";
            case 403 -> "Forbidden";
            default -> "Bad Gateway";
        };
        HttpMessages.writeAscii(out, "HTTP/1.1 " + denial.status() + " " + reason + "\r\nContent-Type: application/json"
                + "\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n");
        out.write(body);
        out.flush();
    }

    static void closeQuietly(Closeable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
