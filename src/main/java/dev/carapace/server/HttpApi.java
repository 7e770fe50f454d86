package dev.carapace.server;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.gateway.Call;
import dev.carapace.gateway.Gateway;
import dev.carapace.gateway.Operation;
import dev.carapace.identity.Authenticator;
import dev.carapace.identity.KeyAdmin;
import dev.carapace.identity.Principal;
import dev.carapace.ledger.Budget;
import dev.carapace.ledger.Budgets;
import dev.carapace.ledger.Money;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.EmbeddingRequest;
import dev.carapace.model.WireApi;
import dev.carapace.model.anthropic.AnthropicFormat;
import dev.carapace.model.openai.OpenAiEmbeddings;
import dev.carapace.model.Provider;
import dev.carapace.model.Portfolio;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;
import dev.carapace.model.WireFormat;
import dev.carapace.store.ApiKeys.StoredKey;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.store.LedgerTables.SpendRow;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.LedgerTables.WindowRow;
import dev.carapace.server.http.BadRequest;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Every HTTP route of Carapace, read top to bottom: the OpenAI- and Anthropic-compatible model API under
 * {@code /v1}, the native admin API under {@code /api}, health and metrics.
 * Routes see an {@link Exchange}; the HTTP server itself is {@code dev.carapace.server.http}'s.
 */
final class HttpApi {

    private static final Logger log = LoggerFactory.getLogger("carapace.access");
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Reads request bodies keeping decimals exact: 0.1 stays 0.1, never the nearest double. */
    private static final ObjectReader BODY = JSON.reader().with(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    private static final String X_REQUEST_ID = "x-request-id";
    private static final String REQUEST_ID = "request-id";
    private static final String X_SHOULD_RETRY = "x-should-retry";
    private static final String RETRY_AFTER_MS = "retry-after-ms";
    private static final String X_SESSION_ID = "x-session-id";
    private static final String ANTHROPIC_VERSION = "anthropic-version";
    private static final String X_MODEL = "x-carapace-model";
    private static final String X_DEPLOYMENT = "x-carapace-deployment";
    private static final String X_DOWNGRADED = "x-carapace-downgraded-from";
    private static final String JSON_TYPE = "application/json";
    private static final int MAX_RELAYED_HEADER = 2048;

    private final Gateway gateway;
    private final Authenticator auth;
    private final KeyAdmin keyAdmin;
    private final Budgets budgets;
    private final LedgerBook book;
    private final Clock clock;
    private final WireFormat openai;
    private final WireFormat anthropic;
    private final Metrics metrics;
    private final long maxBodyBytes;
    /** Random per process, so gateways sharing one PostgreSQL never hand out the same request id. */
    private final String idPrefix = "req_" + Long.toString(new java.security.SecureRandom().nextLong() & Long.MAX_VALUE, 36) + "_";
    private final AtomicLong ids = new AtomicLong();

    /** Whether the store is still the one opened: healthz and model calls answer 503 once it is not. */
    private final StoreWatch storeWatch;

    HttpApi(Gateway gateway, Authenticator auth, KeyAdmin keyAdmin, Budgets budgets, LedgerBook book, Clock clock,
            WireFormat openai, WireFormat anthropic, Metrics metrics, long maxBodyBytes, StoreWatch storeWatch) {
        this.storeWatch = storeWatch;
        this.gateway = gateway;
        this.auth = auth;
        this.keyAdmin = keyAdmin;
        this.budgets = budgets;
        this.book = book;
        this.clock = clock;
        this.openai = openai;
        this.anthropic = anthropic;
        this.metrics = metrics;
        this.maxBodyBytes = maxBodyBytes;
    }

    void routes(Routes r) {
        r.post("/v1/chat/completions", x -> handle("chat", x, openai, note -> chat(x, openai, note)))
         .post("/v1/messages", x -> handle("messages", x, anthropic, note -> chat(x, anthropic, note)))
         .post("/v1/messages/count_tokens", x -> handle("count_tokens", x, anthropic, note -> countTokens(x, note)))
         .post("/v1/embeddings", x -> handle("embeddings", x, openai, note -> embeddings(x, note)))
         .get("/v1/models", x -> handle("models", x, formatOf(x), note -> models(x)))
         .get("/v1/models/{id}", x -> handle("models", x, formatOf(x), note -> model(x)))
         .get("/api/me", x -> handle("api", x, openai, note -> me(x)))
         .get("/api/keys", x -> handle("api", x, openai, note -> listKeys(x)))
         .post("/api/keys", x -> handle("api", x, openai, note -> createKey(x)))
         .delete("/api/keys/{prefix}", x -> handle("api", x, openai, note -> revokeKey(x)))
         .get("/api/budgets", x -> handle("api", x, openai, note -> listBudgets(x)))
         .get("/api/budgets/{id}", x -> handle("api", x, openai, note -> getBudget(x)))
         .put("/api/budgets/{id}", x -> handle("api", x, openai, note -> putBudget(x)))
         .delete("/api/budgets/{id}", x -> handle("api", x, openai, note -> deleteBudget(x)))
         .get("/api/spend", x -> handle("api", x, openai, note -> spend(x)))
         // Outside the frame, as before: a load balancer's probe every few seconds is no access-log line.
         .get("/healthz", x -> {
             String problem = storeWatch.check();
             if (problem == null) {
                 sendJson(x, 200, JSON.createObjectNode().put("status", "ok"));
             } else {
                 sendJson(x, 503, JSON.createObjectNode().put("status", "unavailable").put("reason", problem));
             }
         })
         .get("/metrics", x -> {
             x.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
             x.send(metrics.scrape().getBytes(StandardCharsets.UTF_8));
         })
         .otherwise(x -> handle("unknown", x, formatOf(x), note -> {
             throw new ApiException(ApiException.Kind.NOT_FOUND, "Unknown endpoint: " + clip(x.method())
                     + " " + clip(x.rawPath()) + ". Model endpoints: POST /v1/chat/completions, POST /v1/messages,"
                     + " POST /v1/messages/count_tokens, POST /v1/responses, POST /v1/embeddings, GET /v1/models.", null,
                     "unknown_endpoint", null, false);
         }));
    }

    /**
     * Bodies for the errors the HTTP layer answers before any route (malformed framing, a URI or headers too long,
     * an unknown HTTP version), in the shape of the API the request was for: Anthropic's for {@code /v1/messages}
     * or a request with {@code anthropic-version}, OpenAI's for everything else.
     */
    byte[] errorBody(int status, String message, String path, java.util.function.Function<String, String> header) {
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
        } catch (RuntimeException e) {
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
            if (log.isInfoEnabled()) {
                if (call == null) {
                    log.info("{} {} {} {}us", x.method(), x.rawPath(), status, micros);
                } else {
                    var u = call.usage();
                    log.info("{} {} {} {}us team={} user={} model={} deployment={} attempts={} tokens_in={} tokens_out={}{}",
                            x.method(), x.rawPath(), status, micros,
                            call.principal().team(), call.principal().user(),
                            call.model() == null ? call.request().model() : call.model().id(),
                            call.deployment() == null ? "-" : call.deployment().id(), call.attempts(),
                            u.inputTokens(), u.outputTokens(), u.estimated() ? " estimated" : "");
                }
            }
            MDC.remove("request_id");
        }
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

    private void models(Exchange x) {
        Principal p = authenticate(x);
        var visible = gateway.portfolio().visible(gateway.access(p.team()));
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        boolean anthropicShape = x.hasHeader(ANTHROPIC_VERSION);
        for (Portfolio.Entry e : visible) data.add(modelJson(e, anthropicShape));
        if (anthropicShape) {
            body.put("has_more", false);
            body.put("first_id", visible.isEmpty() ? null : visible.get(0).id());
            body.put("last_id", visible.isEmpty() ? null : visible.get(visible.size() - 1).id());
        } else {
            body.put("object", "list");
        }
        sendJson(x, 200, body);
    }

    private void model(Exchange x) {
        Principal p = authenticate(x);
        String id = x.pathParam("id");
        Portfolio.Entry e = gateway.portfolio().resolve(id, gateway.access(p.team()), "Team '" + p.team() + "'");
        sendJson(x, 200, modelJson(e, x.hasHeader(ANTHROPIC_VERSION)));
    }

    private static ObjectNode modelJson(Portfolio.Entry e, boolean anthropicShape) {
        ObjectNode m = JSON.createObjectNode();
        if (anthropicShape) {
            m.put("type", "model").put("id", e.id()).put("display_name", e.id()).put("created_at", "1970-01-01T00:00:00Z");
        } else {
            m.put("id", e.id()).put("object", "model").put("created", 0).put("owned_by", "carapace");
        }
        m.put("tier", e.tier());
        m.put("kind", e.spec().kind().label());
        m.put("context_window", e.spec().contextWindow());
        m.put("max_output_tokens", e.spec().maxOutputTokens());
        m.put("privacy", e.spec().privacy().name().toLowerCase(Locale.ROOT));
        return m;
    }

    // ---- /api: the native API ----

    private void me(Exchange x) {
        Principal p = authenticate(x);
        sendJson(x, 200, JSON.createObjectNode().put("org", p.org()).put("team", p.team()).put("user", p.user())
                .put("role", p.role().name().toLowerCase(Locale.ROOT)).put("key_prefix", p.keyPrefix()));
    }

    private void listKeys(Exchange x) {
        requireAdmin(x);
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        for (StoredKey k : keyAdmin.list()) data.add(keyJson(k));
        sendJson(x, 200, body);
    }

    private void createKey(Exchange x) throws IOException {
        requireAdmin(x);
        JsonNode in = parseJsonObject(readBody(x));
        for (var it = in.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!java.util.Set.of("user", "team", "role", "name").contains(f)) {
                throw ApiException.invalid(f, f + ": unknown field (expected user, team, role, name)");
            }
        }
        String roleText = text(in, "role", "member");
        Principal.Role role = switch (roleText) {
            case "admin" -> Principal.Role.ADMIN;
            case "member" -> Principal.Role.MEMBER;
            default -> throw ApiException.invalid("role", "role: expected 'admin' or 'member'; got '" + clip(roleText) + "'");
        };
        KeyAdmin.Created created = keyAdmin.create(text(in, "user", null), text(in, "team", null), role, text(in, "name", null));
        ObjectNode body = keyJson(created.key());
        body.put("key", created.secret());
        sendJson(x, 201, body);
    }

    private void revokeKey(Exchange x) {
        requireAdmin(x);
        String prefix = x.pathParam("prefix");
        if (!keyAdmin.revoke(prefix)) {
            throw new ApiException(ApiException.Kind.NOT_FOUND, "No active key has prefix '" + clip(prefix) + "'.",
                    "prefix", "key_not_found", null, false);
        }
        auth.forget(prefix);
        sendJson(x, 200, JSON.createObjectNode().put("prefix", prefix).put("revoked", true));
    }

    private static ObjectNode keyJson(StoredKey k) {
        return JSON.createObjectNode().put("prefix", k.prefix()).put("user", k.user()).put("team", k.team())
                .put("role", k.role()).put("name", k.name()).put("created_at", k.createdAt().toString())
                .put("revoked_at", k.revokedAt() == null ? null : k.revokedAt().toString());
    }

    // ---- /api/budgets and /api/spend: the ledger ----

    private void listBudgets(Exchange x) {
        Principal p = authenticate(x);
        Instant now = clock.instant();
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        for (Budget b : budgets.list()) {
            if (visible(p, b.id())) data.add(BudgetView.of(b, book, now).json());
        }
        sendJson(x, 200, body);
    }

    private void getBudget(Exchange x) {
        Principal p = authenticate(x);
        String id = x.pathParam("id");
        if (!visible(p, id)) throw noBudget(id);   // the same answer as for a budget that does not exist
        sendJson(x, 200, BudgetView.of(budgets.get(id), book, clock.instant()).json());
    }

    private void putBudget(Exchange x) throws IOException {
        requireAdmin(x);
        String id = x.pathParam("id");
        int colon = id.indexOf(':');
        if (colon <= 0 || colon == id.length() - 1) {
            throw ApiException.invalid("id", "id: expected SCOPE:NAME, e.g. team:platform, user:alice, org:"
                    + "ORG or agent:NAME; got '" + clip(id) + "'");
        }
        JsonNode in = parseJsonObject(readBody(x));
        for (var it = in.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!Set.of("amount", "tokens", "period", "time_zone", "currency", "soft", "tiers").contains(f)) {
                throw ApiException.invalid(f, f + ": unknown field (expected amount, tokens, period, time_zone, currency,"
                        + " soft, tiers; the scope and subject come from the URL)");
            }
        }
        Budgets.Request r = new Budgets.Request(id.substring(0, colon), id.substring(colon + 1), amount(in), tokens(in),
                text(in, "period", null), text(in, "time_zone", null), text(in, "currency", null), soft(in), tierRules(in));
        Budget b;
        try {
            b = budgets.set(r);
        } catch (ApiException e) {
            if (!"scope".equals(e.param()) && !"subject".equals(e.param())) throw e;
            throw ApiException.invalid("id", "id: " + e.getMessage());   // scope and subject were read from the id
        }
        sendJson(x, 200, BudgetView.of(b, book, clock.instant()).json());
    }

    private void deleteBudget(Exchange x) {
        requireAdmin(x);
        String id = x.pathParam("id");
        if (!budgets.delete(id)) throw noBudget(id);
        sendJson(x, 200, JSON.createObjectNode().put("id", id).put("deleted", true));
    }

    /** Admins see every budget; members the budgets their own calls are held to: their user's, team's and org's. */
    private static boolean visible(Principal p, String id) {
        return p.isAdmin() || id.equals(Budget.id(Budget.Scope.USER, p.user()))
                || id.equals(Budget.id(Budget.Scope.TEAM, p.team())) || id.equals(Budget.id(Budget.Scope.ORG, p.org()));
    }

    /** Worded like {@link Budgets#get}'s refusal, so a member cannot tell a hidden budget from a missing one. */
    private static ApiException noBudget(String id) {
        return new ApiException(ApiException.Kind.NOT_FOUND, "No budget '" + clip(id) + "'. Budgets are named SCOPE:NAME,"
                + " e.g. team:platform.", "id", "budget_not_found", null, false);
    }

    /** "500.00" or 500.00: kept exact. */
    private static BigDecimal amount(JsonNode in) {
        JsonNode v = in.get("amount");
        if (v == null || v.isNull()) return null;
        if (v.isNumber()) return v.decimalValue();
        if (v.isTextual()) {
            try {
                return new BigDecimal(v.asText().strip());
            } catch (NumberFormatException e) {
                // below
            }
        }
        throw ApiException.invalid("amount", "amount: expected a decimal such as \"500.00\" or 500; got " + clip(v.toString()));
    }

    private static Long tokens(JsonNode in) {
        JsonNode v = in.get("tokens");
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw ApiException.invalid("tokens", "tokens: expected a whole number of tokens; got " + clip(v.toString()));
        }
        return v.longValue();
    }

    /** [50, 80, 90] or "50,80,90"; the percentages themselves are checked by {@link Budgets#set}. */
    private static String soft(JsonNode in) {
        JsonNode v = in.get("soft");
        if (v == null || v.isNull()) return null;
        if (v.isTextual()) return v.asText();
        if (!v.isArray()) throw ApiException.invalid("soft", "soft: expected percentages such as [50, 80, 90] or \"50,80,90\"");
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isIntegralNumber() || !v.get(i).canConvertToInt()) {
                throw ApiException.invalid("soft", "soft[" + i + "]: expected a whole percentage; got " + clip(v.get(i).toString()));
            }
            parts.add(Integer.toString(v.get(i).intValue()));
        }
        return String.join(",", parts);
    }

    /** {"ultra": "0", "free": "exempt"}; caps may also be numbers. */
    private static Map<String, String> tierRules(JsonNode in) {
        JsonNode v = in.get("tiers");
        if (v == null || v.isNull()) return null;
        if (!v.isObject()) throw ApiException.invalid("tiers", "tiers: expected an object such as {\"ultra\": \"0\", \"free\": \"exempt\"}");
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (var it = v.fields(); it.hasNext(); ) {
            var e = it.next();
            JsonNode rule = e.getValue();
            if (rule.isNumber()) out.put(e.getKey(), rule.decimalValue().toPlainString());
            else if (rule.isTextual()) out.put(e.getKey(), rule.asText());
            else throw ApiException.invalid("tiers", "tiers." + clip(e.getKey()) + ": expected an amount (0 forbids the tier) or 'exempt'; got "
                    + clip(rule.toString()));
        }
        return out;
    }

    private void spend(Exchange x) {
        Principal p = authenticate(x);
        for (String name : x.queryNames()) {
            if (!Set.of("by", "since", "until").contains(name)) {
                throw ApiException.invalid(name, name + ": unknown parameter (expected by, since, until)");
            }
        }
        String by = x.query("by");
        if (by == null || !SPEND_DIMENSIONS.contains(by)) {
            throw ApiException.invalid("by", "by: expected one of team, user, agent, model, tier; got '" + clip(by) + "'");
        }
        LocalDate today = LocalDate.now(clock.withZone(ZoneOffset.UTC));
        LocalDate since = date("since", x.query("since"), today.withDayOfMonth(1));
        LocalDate until = date("until", x.query("until"), today);
        if (since.isAfter(until)) throw ApiException.invalid("since", "since: " + since + " is after until (" + until + ")");
        String user = p.isAdmin() ? null : p.user();
        sendJson(x, 200, spendJson(by, since, until, user, book.spend(by, since, until, user)));
    }

    static final List<String> SPEND_DIMENSIONS = List.of("team", "user", "agent", "model", "tier");

    private static LocalDate date(String param, String value, LocalDate fallback) {
        if (value == null) return fallback;
        try {
            return LocalDate.parse(value);
        } catch (DateTimeParseException e) {
            throw ApiException.invalid(param, param + ": expected a date YYYY-MM-DD (UTC); got '" + clip(value) + "'");
        }
    }

    /** A spend report: money as exact decimal strings of USD, tokens as integers. Days are UTC. */
    static ObjectNode spendJson(String by, LocalDate since, LocalDate until, String user, List<SpendRow> rows) {
        ObjectNode body = JSON.createObjectNode().put("by", by).put("since", since.toString()).put("until", until.toString())
                .put("user", user);
        ArrayNode data = body.putArray("data");
        for (SpendRow r : rows) spendFields(data.addObject().put(by, r.key().isEmpty() ? null : r.key()), r);
        spendFields(body.putObject("total"), spendTotal(rows));
        return body;
    }

    /** The sum of a report's rows. */
    static SpendRow spendTotal(List<SpendRow> rows) {
        long requests = 0, unserved = 0, in = 0, cached = 0, out = 0, reasoning = 0, cost = 0;
        for (SpendRow r : rows) {
            requests += r.requests();
            unserved += r.unserved();
            in += r.inputTokens();
            cached += r.cachedInputTokens();
            out += r.outputTokens();
            reasoning += r.reasoningTokens();
            cost += r.costNanos();
        }
        return new SpendRow("TOTAL", requests, unserved, in, cached, out, reasoning, cost);
    }

    private static void spendFields(ObjectNode n, SpendRow r) {
        n.put("requests", r.requests()).put("unserved", r.unserved()).put("input_tokens", r.inputTokens())
                .put("cached_input_tokens", r.cachedInputTokens()).put("output_tokens", r.outputTokens())
                .put("reasoning_tokens", r.reasoningTokens()).put("cost_usd", Money.amount(r.costNanos()).toPlainString());
    }

    /** A budget and its current window (what it has spent and holds for calls in flight), as the CLI and API show it. */
    record BudgetView(Budget budget, Instant windowStart, Instant resetsAt, WindowRow window) {

        static BudgetView of(Budget b, LedgerBook book, Instant now) {
            Instant start = b.period().start(now, b.zone());
            WindowKey key = new WindowKey(b.id(), start.toEpochMilli(), "*");
            return new BudgetView(b, start, b.period().reset(now, b.zone()), book.window(key).orElse(new WindowRow(key, 0, 0, 0, 0)));
        }

        /** How much of its limit the window has spent (the larger of money and tokens), e.g. 12.5. */
        BigDecimal percent() {
            BigDecimal money = percent(window.spentNanos(), budget.limitNanos());
            BigDecimal tokens = percent(window.spentTokens(), budget.limitTokens());
            if (money == null) return tokens;
            return tokens == null ? money : money.max(tokens);
        }

        private static BigDecimal percent(long spent, Long limit) {
            if (limit == null) return null;
            if (limit == 0) return new BigDecimal("100.00");   // nothing may be spent: the budget is used up
            return BigDecimal.valueOf(spent).multiply(BigDecimal.valueOf(100)).divide(BigDecimal.valueOf(limit), 2, RoundingMode.HALF_UP);
        }

        ObjectNode json() {
            Budget b = budget;
            ObjectNode n = JSON.createObjectNode().put("id", b.id()).put("scope", b.scope().name().toLowerCase(Locale.ROOT))
                    .put("subject", b.subject()).put("period", b.period().label()).put("time_zone", b.zone().getId())
                    .put("currency", b.currency())
                    .put("amount", b.limitNanos() == null ? null : Money.amount(b.limitNanos()).toPlainString())
                    .put("tokens", b.limitTokens());
            ArrayNode soft = n.putArray("soft");
            b.softPercents().forEach(soft::add);
            ObjectNode tiers = n.putObject("tiers");
            new TreeMap<>(b.tiers()).forEach((t, r) -> tiers.put(t, r.exempt() ? "exempt" : Money.amount(r.capNanos()).toPlainString()));
            n.putObject("current").put("window_start", windowStart.toString())
                    .put("resets_at", resetsAt == null ? null : resetsAt.toString())
                    .put("spent", Money.amount(window.spentNanos()).toPlainString())
                    .put("reserved", Money.amount(window.reservedNanos()).toPlainString())
                    .put("spent_tokens", window.spentTokens()).put("reserved_tokens", window.reservedTokens())
                    .put("percent", percent());
            return n;
        }
    }

    // ---- for routes defined in other classes of this package (AgentApi) ----

    /** A route's work, framed by {@link #handle}. */
    @FunctionalInterface
    interface ApiRoute {
        void run() throws IOException;
    }

    /** {@link #handle}'s frame for a route of another class: request id, the /api error shape, metrics, the access log. */
    void handleApi(String route, Exchange x, ApiRoute action) throws IOException {
        handle(route, x, openai, note -> action.run());
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

    // ---- helpers ----

    private Principal authenticate(Exchange x) {
        return auth.authenticate(Credentials.apiKey(x::header));
    }

    private Principal requireAdmin(Exchange x) {
        Principal p = authenticate(x);
        if (!p.isAdmin()) {
            throw new ApiException(ApiException.Kind.PERMISSION, "This endpoint needs an admin key; key " + p.keyPrefix()
                    + " belongs to a member.", null, "admin_required", null, false);
        }
        return p;
    }

    /** The body, refused with 415 unless it is JSON and with 413 past the size limit. */
    private byte[] readBody(Exchange x) throws IOException {
        String type = x.header("content-type");
        if (type != null && !type.toLowerCase(Locale.ROOT).contains("json")) {
            throw new ApiException(ApiException.Kind.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json; got '"
                    + clip(type) + "'.", null, "unsupported_media_type", null, false);
        }
        long declared = x.contentLength();
        if (declared > maxBodyBytes) throw tooLarge();
        try (InputStream in = x.body()) {
            if (declared >= 0) {
                // The usual case: read exactly what was declared, into one array of that size.
                byte[] body = in.readNBytes((int) declared);
                if (body.length < declared) throw truncated(declared, body.length);
                return body;
            }
            byte[] body = in.readNBytes((int) Math.min(maxBodyBytes + 1, Integer.MAX_VALUE - 8));
            if (body.length > maxBodyBytes) throw tooLarge();
            return body;
        } catch (IOException e) {
            // The framing broke mid-body (a bad chunk, the client closing early): the client's mistake, not ours.
            // The server closes the connection after this answer: the rest of the bytes cannot be trusted.
            throw ApiException.invalid(null, "The request body could not be read: " + clip(e.getMessage() == null
                    ? "it ended early" : e.getMessage()) + ". Send Content-Length bytes, or well-formed chunks.");
        }
    }

    private static ApiException truncated(long declared, int got) {
        return ApiException.invalid(null, "The request body ended after " + got + " of its declared " + declared
                + " bytes (Content-Length).");
    }

    private ApiException tooLarge() {
        return new ApiException(ApiException.Kind.TOO_LARGE, "Request body is larger than the gateway's limit of "
                + maxBodyBytes + " bytes (server.max_body_bytes).", null, "request_too_large", null, false);
    }

    private static JsonNode parseJsonObject(byte[] body) {
        try {
            JsonNode n = BODY.readTree(body);
            if (n == null || !n.isObject()) throw ApiException.invalid(null, "Request body must be a JSON object.");
            return n;
        } catch (IOException e) {
            throw ApiException.invalid(null, "Request body is not valid JSON.");
        }
    }

    private static String text(JsonNode in, String field, String fallback) {
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

    private static String clip(String s) {
        if (s == null) return "";
        return s.length() <= 60 ? s : s.substring(0, 60) + "...";
    }
}
