package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.gateway.Call;
import dev.carapace.gateway.Gateway;
import dev.carapace.identity.Authenticator;
import dev.carapace.identity.KeyAdmin;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.Portfolio;
import dev.carapace.model.WireApi;
import dev.carapace.model.WireFormat;
import dev.carapace.store.ApiKeys.StoredKey;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Every HTTP route of Carapace, read top to bottom: the OpenAI- and Anthropic-compatible model API under
 * {@code /v1}, the native admin API under {@code /api}, health and metrics. The only class that knows Helidon.
 */
final class HttpApi {

    private static final Logger log = LoggerFactory.getLogger("carapace.access");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HeaderName X_API_KEY = HeaderNames.create("x-api-key");
    private static final HeaderName X_REQUEST_ID = HeaderNames.create("x-request-id");
    private static final HeaderName REQUEST_ID = HeaderNames.create("request-id");
    private static final HeaderName X_SHOULD_RETRY = HeaderNames.create("x-should-retry");
    private static final HeaderName RETRY_AFTER_MS = HeaderNames.create("retry-after-ms");
    private static final HeaderName X_SESSION_ID = HeaderNames.create("x-session-id");
    private static final HeaderName ANTHROPIC_VERSION = HeaderNames.create("anthropic-version");
    private static final HeaderName X_MODEL = HeaderNames.create("x-carapace-model");
    private static final HeaderName X_DEPLOYMENT = HeaderNames.create("x-carapace-deployment");
    private static final HeaderName X_DOWNGRADED = HeaderNames.create("x-carapace-downgraded-from");
    private static final String JSON_TYPE = "application/json";

    private final Gateway gateway;
    private final Authenticator auth;
    private final KeyAdmin keyAdmin;
    private final WireFormat openai;
    private final WireFormat anthropic;
    private final Metrics metrics;
    private final long maxBodyBytes;
    /** Random per process, so gateways sharing one PostgreSQL never hand out the same request id. */
    private final String idPrefix = "req_" + Long.toString(new java.security.SecureRandom().nextLong() & Long.MAX_VALUE, 36) + "_";
    private final AtomicLong ids = new AtomicLong();

    HttpApi(Gateway gateway, Authenticator auth, KeyAdmin keyAdmin, WireFormat openai, WireFormat anthropic,
            Metrics metrics, long maxBodyBytes) {
        this.gateway = gateway;
        this.auth = auth;
        this.keyAdmin = keyAdmin;
        this.openai = openai;
        this.anthropic = anthropic;
        this.metrics = metrics;
        this.maxBodyBytes = maxBodyBytes;
    }

    void routes(HttpRouting.Builder r) {
        r.post("/v1/chat/completions", (req, res) -> handle("chat", req, res, openai, x -> chat(req, res, openai, x)))
         .post("/v1/messages", (req, res) -> handle("messages", req, res, anthropic, x -> chat(req, res, anthropic, x)))
         .get("/v1/models", (req, res) -> handle("models", req, res, formatOf(req), x -> models(req, res)))
         .get("/v1/models/{id}", (req, res) -> handle("models", req, res, formatOf(req), x -> model(req, res)))
         .get("/api/me", (req, res) -> handle("api", req, res, openai, x -> me(req, res)))
         .get("/api/keys", (req, res) -> handle("api", req, res, openai, x -> listKeys(req, res)))
         .post("/api/keys", (req, res) -> handle("api", req, res, openai, x -> createKey(req, res)))
         .delete("/api/keys/{prefix}", (req, res) -> handle("api", req, res, openai, x -> revokeKey(req, res)))
         .get("/healthz", (req, res) -> sendJson(res, 200, JSON.createObjectNode().put("status", "ok")))
         .get("/metrics", (req, res) -> {
             res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
             res.send(metrics.scrape().getBytes(StandardCharsets.UTF_8));
         })
         .any((req, res) -> handle("unknown", req, res, formatOf(req), x -> {
             throw new ApiException(ApiException.Kind.NOT_FOUND, "Unknown endpoint: " + req.prologue().method().text()
                     + " " + clip(req.path().path()) + ". Model endpoints: POST /v1/chat/completions, POST /v1/messages,"
                     + " GET /v1/models.", null, "unknown_endpoint", null, false);
         }))
         .error(Throwable.class, (req, res, t) -> {
             log.error("unexpected failure on {} {}", req.prologue().method().text(), req.path().path(), t);
             if (!res.isSent()) {
                 sendError(res, formatOf(req), ApiException.of(ApiException.Kind.INTERNAL, "internal_error",
                         "Carapace failed to handle this request (request id " + res.headers().first(X_REQUEST_ID).orElse("?")
                         + "); the error is in the gateway's log."));
             }
         });
    }

    @FunctionalInterface
    private interface Action {
        void run(Exchange exchange) throws IOException;
    }

    /** Per-request notes for the access log: the model call, when the route made one. */
    private static final class Exchange {
        Call call;
    }

    /** Common frame of every API route: a request id, errors in the route's API shape, an access log line. */
    private void handle(String route, ServerRequest req, ServerResponse res, WireFormat format, Action action) throws IOException {
        long t0 = System.nanoTime();
        String id = idPrefix + Long.toString(ids.incrementAndGet(), 36);
        res.header(X_REQUEST_ID, id);
        if (format == anthropic) res.header(REQUEST_ID, id);
        MDC.put("request_id", id);
        Exchange exchange = new Exchange();
        try {
            action.run(exchange);
        } catch (ApiException e) {
            if (!res.isSent()) sendError(res, format, e);
        } finally {
            int status = res.status().code();
            long micros = (System.nanoTime() - t0) / 1000;
            metrics.httpRequest(route, status, micros * 1000);
            Call call = exchange.call;
            if (log.isInfoEnabled()) {
                if (call == null) {
                    log.info("{} {} {} {}us", req.prologue().method().text(), req.path().path(), status, micros);
                } else {
                    var u = call.usage();
                    log.info("{} {} {} {}us team={} user={} model={} deployment={} attempts={} tokens_in={} tokens_out={}{}",
                            req.prologue().method().text(), req.path().path(), status, micros,
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

    private void chat(ServerRequest req, ServerResponse res, WireFormat format, Exchange exchange) throws IOException {
        Principal principal = authenticate(req);
        byte[] body = readBody(req);
        ChatRequest request = format.parseRequest(body);
        String affinity = req.headers().first(X_SESSION_ID).orElse(request.user());
        Call call = new Call(res.headers().first(X_REQUEST_ID).orElseThrow(), principal, format.api(), request, affinity);
        exchange.call = call;
        if (!request.stream()) {
            ChatResponse answer = gateway.complete(call);
            res.header(X_MODEL, call.model().id());
            res.header(X_DEPLOYMENT, call.deployment().id());
            if (call.downgradedFrom() != null) res.header(X_DOWNGRADED, call.downgradedFrom());
            res.header(HeaderNames.CONTENT_TYPE, JSON_TYPE);
            res.send(format.renderResponse(answer));
            return;
        }
        SseResponse sse = new SseResponse(res, call, format);
        try {
            gateway.stream(call, sse::send);
        } catch (ApiException e) {
            if (!sse.started()) throw e;
            sse.fail(e);
            return;
        }
        sse.end();
    }

    /** A streamed answer: headers go out with the first event, so failover stays possible until then. */
    private static final class SseResponse {
        private final ServerResponse res;
        private final Call call;
        private final WireFormat format;
        private WireFormat.StreamEncoder encoder;
        private OutputStream out;

        SseResponse(ServerResponse res, Call call, WireFormat format) {
            this.res = res;
            this.call = call;
            this.format = format;
        }

        boolean started() { return out != null; }

        void send(dev.carapace.model.StreamEvent event) {
            try {
                if (out == null) {
                    res.status(200);
                    res.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
                    res.header(HeaderNames.CACHE_CONTROL, "no-cache");
                    res.header(X_MODEL, call.model().id());
                    res.header(X_DEPLOYMENT, call.deployment().id());
                    if (call.downgradedFrom() != null) res.header(X_DOWNGRADED, call.downgradedFrom());
                    encoder = format.streamEncoder(call.request(), call.model().id());
                    out = res.outputStream();
                }
                byte[] bytes = encoder.encode(event);
                if (bytes.length > 0) {
                    out.write(bytes);
                    out.flush();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void end() {
            if (out == null || call.status() == 499) return;
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

    private void models(ServerRequest req, ServerResponse res) {
        Principal p = authenticate(req);
        var visible = gateway.portfolio().visible(gateway.access(p.team()));
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        boolean anthropicShape = req.headers().contains(ANTHROPIC_VERSION);
        for (Portfolio.Entry e : visible) data.add(modelJson(e, anthropicShape));
        if (anthropicShape) {
            body.put("has_more", false);
            body.put("first_id", visible.isEmpty() ? null : visible.get(0).id());
            body.put("last_id", visible.isEmpty() ? null : visible.get(visible.size() - 1).id());
        } else {
            body.put("object", "list");
        }
        sendJson(res, 200, body);
    }

    private void model(ServerRequest req, ServerResponse res) {
        Principal p = authenticate(req);
        String id = req.path().pathParameters().get("id");
        Portfolio.Entry e = gateway.portfolio().resolve(id, gateway.access(p.team()), "Team '" + p.team() + "'");
        sendJson(res, 200, modelJson(e, req.headers().contains(ANTHROPIC_VERSION)));
    }

    private static ObjectNode modelJson(Portfolio.Entry e, boolean anthropicShape) {
        ObjectNode m = JSON.createObjectNode();
        if (anthropicShape) {
            m.put("type", "model").put("id", e.id()).put("display_name", e.id()).put("created_at", "1970-01-01T00:00:00Z");
        } else {
            m.put("id", e.id()).put("object", "model").put("created", 0).put("owned_by", "carapace");
        }
        m.put("tier", e.tier());
        m.put("context_window", e.spec().contextWindow());
        m.put("max_output_tokens", e.spec().maxOutputTokens());
        m.put("privacy", e.spec().privacy().name().toLowerCase(Locale.ROOT));
        return m;
    }

    // ---- /api: the native API ----

    private void me(ServerRequest req, ServerResponse res) {
        Principal p = authenticate(req);
        sendJson(res, 200, JSON.createObjectNode().put("org", p.org()).put("team", p.team()).put("user", p.user())
                .put("role", p.role().name().toLowerCase(Locale.ROOT)).put("key_prefix", p.keyPrefix()));
    }

    private void listKeys(ServerRequest req, ServerResponse res) {
        requireAdmin(req);
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        for (StoredKey k : keyAdmin.list()) data.add(keyJson(k));
        sendJson(res, 200, body);
    }

    private void createKey(ServerRequest req, ServerResponse res) throws IOException {
        requireAdmin(req);
        JsonNode in = parseJsonObject(readBody(req));
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
        sendJson(res, 201, body);
    }

    private void revokeKey(ServerRequest req, ServerResponse res) {
        requireAdmin(req);
        String prefix = req.path().pathParameters().get("prefix");
        if (!keyAdmin.revoke(prefix)) {
            throw new ApiException(ApiException.Kind.NOT_FOUND, "No active key has prefix '" + clip(prefix) + "'.",
                    "prefix", "key_not_found", null, false);
        }
        auth.forget(prefix);
        sendJson(res, 200, JSON.createObjectNode().put("prefix", prefix).put("revoked", true));
    }

    private static ObjectNode keyJson(StoredKey k) {
        return JSON.createObjectNode().put("prefix", k.prefix()).put("user", k.user()).put("team", k.team())
                .put("role", k.role()).put("name", k.name()).put("created_at", k.createdAt().toString())
                .put("revoked_at", k.revokedAt() == null ? null : k.revokedAt().toString());
    }

    // ---- helpers ----

    private Principal authenticate(ServerRequest req) {
        var h = req.headers();
        String key = h.first(X_API_KEY).orElse(null);
        if (key == null) {
            String authz = h.first(HeaderNames.AUTHORIZATION).orElse(null);
            if (authz != null) {
                if (!authz.regionMatches(true, 0, "Bearer ", 0, 7)) {
                    throw new ApiException(ApiException.Kind.AUTHENTICATION,
                            "The Authorization header must be 'Bearer KEY'.", null, "invalid_api_key", null, false);
                }
                key = authz.substring(7);
            }
        }
        return auth.authenticate(key);
    }

    private Principal requireAdmin(ServerRequest req) {
        Principal p = authenticate(req);
        if (!p.isAdmin()) {
            throw new ApiException(ApiException.Kind.PERMISSION, "This endpoint needs an admin key; key " + p.keyPrefix()
                    + " belongs to a member.", null, "admin_required", null, false);
        }
        return p;
    }

    /** The body, refused with 415 unless it is JSON and with 413 past the size limit. */
    private byte[] readBody(ServerRequest req) throws IOException {
        String type = req.headers().first(HeaderNames.CONTENT_TYPE).orElse(null);
        if (type != null && !type.toLowerCase(Locale.ROOT).contains("json")) {
            throw new ApiException(ApiException.Kind.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json; got '"
                    + clip(type) + "'.", null, "unsupported_media_type", null, false);
        }
        long declared = req.headers().contentLength().orElse(-1);
        if (declared > maxBodyBytes) throw tooLarge();
        try (InputStream in = req.content().inputStream()) {
            byte[] body = in.readNBytes((int) Math.min(maxBodyBytes + 1, Integer.MAX_VALUE - 8));
            if (body.length > maxBodyBytes) throw tooLarge();
            return body;
        }
    }

    private ApiException tooLarge() {
        return new ApiException(ApiException.Kind.TOO_LARGE, "Request body is larger than the gateway's limit of "
                + maxBodyBytes + " bytes (server.max_body_bytes).", null, "request_too_large", null, false);
    }

    private static JsonNode parseJsonObject(byte[] body) {
        try {
            JsonNode n = JSON.readTree(body);
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

    private WireFormat formatOf(ServerRequest req) {
        return req.headers().contains(ANTHROPIC_VERSION) || req.path().path().startsWith("/v1/messages") ? anthropic : openai;
    }

    private static void sendError(ServerResponse res, WireFormat format, ApiException e) {
        res.status(format.status(e));
        if (e.retryAfter() != null) {
            long ms = Math.max(1, e.retryAfter().toMillis());
            res.header(HeaderNames.RETRY_AFTER, Long.toString((ms + 999) / 1000));
            res.header(RETRY_AFTER_MS, Long.toString(ms));
        }
        res.header(X_SHOULD_RETRY, Boolean.toString(e.retryable()));
        res.header(HeaderNames.CONTENT_TYPE, JSON_TYPE);
        res.send(format.renderError(e));
    }

    private static void sendJson(ServerResponse res, int status, JsonNode body) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, JSON_TYPE);
        try {
            res.send(JSON.writeValueAsBytes(body));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String clip(String s) {
        if (s == null) return "";
        return s.length() <= 60 ? s : s.substring(0, 60) + "...";
    }
}
