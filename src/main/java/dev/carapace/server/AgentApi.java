package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.RunEvent;
import dev.carapace.agent.RunEvents;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.TranscriptEntry;
import dev.carapace.identity.Authenticator;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Set;

/**
 * The agent routes of the native API: agents, runs, sessions, and their live events over SSE. Framed like every
 * {@code /api} route by {@link HttpApi#handleApi} (request id, error shape, access log); who may touch what is
 * {@link AgentAccess}'s call. The WebSocket lives in {@link AgentSocket}.
 */
final class AgentApi {

    private static final String DEFAULT_SESSION = "main";
    /** How long {@code ?wait=true} and a cancel wait for the run's end before answering with where it is. */
    private static final Duration CANCEL_WAIT = Duration.ofSeconds(5);

    private final HttpApi api;
    private final AgentRuntime runtime;
    private final Authenticator auth;
    private final AgentAccess access;
    private final Duration heartbeat;

    AgentApi(HttpApi api, AgentRuntime runtime, Authenticator auth, Duration heartbeat) {
        this.api = api;
        this.runtime = runtime;
        this.auth = auth;
        this.access = new AgentAccess(runtime);
        this.heartbeat = heartbeat;
    }

    /** Registered before {@link HttpApi#routes}, whose catch-all answers everything else. */
    void routes(HttpRouting.Builder r) {
        r.get("/api/agents", (req, res) -> api.handleApi("agents", req, res, () -> listAgents(req, res)))
         .get("/api/agents/{id}", (req, res) -> api.handleApi("agents", req, res, () -> getAgent(req, res)))
         .post("/api/agents/{id}/runs", (req, res) -> api.handleApi("agents", req, res, () -> startRun(req, res)))
         .get("/api/runs/{id}", (req, res) -> api.handleApi("agents", req, res, () -> getRun(req, res)))
         .post("/api/runs/{id}/cancel", (req, res) -> api.handleApi("agents", req, res, () -> cancelRun(req, res)))
         .delete("/api/runs/{id}", (req, res) -> api.handleApi("agents", req, res, () -> cancelRun(req, res)))
         .get("/api/runs/{id}/events", (req, res) -> api.handleApi("agents", req, res, () -> runEvents(req, res)))
         .get("/api/sessions/{key}", (req, res) -> api.handleApi("agents", req, res, () -> getSession(req, res)))
         .post("/api/sessions/{key}/resume", (req, res) -> api.handleApi("agents", req, res, () -> resume(req, res)))
         .get("/api/sessions/{key}/events", (req, res) -> api.handleApi("agents", req, res, () -> sessionEvents(req, res)))
         // Reached only when a request is not a WebSocket upgrade, or AgentSocket refused it: say why, API-shaped.
         .get("/api/sessions/{key}/ws", (req, res) -> api.handleApi("agents", req, res, () -> notAnUpgrade(req)));
    }

    // ---- agents ----

    private void listAgents(ServerRequest req, ServerResponse res) {
        Principal p = principal(req);
        noQuery(req);
        ObjectNode body = AgentJson.JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        access.visible(p).forEach(a -> data.add(AgentJson.agent(a)));
        HttpApi.sendJson(res, 200, body);
    }

    private void getAgent(ServerRequest req, ServerResponse res) {
        Principal p = principal(req);
        noQuery(req);
        HttpApi.sendJson(res, 200, AgentJson.agent(access.agent(p, param(req, "id"))));
    }

    // ---- runs ----

    /** {"message": "...", "session": "main", "stream": false}; {@code ?wait=true} answers when the run has ended. */
    private void startRun(ServerRequest req, ServerResponse res) throws IOException {
        Principal p = principal(req);
        boolean wait = waitParam(req);
        AgentSpec agent = access.agent(p, param(req, "id"));
        JsonNode in = jsonObject(api.body(req));
        for (var it = in.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!Set.of("message", "session", "stream").contains(f)) {
                throw ApiException.invalid(f, f + ": unknown field (expected message, session, stream)");
            }
        }
        JsonNode m = in.get("message");
        if (m == null || m.isNull()) throw ApiException.invalid("message", "message: required (the text to send to the agent)");
        if (!m.isTextual()) throw ApiException.invalid("message", "message: expected a string");
        JsonNode s = in.get("session");
        if (s != null && !s.isNull() && !s.isTextual()) throw ApiException.invalid("session", "session: expected a string");
        String session = s == null || s.isNull() ? DEFAULT_SESSION : s.asText();
        JsonNode st = in.get("stream");
        if (st != null && !st.isNull() && !st.isBoolean()) throw ApiException.invalid("stream", "stream: expected true or false");
        boolean stream = st != null && st.asBoolean();
        if (stream && wait) throw ApiException.invalid("wait", "wait: cannot be combined with \"stream\": true");

        if (!stream) {
            String runId = runtime.start(agent.id(), session, m.asText());
            RunInfo info = wait ? await(runId, agent.limits().maxWall().plus(CANCEL_WAIT)) : runtime.run(runId);
            HttpApi.sendJson(res, info.status().isFinal() ? 200 : 202, accepted(info));
            return;
        }
        // Subscribed to the session before the run exists, so not even its first event is missed.
        EventStream events = new EventStream(heartbeat);
        try (RunEvents.Subscription sub = runtime.subscribeSession(agent.sessionKey(session), events)) {
            String runId = runtime.start(agent.id(), session, m.asText());
            res.header(HeaderNames.create("x-carapace-run-id"), runId);
            events.pump(res, e -> e.runId() == null || runId.equals(e.runId()), e -> runId.equals(e.runId()) && e.isTerminal());
        }
    }

    private void getRun(ServerRequest req, ServerResponse res) {
        Principal p = principal(req);
        noQuery(req);
        HttpApi.sendJson(res, 200, AgentJson.run(access.run(p, param(req, "id"))));
    }

    /** Cancels and waits briefly for the run's end; a run that had already ended is answered as it is, not refused. */
    private void cancelRun(ServerRequest req, ServerResponse res) {
        Principal p = principal(req);
        noQuery(req);
        RunInfo run = access.run(p, param(req, "id"));
        boolean cancelled = runtime.cancel(run.id());
        ObjectNode body = AgentJson.run(cancelled ? await(run.id(), CANCEL_WAIT) : runtime.run(run.id()));
        HttpApi.sendJson(res, 200, body.put("cancelled", cancelled));
    }

    private void runEvents(ServerRequest req, ServerResponse res) {
        Principal p = principal(req);
        noQuery(req);
        RunInfo run = access.run(p, param(req, "id"));
        EventStream events = new EventStream(heartbeat);
        try (RunEvents.Subscription sub = runtime.subscribeRun(run.id(), events)) {
            events.pump(res, e -> true, RunEvent::isTerminal);
        }
    }

    // ---- sessions ----

    private void getSession(ServerRequest req, ServerResponse res) {
        Principal p = principal(req);
        noQuery(req);
        AgentAccess.SessionRef s = access.session(p, param(req, "key"));
        ObjectNode body = AgentJson.JSON.createObjectNode().put("key", s.key()).put("agent", s.agent().id())
                .put("name", s.name());
        ArrayNode transcript = body.putArray("transcript");
        for (TranscriptEntry e : runtime.transcript(s.key())) transcript.add(AgentJson.entry(e));   // 404 when unknown
        ArrayNode runs = body.putArray("runs");
        runtime.runs(s.key()).forEach(r -> runs.add(AgentJson.run(r)));
        HttpApi.sendJson(res, 200, body);
    }

    private void resume(ServerRequest req, ServerResponse res) {
        Principal p = principal(req);
        noQuery(req);
        AgentAccess.SessionRef s = access.session(p, param(req, "key"));
        HttpApi.sendJson(res, 202, accepted(runtime.run(runtime.resume(s.key()))));
    }

    /** Every run of the session, until the client leaves. */
    private void sessionEvents(ServerRequest req, ServerResponse res) {
        Principal p = principal(req);
        noQuery(req);
        AgentAccess.SessionRef s = access.session(p, param(req, "key"));
        EventStream events = new EventStream(heartbeat);
        try (RunEvents.Subscription sub = runtime.subscribeSession(s.key(), events)) {
            events.pump(res, e -> true, e -> false);
        }
    }

    private void notAnUpgrade(ServerRequest req) {
        access.session(principal(req), param(req, "key"));   // the refusal the upgrade got, if it was one
        throw ApiException.invalid(null, "This endpoint is a WebSocket: connect with 'Upgrade: websocket'. For events over "
                + "plain HTTP, use GET /api/sessions/{key}/events (server-sent events).");
    }

    // ---- helpers ----

    private Principal principal(ServerRequest req) {
        return auth.authenticate(Credentials.apiKey(req.headers()));
    }

    private RunInfo await(String runId, Duration timeout) {
        try {
            return runtime.await(runId, timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return runtime.run(runId);
        }
    }

    private static ObjectNode accepted(RunInfo r) {
        return AgentJson.JSON.createObjectNode().put("run_id", r.id()).put("session_key", r.sessionKey())
                .put("status", r.status().label()).put("reason", r.reason());
    }

    private static String param(ServerRequest req, String name) {
        return req.path().pathParameters().get(name);
    }

    private static boolean waitParam(ServerRequest req) {
        for (String name : req.query().names()) {
            if (!name.equals("wait")) throw ApiException.invalid(name, name + ": unknown parameter (expected wait)");
        }
        String v = req.query().first("wait").orElse("false");
        return switch (v) {
            case "true", "" -> true;
            case "false" -> false;
            default -> throw ApiException.invalid("wait", "wait: expected true or false; got '" + AgentAccess.clip(v) + "'");
        };
    }

    private static void noQuery(ServerRequest req) {
        for (String name : req.query().names()) {
            throw ApiException.invalid(name, name + ": unknown parameter (this endpoint takes none)");
        }
    }

    static JsonNode jsonObject(byte[] body) {
        JsonNode n;
        try {
            n = AgentJson.JSON.readTree(body);
        } catch (IOException e) {
            throw ApiException.invalid(null, "Request body is not valid JSON.");
        }
        if (n == null || !n.isObject()) throw ApiException.invalid(null, "Request body must be a JSON object, e.g. {\"message\": \"hello\"}.");
        return n;
    }
}
