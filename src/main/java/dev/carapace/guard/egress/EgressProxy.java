package dev.carapace.guard.egress;

import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;
import dev.carapace.guard.NetworkRules.NetworkDecision;
import dev.carapace.guard.NetworkRules;
import dev.carapace.guard.egress.HttpMessages.Framing;
import dev.carapace.guard.egress.HttpMessages.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.UnknownHostException;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Carapace's egress proxy: the only way out to the network for sandboxed processes (over a Unix socket bound into
 * the sandbox) and for {@code web_fetch} (through {@link #fetch}). It speaks HTTP/1.1 forward proxying
 * (absolute-form requests) and CONNECT tunnels, one virtual thread per connection, blocking I/O.
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
 */
public final class EgressProxy implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EgressProxy.class);
    private static final int BUFFER = 16 * 1024;

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

    /** An HTTP response fetched through {@link #fetch}; header names in lower case. */
    public record Fetched(int status, Map<String, List<String>> headers, byte[] body, boolean truncated) {}

    private final NetworkRules rules;
    private final Resolver resolver;
    private final SecretStore secrets;
    private final AuditSink audit;
    private final Clock clock;
    private final Options options;
    private final List<Listener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    public EgressProxy(NetworkRules rules, Resolver resolver, SecretStore secrets, AuditSink audit, Clock clock,
                       Options options) {
        this.rules = Objects.requireNonNull(rules, "rules");
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.secrets = Objects.requireNonNull(secrets, "secrets");
        this.audit = Objects.requireNonNull(audit, "audit");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.options = Objects.requireNonNull(options, "options");
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

    /** Closes every listener and the connections they accepted. */
    @Override
    public void close() {
        for (Listener l : listeners) l.close();
        listeners.clear();
    }

    // ---- web_fetch ---------------------------------------------------------------------------------------------

    /**
     * One GET on behalf of {@code agent}, under the same rules as a proxied request. An https URL is fetched with TLS
     * originated here, so method/path rules and credentials apply to it too. Redirects are returned, not followed.
     *
     * @param headers  request headers to send (hop-by-hop ones and those the decision injects are dropped)
     * @param maxBytes most body bytes to read; {@link Fetched#truncated} says if there were more
     * @param timeout  for the whole exchange
     * @throws EgressDeniedException the request was refused (malformed URL, policy, address)
     * @throws HttpTimeoutException  the timeout passed
     */
    public Fetched fetch(String agent, URI uri, Map<String, String> headers, int maxBytes, Duration timeout)
            throws IOException, InterruptedException {
        Target target;
        try {
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            String raw = scheme + "://" + Objects.requireNonNullElse(uri.getRawAuthority(), "")
                    + (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
                    + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
            target = Target.absolute(raw, options.tlsPorts());
        } catch (IllegalArgumentException e) {
            throw new EgressDeniedException(refuseMalformed(agent, "GET", null, e.getMessage()));
        }
        Plan plan = plan(agent, "GET", target);
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
        Set<String> dropped = dropped(plan, scrubber);
        try (Socket up = connect(plan, target)) {
            synchronized (open) {
                open[0] = up;
                if (timedOut.get()) throw new HttpTimeoutException("timed out after " + timeout.toMillis() + " ms");
            }
            OutputStream out = new BufferedOutputStream(up.getOutputStream(), BUFFER);
            StringBuilder head = new StringBuilder("GET ").append(target.originForm()).append(" HTTP/1.1\r\n")
                    .append("Host: ").append(target.hostHeader()).append("\r\n");
            headers.forEach((name, value) -> {
                if (HttpMessages.isToken(name) && !value.contains("\r") && !value.contains("\n")
                        && !HttpMessages.HOP_BY_HOP.contains(name.toLowerCase(Locale.ROOT))
                        && !dropped.contains(name.toLowerCase(Locale.ROOT))) {
                    head.append(name).append(": ").append(value).append("\r\n");
                }
            });
            appendInjected(head, plan, scrubber);
            head.append("Connection: close\r\n\r\n");
            HttpMessages.writeAscii(out, head);
            out.flush();
            InputStream in = new BufferedInputStream(up.getInputStream(), BUFFER);
            HttpMessages.Response response = readFinalResponse(in);
            if (scrubber.active() && compressed(response)) {
                throw new EgressDeniedException(compressedRefused(agent, "GET", target));
            }
            InputStream body = scrubber.body(HttpMessages.body(in, HttpMessages.responseFraming(response, "GET")));
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            byte[] buffer = new byte[BUFFER];
            int cap = Math.max(0, maxBytes);
            boolean truncated = false;
            int n;
            while ((n = body.read(buffer)) > 0) {
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
            auditScrubbed(agent, "GET", target, scrubber);
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
                    respond(out, refuseMalformed(agent, null, null, e.getMessage()));
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
            respond(out, refuseMalformed(agent, request.method(), null, e.getMessage()));
            return false;
        }
        Plan plan;
        try {
            plan = plan(agent, request.method(), target);
            String override = methodOverride(request, target);
            if (override != null && !override.equals(request.method())) plan(agent, override, target);
        } catch (EgressDeniedException e) {
            respond(out, e.denial());
            return false;
        }
        Socket up;
        try {
            up = connect(plan, target);
        } catch (IOException e) {
            respond(out, unreachable(target, request.method(), e));
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
                respond(out, refuseMalformed(agent, request.method(), target, e.getMessage()));
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
                respond(out, compressedRefused(agent, request.method(), target));
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
                auditScrubbed(agent, request.method(), target, scrubber);
            }
            return keepAlive;
        }
    }

    /**
     * A request target as text: the head is read byte for byte as ISO-8859-1, but a client that sends raw non-ASCII
     * in a path (an IRI) means UTF-8, and the canonical path encodes characters as UTF-8.
     */
    private static String utf8(String latin1) {
        byte[] bytes = latin1.getBytes(StandardCharsets.ISO_8859_1);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the request target has bytes that are not UTF-8; percent-encode them");
        }
    }

    /** The first non-1xx response (the proxy answered the client's Expect itself). */
    private static HttpMessages.Response readFinalResponse(InputStream in) throws IOException {
        while (true) {
            HttpMessages.Response r = HttpMessages.readResponse(in);
            if (r.status() == 101) throw new BadMessageException("the server switched protocols, which was not asked");
            if (r.status() >= 200) return r;
        }
    }

    /**
     * Headers that pass a hop: not hop-by-hop, not named in Connection, not in {@code dropped} (lower-case names),
     * each name and value through {@code scrub}.
     */
    private static void appendPassed(StringBuilder head, List<Header> headers, Set<String> dropped,
                                     UnaryOperator<String> scrub) {
        Set<String> connection = HttpMessages.connectionTokens(headers);
        for (Header h : headers) {
            String lower = h.name().toLowerCase(Locale.ROOT);
            if (HttpMessages.HOP_BY_HOP.contains(lower) || connection.contains(lower) || dropped.contains(lower)) continue;
            head.append(scrub.apply(h.name())).append(": ").append(scrub.apply(h.value())).append("\r\n");
        }
    }

    /**
     * The client's headers that are not sent on: those the decision injects, and with credentials injected, the
     * ones that would let the response carry a credential back in a form the scrubber cannot see: Accept-Encoding
     * (a compressed echo hides the value; {@code identity} is asked instead) and Range / If-Range (an echo cut into
     * slices smaller than the value passes piece by piece).
     */
    private static Set<String> dropped(Plan plan, CredentialScrubber scrubber) {
        Set<String> names = new HashSet<>();
        for (Header h : plan.inject()) names.add(h.name().toLowerCase(Locale.ROOT));
        if (scrubber.active()) names.addAll(Set.of("accept-encoding", "range", "if-range"));
        return names;
    }

    private static void appendInjected(StringBuilder head, Plan plan, CredentialScrubber scrubber) {
        for (Header h : plan.inject()) head.append(h.name()).append(": ").append(h.value()).append("\r\n");
        if (scrubber.active()) head.append("Accept-Encoding: identity\r\n");
    }

    /** A body in a content coding other than identity: the scrubber could not read it. */
    private static boolean compressed(HttpMessages.Response response) {
        for (Header h : response.headers()) {
            if (h.is("content-encoding") && !h.value().isBlank() && !h.value().strip().equalsIgnoreCase("identity")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The proxy asked for identity encoding; a server that compresses anyway sends a body in which an echoed
     * credential cannot be found, so the response is refused rather than passed on unchecked.
     */
    private Denial compressedRefused(String agent, String method, Target target) {
        String reason = "the server compressed its response (Content-Encoding) to a request carrying credentials, "
                + "although the proxy asked for identity encoding; a compressed body cannot be checked for echoed "
                + "credentials, so it is refused";
        record(agent, method, target, "deny", "egress:scrub", reason);
        return new Denial(502, "bad_upstream_response", target.host().name(), target.port(), method, target.path(),
                "egress:scrub", reason, "the server must honour 'Accept-Encoding: identity' for this endpoint");
    }

    /** A malformed response to a request with credentials: its details could quote them, so none are given. */
    private static BadMessageException withheld() {
        return new BadMessageException("the server's response was malformed (details withheld: the request carried "
                + "credentials the server may have quoted)");
    }

    /** One audit record per credential that came back and was masked: its name and count, never its value. */
    private void auditScrubbed(String agent, String method, Target target, CredentialScrubber scrubber) {
        scrubber.hits().forEach((secret, count) -> record(agent, method, target, "scrub", "egress:scrub",
                "credential '" + secret + "' came back in the response (" + count + " time" + (count == 1 ? "" : "s")
                        + ") and was masked before reaching the agent"));
    }

    private void tunnel(HttpMessages.Request request, InputStream in, OutputStream out, Closeable client, String agent)
            throws IOException {
        Target target;
        try {
            target = Target.authority(request.target());
        } catch (IllegalArgumentException e) {
            respond(out, refuseMalformed(agent, "CONNECT", null, e.getMessage()));
            return;
        }
        if (!(request.framing() instanceof Framing.None)) {
            respond(out, refuseMalformed(agent, "CONNECT", target, "a CONNECT request has no body"));
            return;
        }
        Plan plan;
        try {
            plan = plan(agent, "CONNECT", target);
        } catch (EgressDeniedException e) {
            respond(out, e.denial());
            return;
        }
        Socket up;
        try {
            up = connect(plan, target);
        } catch (IOException e) {
            respond(out, unreachable(target, "CONNECT", e));
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

    /** Copies and flushes as bytes arrive (transferTo would hold them in a buffered stream). */
    private static void pump(InputStream in, OutputStream out) throws IOException {
        byte[] buffer = new byte[BUFFER];
        int n;
        while ((n = in.read(buffer)) > 0) {
            out.write(buffer, 0, n);
            out.flush();
        }
    }

    // ---- deciding ----------------------------------------------------------------------------------------------

    /** What an allowed request needs: the checked addresses to connect to and the headers to add. */
    private record Plan(List<InetAddress> addresses, List<Header> inject,
                        List<CredentialScrubber.Injected> credentials) {}

    /**
     * Decides on {@code target} and records the decision. Nothing is resolved before the rules allow the name.
     *
     * @throws EgressDeniedException when refused (the refusal is already recorded)
     */
    /** Headers by which frameworks (Rails, Laravel, ASP.NET, Express's method-override...) let a request claim a
     * method other than its own. */
    private static final List<String> METHOD_OVERRIDES = List.of("x-http-method-override", "x-http-method",
            "x-method-override");

    /**
     * The method a request claims through a method-override header or a {@code _method} query parameter, upper
     * case, or null: many servers act on it, so a read-only endpoint must not let {@code GET} with
     * {@code X-HTTP-Method-Override: DELETE} through. It is judged as well as the request's own method.
     */
    static String methodOverride(HttpMessages.Request request, Target target) {
        for (String name : METHOD_OVERRIDES) {
            String v = request.header(name);
            if (v != null && !v.isBlank()) return v.strip().toUpperCase(Locale.ROOT);
        }
        if (target.query() == null) return null;
        for (String pair : target.query().split("&")) {
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            if (name.equalsIgnoreCase("_method") && eq >= 0 && eq + 1 < pair.length()) {
                String value = pair.substring(eq + 1);
                try {
                    value = URLDecoder.decode(value, StandardCharsets.UTF_8);
                } catch (IllegalArgumentException malformed) {
                    // judged as written: no server decodes it into another method either
                }
                return value.strip().toUpperCase(Locale.ROOT);
            }
        }
        return null;
    }

    private Plan plan(String agent, String method, Target target) throws EgressDeniedException {
        boolean tunnel = method.equals("CONNECT");
        String host = target.host().name();
        NetworkDecision decision;
        try {
            decision = rules.decide(new NetworkRules.NetworkRequest(agent, host, target.port(),
                    tunnel ? null : method, target.path(), null));
        } catch (RuntimeException e) {
            log.error("network rules failed for {} {}", method, target.audited(), e);
            throw refuse(agent, method, target, 403, "egress_denied", "egress:rules-failed",
                    "the network policy could not decide (" + e.getClass().getSimpleName() + "); refused",
                    "an operator should check the policy and the gateway log");
        }
        if (!decision.allowed()) {
            String what = tunnel ? "a tunnel to " + target.host().authority() + ":" + target.port()
                    : method + " " + target.host().authority() + ":" + target.port() + target.path();
            boolean ask = decision.verdict() == NetworkRules.Verdict.ASK;
            throw refuse(agent, method, target, 403, "egress_denied", decision.rule(),
                    ask ? "needs an operator's approval: " + decision.reason() : decision.reason(),
                    ask ? "an operator must approve " + what
                            : "an operator can allow " + what + " in the agent's network policy");
        }
        if (tunnel && !decision.inject().isEmpty()) {
            throw refuse(agent, method, target, 403, "egress_denied", "egress:tunnel-credentials",
                    "credentials are bound to this endpoint, and a CONNECT tunnel is opaque, so they cannot be added",
                    "send the requests as plain http://" + target.host().authority() + ":" + target.port()
                            + "/... to the proxy; it connects with TLS itself and adds the credentials");
        }
        List<Header> inject = new ArrayList<>();
        List<CredentialScrubber.Injected> credentials = new ArrayList<>();
        for (NetworkRules.Injection i : decision.inject()) {
            String value;
            try {
                value = secrets.value(i.secret());
            } catch (SecretStore.Unavailable e) {
                throw refuse(agent, method, target, 502, "credential_unavailable", "egress:secret",
                        e.getMessage(), "an operator must make the secret available to the gateway");
            }
            String header = i.template().replace("{secret}", value);
            if (!HttpMessages.isToken(i.header()) || header.indexOf('\r') >= 0 || header.indexOf('\n') >= 0) {
                throw refuse(agent, method, target, 502, "credential_unavailable", "egress:secret",
                        "secret '" + i.secret() + "' or header '" + i.header() + "' cannot form a header line",
                        "an operator must fix the secret or the injection");
            }
            inject.add(new Header(i.header(), header));
            credentials.add(new CredentialScrubber.Injected(i.secret(), value, i.header(), header));
        }
        List<Addresses.Cidr> allowed = new ArrayList<>();
        for (String cidr : decision.allowedIps()) {
            try {
                allowed.add(Addresses.Cidr.parse(cidr));
            } catch (IllegalArgumentException e) {
                throw refuse(agent, method, target, 403, "egress_denied", decision.rule(),
                        "the policy's allowed_ips has an invalid entry: " + e.getMessage(),
                        "an operator must fix allowed_ips");
            }
        }
        List<InetAddress> addresses;
        if (target.host().literal() != null) {
            addresses = List.of(target.host().literal());
        } else {
            try {
                addresses = List.copyOf(resolver.resolve(host));
                if (addresses.isEmpty()) throw new UnknownHostException(host);
            } catch (UnknownHostException e) {
                throw refuse(agent, method, target, 502, "unknown_host", "egress:dns",
                        "the name " + host + " does not resolve", "check the host name");
            }
        }
        for (InetAddress a : addresses) {
            String kind = Addresses.blockedKind(a);
            if (kind != null && !Addresses.within(a, allowed)) {
                String shown = a.getHostAddress();
                throw refuse(agent, method, target, 403, "egress_denied", "egress:blocked-address",
                        (target.host().literal() != null ? host + " is" : host + " resolves to " + shown + ",")
                                + " a " + kind + " address, which agents may not reach",
                        "if this internal address is intended, an operator can add " + shown
                                + (shown.indexOf(':') >= 0 ? "/128" : "/32") + " to the endpoint's allowed_ips");
            }
        }
        boolean auditOnly = decision.verdict() != NetworkRules.Verdict.ALLOW;
        record(agent, method, target, auditOnly ? "audit" : "allow", decision.rule(), decision.reason());
        return new Plan(addresses, List.copyOf(inject), List.copyOf(credentials));
    }

    /** Connects to the first reachable checked address, with TLS (verified for the host name) if the target says. */
    private Socket connect(Plan plan, Target target) throws IOException {
        IOException last = null;
        for (InetAddress address : plan.addresses()) {
            Socket socket = new Socket();
            try {
                socket.setTcpNoDelay(true);
                socket.connect(new InetSocketAddress(address, target.port()), (int) options.connectTimeout().toMillis());
                socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, options.idleTimeout().toMillis()));
                if (!target.tls()) return socket;
                SSLSocket tls = (SSLSocket) options.tls().getSocketFactory()
                        .createSocket(socket, target.host().name(), target.port(), true);
                SSLParameters parameters = tls.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                if (target.host().literal() == null) parameters.setServerNames(List.of(new SNIHostName(target.host().name())));
                tls.setSSLParameters(parameters);
                tls.startHandshake();
                return tls;
            } catch (IOException e) {
                closeQuietly(socket);
                last = e;
            }
        }
        throw last;
    }

    private EgressDeniedException refuse(String agent, String method, Target target, int status, String error,
                                         String rule, String reason, String remedy) {
        record(agent, method, target, "deny", rule, reason);
        return new EgressDeniedException(new Denial(status, error, target.host().name(), target.port(), method,
                target.path(), rule, reason, remedy));
    }

    private Denial refuseMalformed(String agent, String method, Target target, String reason) {
        audit(agent, method == null ? "?" : method, target == null ? null : target.audited(), "deny",
                "egress:bad-request", reason);
        return new Denial(400, "bad_request", target == null ? null : target.host().name(),
                target == null ? 0 : target.port(), method, target == null ? null : target.path(), "egress:bad-request",
                reason, "send a well-formed HTTP/1.1 proxy request");
    }

    private static Denial unreachable(Target target, String method, IOException e) {
        return new Denial(502, "upstream_unreachable", target.host().name(), target.port(), method, target.path(),
                "egress:connect", "could not connect: " + e.getClass().getSimpleName()
                + (e.getMessage() == null ? "" : " (" + HttpMessages.printable(e.getMessage()) + ")"),
                "check that the server is up");
    }

    private void record(String agent, String method, Target target, String outcome, String rule, String reason) {
        audit(agent, method, target.audited(), outcome, rule, reason);
    }

    private void audit(String agent, String action, String target, String outcome, String rule, String reason) {
        try {
            audit.record(new AuditEvent(clock.instant(), null, agent, null, "network", action, target, outcome, rule,
                    reason));
        } catch (RuntimeException e) {
            log.error("audit sink failed", e);
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
