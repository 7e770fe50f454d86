package dev.carapace.server.api;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.carapace.gateway.Call;
import dev.carapace.gateway.Gateway;
import dev.carapace.gateway.Operation;
import dev.carapace.identity.Authenticator;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.EmbeddingRequest;
import dev.carapace.model.JsonFields;
import dev.carapace.model.Provider;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;
import dev.carapace.model.WireApi;
import dev.carapace.model.WireFormat;
import dev.carapace.model.anthropic.AnthropicFormat;
import dev.carapace.model.openai.OpenAiEmbeddings;
import dev.carapace.server.adapter.Metrics;
import dev.carapace.server.adapter.StoreWatch;
import dev.carapace.server.http.BadRequest;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;
import dev.carapace.server.logging.LogFields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import static dev.carapace.text.Excerpt.clip;

/**
 * The model API and the frame of every route: the OpenAI- and Anthropic-compatible routes under {@code /v1}
 * (chat, messages, count_tokens, embeddings), health, metrics and the answer to an unknown path; and
 * {@link #handleApi}/{@link #handleCall}/{@link #handleEitherApi}, which give the routes of the other classes of
 * this package (models, keys, budgets, spend, agents, guard, privacy, responses) the same request id, error shape,
 * metrics and access log.
 * Routes see an {@link Exchange}; the HTTP server itself is {@code dev.carapace.server.http}'s.
 *
 * <p>Longer than 500 lines on purpose: the model-call routes, the streamed answer ({@link SseResponse}) and the
 * frame share per-request state (the call note, the request id, the body limits) and are measured and tuned for
 * throughput as one path; every resource route lives in a class of its own.
 */
public final class HttpApi {

    private static final Logger log = LoggerFactory.getLogger("carapace.access");
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * The native API's bodies: decimals kept exact (0.1 stays 0.1, never the nearest double); a field given twice is
     * refused, never read as its last value; so is anything after the object ({@code {"amount":"5"} {"amount":"999"}}).
     */
    private static final ObjectReader BODY = JSON.reader().with(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .with(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION);
    private static final String X_REQUEST_ID = "x-request-id";
    private static final String REQUEST_ID = "request-id";
    private static final String X_SHOULD_RETRY = "x-should-retry";
    private static final String RETRY_AFTER_MS = "retry-after-ms";
    private static final String X_SESSION_ID = "x-session-id";
    static final String ANTHROPIC_VERSION = "anthropic-version";
    private static final String X_MODEL = "x-carapace-model";
    private static final String X_DEPLOYMENT = "x-carapace-deployment";
    private static final String X_DOWNGRADED = "x-carapace-downgraded-from";
    private static final String JSON_TYPE = "application/json";
    private static final int MAX_RELAYED_HEADER = 2048;

    private final Gateway gateway;
    private final Authenticator auth;
    private final WireFormat openai;
    private final WireFormat anthropic;
    private final Metrics metrics;
    private final long maxBodyBytes;
    /** Random per process, so gateways sharing one PostgreSQL never hand out the same request id. */
    private final String idPrefix = "req_" + Long.toString(new java.security.SecureRandom().nextLong() & Long.MAX_VALUE, 36) + "_";
    private final AtomicLong ids = new AtomicLong();

    /** Whether the store is still the one opened: healthz and model calls answer 503 once it is not. */
    private final StoreWatch storeWatch;
    /** The token that may scrape {@code /metrics} besides an admin key, as UTF-8; null when none is configured. */
    private final byte[] metricsToken;

    /** @param metricsToken a token that may scrape {@code /metrics} besides an admin key, or null (admin keys only) */
    public HttpApi(Gateway gateway, Authenticator auth, WireFormat openai, WireFormat anthropic, Metrics metrics,
            long maxBodyBytes, StoreWatch storeWatch, String metricsToken) {
        this.storeWatch = storeWatch;
        this.metricsToken = metricsToken == null || metricsToken.isEmpty() ? null : metricsToken.getBytes(StandardCharsets.UTF_8);
        this.gateway = gateway;
        this.auth = auth;
        this.openai = openai;
        this.anthropic = anthropic;
        this.metrics = metrics;
        this.maxBodyBytes = maxBodyBytes;
    }

    public void routes(Routes r) {
        r.post("/v1/chat/completions", x -> handle("chat", x, openai, note -> chat(x, openai, note)))
         .post("/v1/messages", x -> handle("messages", x, anthropic, note -> chat(x, anthropic, note)))
         .post("/v1/messages/count_tokens", x -> handle("count_tokens", x, anthropic, note -> countTokens(x, note)))
         .post("/v1/embeddings", x -> handle("embeddings", x, openai, note -> embeddings(x, note)))
         // Outside the frame, as before: a load balancer's probe every few seconds is no access-log line.
         .get("/healthz", x -> {
             String problem = storeWatch.check();
             if (problem == null) {
                 sendJson(x, 200, JSON.createObjectNode().put("status", "ok"));
             } else {
                 sendJson(x, 503, JSON.createObjectNode().put("status", "unavailable").put("reason", problem));
             }
         })
         .get("/metrics", x -> handle("metrics", x, openai, note -> {
             requireScraper(x);
             x.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
             x.send(metrics.scrape().getBytes(StandardCharsets.UTF_8));
         }))
         .otherwise(x -> handle("unknown", x, formatOf(x), note -> {
             if (!x.allowedMethods().isEmpty()) {
                 String allowed = String.join(", ", x.allowedMethods());
                 x.header("allow", allowed);
                 throw new ApiException(ApiException.Kind.METHOD_NOT_ALLOWED, clip(x.method(), 20) + " is not a method of "
                         + clip(x.rawPath(), 60) + "; it takes " + allowed + ".", null, "method_not_allowed", null, false);
             }
             throw new ApiException(ApiException.Kind.NOT_FOUND, "Unknown endpoint: " + clip(x.method(), 60)
                     + " " + clip(x.rawPath(), 60) + ". Model endpoints: POST /v1/chat/completions, POST /v1/messages,"
                     + " POST /v1/messages/count_tokens, POST /v1/responses, POST /v1/embeddings, POST /v1/audio/transcriptions,"
                     + " POST /v1/audio/speech, GET /v1/models.", null,
                     "unknown_endpoint", null, false);
         }));
    }

    /**
     * Bodies for the errors the HTTP layer answers before any route (malformed framing, a URI or headers too long,
     * an unknown HTTP version), in the shape of the API the request was for: Anthropic's for {@code /v1/messages}
     * or a request with {@code anthropic-version}, OpenAI's for everything else.
     */
    public byte[] errorBody(int status, String message, String path, java.util.function.Function<String, String> header) {
        boolean anthropicShape = header.apply(ANTHROPIC_VERSION) != null || (path != null && path.startsWith("/v1/messages"));
        // 505 is the client's mistake (a version this server does not speak), not a failure of the gateway
        ApiException.Kind kind = status == 413 ? ApiException.Kind.TOO_LARGE
                : status >= 500 && status != 505 ? ApiException.Kind.INTERNAL : ApiException.Kind.INVALID_REQUEST;
        String code = switch (status) {
            case 408 -> "request_timeout";
            case 413 -> "request_too_large";
            case 414 -> "uri_too_long";
            case 431 -> "headers_too_large";
            case 505 -> "http_version_not_supported";
            default -> status >= 500 ? "internal_error" : "malformed_request";
        };
        return (anthropicShape ? anthropic : openai).renderError(new ApiException(kind, message, null, code, null, false));
    }

    @FunctionalInterface
    private interface Action {
        void run(CallNote note) throws IOException;
    }

    /** Per-request notes for the access log: the model call, when the route made one. */
    private static final class CallNote {
        Call call;
        boolean clientGone;
    }

    /** Common frame of every API route: a request id, errors in the route's API shape, an access log line. */
    private void handle(String route, Exchange x, WireFormat format, Action action) throws IOException {
        long t0 = System.nanoTime();
        String id = idPrefix + Long.toString(ids.incrementAndGet(), 36);
        x.header(X_REQUEST_ID, id);
        if (format == anthropic) x.header(REQUEST_ID, id);
        MDC.put("request_id", id);
        CallNote note = new CallNote();
        try {
            action.run(note);
        } catch (ApiException e) {
            if (!x.isCommitted()) sendError(x, format, e);
        } catch (BadRequest e) {
            if (!x.isCommitted()) sendError(x, format, ApiException.invalid(null, e.getMessage()));
        } catch (IOException | UncheckedIOException gone) {
            // Writing the answer failed: the client has gone. The access log line below says so; nothing to send.
            note.clientGone = true;
        } catch (RuntimeException | Error e) {
            // An Error too (one request's attempt at a huge allocation, say): answered here, it keeps its request id,
            // its access line and its status in the metrics.
            log.error("unexpected failure on {} {}", x.method(), x.rawPath(), e);
            if (x.isCommitted()) throw e;   // a body was under way: the server cuts the connection
            sendError(x, format, ApiException.of(ApiException.Kind.INTERNAL, "internal_error", "Carapace failed to"
                    + " handle this request (request id " + id + "); the error is in the gateway's log."));
        } finally {
            Call call = note.call;
            // A stream whose client went away was sent as 200; its call knows the client got no answer (499).
            int status = note.clientGone || call != null && call.status() == 499 ? 499 : x.status();
            long micros = (System.nanoTime() - t0) / 1000;
            metrics.httpRequest(route, status, micros * 1000);
            if (log.isInfoEnabled()) log.info(accessLine(x, status, micros, call));
            MDC.remove("request_id");
        }
    }

    /**
     * The access log's message, built here rather than from a logback pattern with a dozen arguments: one line per
     * request is on every request's path. The encoder escapes it like any other message.
     */
    private static String accessLine(Exchange x, int status, long micros, Call call) {
        StringBuilder b = new StringBuilder(160).append(x.requestLine()).append(' ').append(status).append(' ')
                .append(micros).append("us");
        if (call == null) return b.toString();
        var u = call.usage();
        LogFields.field(b, "team", call.principal().team());
        LogFields.field(b, "user", call.principal().user());
        LogFields.field(b, "model", call.model() == null ? call.request().model() : call.model().id());
        LogFields.field(b, "deployment", call.deployment() == null ? null : call.deployment().id());
        b.append(" attempts=").append(call.attempts())
                .append(" tokens_in=").append(u.inputTokens()).append(" tokens_out=").append(u.outputTokens());
        if (u.estimated()) b.append(" estimated");
        return b.toString();
    }

    // ---- /v1: the model API ----

    /** The caller of a model call; refused with 503 first when the store is unsound (the keys are read from it). */
    private Principal admit(Exchange x) {
        String unsound = storeWatch.problem();
        if (unsound != null) throw StoreWatch.unavailable(unsound);
        return authenticate(x);
    }

    private void chat(Exchange x, WireFormat format, CallNote note) throws IOException {
        Principal principal = admit(x);
        byte[] body = readBody(x);
        ChatRequest request = format.parseRequest(body).withRelayedHeaders(relayedHeaders(x, format));
        String affinity = affinity(x, request.user());
        Call call = new Call(x.responseHeader(X_REQUEST_ID), principal, format.api(), request, affinity);
        note.call = call;
        if (!request.stream()) {
            ChatResponse answer = gateway.complete(call);
            callHeaders(x, call);
            x.header("content-type", JSON_TYPE);
            x.send(format.renderResponse(answer));
            return;
        }
        SseResponse sse = new SseResponse(() -> startSse(x, call), () -> streamEncoder(format, call));
        try {
            gateway.stream(call, sse);
        } catch (ApiException e) {
            if (!sse.started()) throw e;
            sse.fail(e);
            return;
        }
    }

    /**
     * {@code POST /v1/messages/count_tokens}: a Messages request without {@code max_tokens}, answered
     * {@code {"input_tokens": N}} (see {@link Gateway#countTokens}).
     */
    private void countTokens(Exchange x, CallNote note) throws IOException {
        Principal principal = admit(x);
        ChatRequest request = ((AnthropicFormat) anthropic).parseCountTokens(readBody(x))
                .withRelayedHeaders(relayedHeaders(x, anthropic));
        Call call = new Call(x.responseHeader(X_REQUEST_ID), principal, WireApi.ANTHROPIC, request,
                affinity(x, request.user()), Operation.COUNT_TOKENS);
        note.call = call;
        long tokens = gateway.countTokens(call);
        callHeaders(x, call);
        sendJson(x, 200, JSON.createObjectNode().put("input_tokens", tokens));
    }

    /** {@code POST /v1/embeddings}, OpenAI's (see {@link Gateway#embed}). */
    private void embeddings(Exchange x, CallNote note) throws IOException {
        Principal principal = admit(x);
        EmbeddingRequest request = OpenAiEmbeddings.parse(readBody(x));
        Call call = new Call(x.responseHeader(X_REQUEST_ID), principal, WireApi.OPENAI, request.view(),
                affinity(x, request.user()), Operation.EMBEDDINGS);
        note.call = call;
        byte[] answer = gateway.embed(call, request);
        callHeaders(x, call);
        x.header("content-type", JSON_TYPE);
        x.send(answer);
    }

    /** The largest request body a client may send ({@code server.max_body_bytes}). */
    long maxBodyBytes() { return maxBodyBytes; }

    /**
     * What keeps a call's deployment sticky: the client's session id ({@code x-session-id}), else {@code fallback}
     * (an end-user id the body names, or null).
     */
    static String affinity(Exchange x, String fallback) {
        String session = x.header(X_SESSION_ID);
        return session != null && !session.isBlank() ? session : fallback;
    }

    /**
     * The client's stream encoder, made at the first event, when the deployment that answers is known: a relay of the
     * upstream's own frames when it speaks the client's API.
     */
    private static WireFormat.StreamEncoder streamEncoder(WireFormat format, Call call) {
        String model = call.model().id();
        return call.relayTo(call.deployment().provider().api()) != Provider.Relay.NONE
                ? format.relayEncoder(call.request(), model) : format.streamEncoder(call.request(), model);
    }

    /**
     * The client's vendor headers that go up with its request when it is relayed (see
     * {@link WireFormat#relayedHeaders}): several lines of one header are joined with commas, as HTTP allows.
     */
    private static Map<String, String> relayedHeaders(Exchange x, WireFormat format) {
        Map<String, String> out = null;
        for (String name : format.relayedHeaders()) {
            List<String> values = x.headerValues(name);
            if (values.isEmpty()) continue;
            String value = String.join(",", values);
            if (value.length() > MAX_RELAYED_HEADER || !value.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
                throw ApiException.invalid(null, "Header " + name + " must be printable ASCII of at most "
                        + MAX_RELAYED_HEADER + " characters (comma-separated values); got " + value.length() + " characters");
            }
            if (out == null) out = new java.util.LinkedHashMap<>();
            out.put(name, value);
        }
        return out == null ? Map.of() : out;
    }

    /** Sets a stream's status and headers, once the first event is there; they leave with it. */
    static OutputStream startSse(Exchange x, Call call) {
        x.status(200);
        x.header("content-type", "text/event-stream; charset=utf-8");
        x.header("cache-control", "no-cache");
        // Chunked whatever the timing: a stream whose whole answer is held until its end leaves in one write, which
        // Jetty would otherwise frame with a Content-Length, so that the client could not tell it from a plain answer.
        x.header("transfer-encoding", "chunked");
        callHeaders(x, call);
        return x.outputStream();
    }

    /**
     * The headers that say which model and deployment answered a call (none for a count made here), whether a budget
     * downgraded it, and what Carapace changed in the request to serve it ({@link Call.Adaptation}).
     */
    static void callHeaders(Exchange x, Call call) {
        x.header(X_MODEL, call.model().id());
        if (call.deployment() != null) x.header(X_DEPLOYMENT, call.deployment().id());
        if (call.downgradedFrom() != null) x.header(X_DOWNGRADED, call.downgradedFrom());
        call.adaptations().forEach((kind, what) -> x.header(kind.header, what));
    }

    /**
     * A streamed answer, written as its events come. Nothing is sent before the first event, so failover stays
     * possible until then.
     *
     * <p>Flushing is one socket write per flush. If the upstream reader says when it goes idle
     * ({@link StreamSink#idle()}), events wait for that call, the first one (with the headers) too, so a burst the
     * upstream sent in one go leaves in one write. A reader that never says so gets a flush per event. The end leaves
     * with whatever is still held: an answer that came in one burst leaves whole in one write (still chunked: see
     * {@code startSse}).
     */
    static final class SseResponse implements StreamSink {
        private final Supplier<OutputStream> start;
        private final Supplier<WireFormat.StreamEncoder> encoders;
        private WireFormat.StreamEncoder encoder;
        private OutputStream out;
        private boolean readerSignals;  // the reader has called idle() and will again before it waits
        private boolean pending;        // written since the last flush

        /** @param start sets the status and headers and gives the body stream; called once, at the first event */
        SseResponse(Supplier<OutputStream> start, Supplier<WireFormat.StreamEncoder> encoders) {
            this.start = start;
            this.encoders = encoders;
        }

        boolean started() { return out != null; }

        @Override
        public void accept(StreamEvent event) {
            try {
                if (out == null) {
                    encoder = encoders.get();
                    out = start.get();
                }
                if (!encoder.encodeTo(event, out)) return;
                if (readerSignals) {
                    pending = true;
                } else {
                    out.flush();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void idle() {
            readerSignals = true;
            if (!pending) return;
            pending = false;
            try {
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Closes a complete stream; closing sends whatever events were still held, with the end, in one write. */
        @Override
        public void end() {
            if (out == null) return;
            try (OutputStream o = out) {
                o.write(encoder.end());
            } catch (IOException | UncheckedIOException gone) {
                // the client left after the last event; nothing to tell it
            }
        }

        void fail(ApiException e) {
            try (OutputStream o = out) {
                o.write(encoder.error(e));
            } catch (IOException | UncheckedIOException gone) {
                // the client left; the failure is in the usage record and metrics
            }
        }
    }

    // ---- for routes defined in other classes of this package (KeysApi, BudgetsApi, AgentApi, ...) ----

    /** A route's work, framed by {@link #handle}. */
    @FunctionalInterface
    interface ApiRoute {
        void run() throws IOException;
    }

    /** {@link #handle}'s frame for a route of another class: request id, the /api error shape, metrics, the access log. */
    void handleApi(String route, Exchange x, ApiRoute action) throws IOException {
        handle(route, x, openai, note -> action.run());
    }

    /**
     * {@link #handle}'s frame for a route of another class that answers in the shape of the API the client speaks:
     * Anthropic's for a request with {@code anthropic-version}, OpenAI's otherwise (ModelsApi).
     */
    void handleEitherApi(String route, Exchange x, ApiRoute action) throws IOException {
        handle(route, x, formatOf(x), note -> action.run());
    }

    /** A model call's route of another class, which names its call for the access log. */
    @FunctionalInterface
    interface CallRoute {
        void run(java.util.function.Consumer<Call> named) throws IOException;
    }

    /** {@link #handle}'s frame for a model call of another class (ResponsesApi): OpenAI's error shape, the call logged. */
    void handleCall(String route, Exchange x, CallRoute action) throws IOException {
        handle(route, x, openai, note -> action.run(call -> note.call = call));
    }

    /** The request's JSON body, with this API's content-type and size checks. */
    byte[] body(Exchange x) throws IOException {
        return readBody(x);
    }

    /**
     * As {@link #body(Exchange)}, at most {@code limit} bytes (when below the server's): what an endpoint that reads
     * before it can authenticate ({@code /hooks}) takes, so a caller without a key is refused past it before the body
     * is read (when declared) or as soon as it passes it (when chunked).
     *
     * @param whose what sets the limit, for the 413's message: {@code "channel crm's limit"}
     */
    byte[] body(Exchange x, long limit, String whose) throws IOException {
        return limit < maxBodyBytes ? readBody(x, limit, whose) : readBody(x);
    }

    // ---- helpers ----

    /** The standing of the key {@code caller} came with, for a connection that outlives this request. */
    KeyStanding standing(Principal caller) { return new KeyStanding(auth, caller); }

    /** The caller, by its API key. */
    Principal authenticate(Exchange x) {
        return auth.authenticate(Credentials.apiKey(x::headerLines));
    }

    /** The caller, refused with 403 unless its key is an admin's. */
    Principal requireAdmin(Exchange x) {
        Principal p = authenticate(x);
        if (!p.isAdmin()) {
            throw new ApiException(ApiException.Kind.PERMISSION, "This endpoint needs an admin key; key " + p.keyPrefix()
                    + " belongs to a member.", null, "admin_required", null, false);
        }
        return p;
    }

    /**
     * Lets a scrape of {@code /metrics} through for the configured scrape token or an admin key, else refuses it (401
     * or 403): the metrics name teams, users' jobs and models, which is not for whoever can reach the port.
     */
    private void requireScraper(Exchange x) {
        if (metricsToken != null) {
            String presented = Credentials.apiKey(x::headerLines);
            if (presented != null && MessageDigest.isEqual(metricsToken, presented.getBytes(StandardCharsets.UTF_8))) return;
        }
        requireAdmin(x);
    }

    /** The body, with the server's limit. */
    private byte[] readBody(Exchange x) throws IOException {
        return readBody(x, maxBodyBytes, "the gateway's limit");
    }

    /** The body, refused with 415 unless it is JSON and with 413 past {@code limit}. */
    private byte[] readBody(Exchange x, long limit, String whose) throws IOException {
        String type = x.header("content-type");
        if (type != null && !isJson(type)) {
            throw new ApiException(ApiException.Kind.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json; got '"
                    + clip(type, 60) + "'.", null, "unsupported_media_type", null, false);
        }
        long declared = x.contentLength();
        if (declared > limit) throw tooLarge(limit, whose);
        try (InputStream in = x.body()) {
            if (declared >= 0) {
                // The usual case: read exactly what was declared, into one array of that size.
                byte[] body = in.readNBytes((int) declared);
                if (body.length < declared) throw truncated(declared, body.length);
                return body;
            }
            byte[] body = in.readNBytes((int) Math.min(limit + 1, Integer.MAX_VALUE - 8));
            if (body.length > limit) throw tooLarge(limit, whose);
            return body;
        } catch (IOException e) {
            // The framing broke mid-body (a bad chunk, the client closing early): the client's mistake, not ours.
            // The server closes the connection after this answer: the rest of the bytes cannot be trusted.
            throw ApiException.invalid(null, "The request body could not be read: " + clip(e.getMessage() == null
                    ? "it ended early" : e.getMessage(), 60) + ". Send Content-Length bytes, or well-formed chunks.");
        }
    }

    /** application/json or a +json type such as application/merge-patch+json, parameters aside. */
    private static boolean isJson(String contentType) {
        int semicolon = contentType.indexOf(';');
        String media = (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).strip().toLowerCase(Locale.ROOT);
        return media.equals("application/json") || media.startsWith("application/") && media.endsWith("+json");
    }

    private static ApiException truncated(long declared, int got) {
        return ApiException.invalid(null, "The request body ended after " + got + " of its declared " + declared
                + " bytes (Content-Length).");
    }

    private ApiException tooLarge(long limit, String whose) {
        return new ApiException(ApiException.Kind.TOO_LARGE, "Request body is larger than " + whose + " of "
                + limit + " bytes" + (limit == maxBodyBytes ? " (server.max_body_bytes)." : "."), null,
                "request_too_large", null, false);
    }

    /** A body that must be one JSON object, decimals kept exact; refused with 400 otherwise ({@link JsonFields#object}). */
    static JsonNode parseJsonObject(byte[] body) {
        return JsonFields.object(BODY, body);
    }

    /** A string field of a body, {@code fallback} when absent or null; refused with 400 when not a string. */
    static String text(JsonNode in, String field, String fallback) {
        JsonNode v = in.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isTextual()) throw ApiException.invalid(field, field + ": expected a string");
        return v.asText();
    }

    private WireFormat formatOf(Exchange x) {
        return x.hasHeader(ANTHROPIC_VERSION) || x.path().startsWith("/v1/messages") ? anthropic : openai;
    }

    private static void sendError(Exchange x, WireFormat format, ApiException e) throws IOException {
        x.status(format.status(e));
        if (e.retryAfter() != null) {
            long ms = Math.max(1, e.retryAfter().toMillis());
            x.header("retry-after", Long.toString((ms + 999) / 1000));
            x.header(RETRY_AFTER_MS, Long.toString(ms));
        }
        x.header(X_SHOULD_RETRY, Boolean.toString(e.retryable()));
        x.header("content-type", JSON_TYPE);
        x.send(format.renderError(e));
    }

    /** Answers with {@code body} as JSON: every {@code /api} route's success path. */
    static void sendJson(Exchange x, int status, JsonNode body) {
        x.status(status);
        x.header("content-type", JSON_TYPE);
        try {
            x.send(JSON.writeValueAsBytes(body));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

}
