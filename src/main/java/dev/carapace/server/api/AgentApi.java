package dev.carapace.server.api;

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
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;
import dev.carapace.server.json.AgentJson;

import java.io.IOException;
import java.time.Duration;
import java.util.Set;

import static dev.carapace.text.Excerpt.clip;

/**
 * The agent routes of the native API: agents, runs, sessions, and their live events over SSE. Framed like every
 * {@code /api} route by {@link HttpApi#handleApi} (request id, error shape, access log); who may touch what is
 * {@link AgentAccess}'s call. The WebSocket lives in {@link AgentSocket}.
 */
public final class AgentApi {

    private static final String DEFAULT_SESSION = "main";
    /** How long {@code ?wait=true} and a cancel wait for the run's end before answering with where it is. */
    private static final Duration CANCEL_WAIT = Duration.ofSeconds(5);

    private final HttpApi api;
    private final AgentRuntime runtime;
    private final Authenticator auth;
    private final AgentAccess access;
    private final Duration heartbeat;

    public AgentApi(HttpApi api, AgentRuntime runtime, Authenticator auth, Duration heartbeat) {
        this.api = api;
        this.runtime = runtime;
        this.auth = auth;
        this.access = new AgentAccess(runtime);
        this.heartbeat = heartbeat;
    }

    /** Registered before {@link HttpApi#routes}, whose catch-all answers everything else. */
    public void routes(Routes r) {
        r.get("/api/agents", x -> api.handleApi("agents", x, () -> listAgents(x)))
         .get("/api/agents/{id}", x -> api.handleApi("agents", x, () -> getAgent(x)))
         .post("/api/agents/{id}/runs", x -> api.handleApi("agents", x, () -> startRun(x)))
         .get("/api/runs/{id}", x -> api.handleApi("agents", x, () -> getRun(x)))
         .post("/api/runs/{id}/cancel", x -> api.handleApi("agents", x, () -> cancelRun(x)))
         .delete("/api/runs/{id}", x -> api.handleApi("agents", x, () -> cancelRun(x)))
         .get("/api/runs/{id}/events", x -> api.handleApi("agents", x, () -> runEvents(x)))
         .get("/api/sessions/{key}", x -> api.handleApi("agents", x, () -> getSession(x)))
         .post("/api/sessions/{key}/resume", x -> api.handleApi("agents", x, () -> resume(x)))
         .get("/api/sessions/{key}/events", x -> api.handleApi("agents", x, () -> sessionEvents(x)))
         .get("/api/sessions/{key}/ws", x -> api.handleApi("agents", x, () -> socket(x)));
    }

    // ---- agents ----

    private void listAgents(Exchange x) {
        Principal p = principal(x);
        noQuery(x);
        ObjectNode body = AgentJson.JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        access.visible(p).forEach(a -> data.add(AgentJson.agent(a)));
        HttpApi.sendJson(x, 200, body);
    }

    private void getAgent(Exchange x) {
        Principal p = principal(x);
        noQuery(x);
        HttpApi.sendJson(x, 200, AgentJson.agent(access.agent(p, param(x, "id"))));
    }

    // ---- runs ----

    /** {"message": "...", "session": "main", "stream": false}; {@code ?wait=true} answers when the run has ended. */
    private void startRun(Exchange x) throws IOException {
        Principal p = principal(x);
        boolean wait = waitParam(x);
        AgentSpec agent = access.agent(p, param(x, "id"));
        JsonNode in = HttpApi.parseJsonObject(api.body(x));
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
            String runId = runtime.start(agent.id(), session, m.asText(), p);
            RunInfo info = wait ? await(runId, agent.limits().maxWall().plus(CANCEL_WAIT)) : runtime.run(runId);
            HttpApi.sendJson(x, info.status().isFinal() ? 200 : 202, accepted(info));
            return;
        }
        // Subscribed to the session before the run exists, so not even its first event is missed.
        EventStream<RunEvent> events = EventStream.runs(heartbeat);
        try (RunEvents.Subscription sub = runtime.subscribeSession(agent.sessionKey(session), events)) {
            String runId = runtime.start(agent.id(), session, m.asText(), p);
            x.header("x-carapace-run-id", runId);
            events.pump(x, api.standing(p), e -> e.runId() == null || runId.equals(e.runId()),
                    e -> runId.equals(e.runId()) && e.isTerminal());
        }
    }

    private void getRun(Exchange x) {
        Principal p = principal(x);
        noQuery(x);
        HttpApi.sendJson(x, 200, AgentJson.run(access.run(p, param(x, "id"))));
    }

    /** Cancels and waits briefly for the run's end; a run that had already ended is answered as it is, not refused. */
    private void cancelRun(Exchange x) {
        Principal p = principal(x);
        noQuery(x);
        RunInfo run = access.run(p, param(x, "id"));
        boolean cancelled = runtime.cancel(run.id());
        ObjectNode body = AgentJson.run(cancelled ? await(run.id(), CANCEL_WAIT) : runtime.run(run.id()));
        HttpApi.sendJson(x, 200, body.put("cancelled", cancelled));
    }

    private void runEvents(Exchange x) {
        Principal p = principal(x);
        noQuery(x);
        RunInfo run = access.run(p, param(x, "id"));
        EventStream<RunEvent> events = EventStream.runs(heartbeat);
        try (RunEvents.Subscription sub = runtime.subscribeRun(run.id(), events)) {
            events.pump(x, api.standing(p), e -> true, RunEvent::isTerminal);
        }
    }

    // ---- sessions ----

    private void getSession(Exchange x) {
        Principal p = principal(x);
        noQuery(x);
        AgentAccess.SessionRef s = access.session(p, param(x, "key"));
        ObjectNode body = AgentJson.JSON.createObjectNode().put("key", s.key()).put("agent", s.agent().id())
                .put("name", s.name());
        ArrayNode transcript = body.putArray("transcript");
        for (TranscriptEntry e : runtime.transcript(s.key())) transcript.add(AgentJson.entry(e));   // 404 when unknown
        ArrayNode runs = body.putArray("runs");
        runtime.runs(s.key()).forEach(r -> runs.add(AgentJson.run(r)));
        HttpApi.sendJson(x, 200, body);
    }

    private void resume(Exchange x) {
        Principal p = principal(x);
        noQuery(x);
        AgentAccess.SessionRef s = access.session(p, param(x, "key"));
        HttpApi.sendJson(x, 202, accepted(runtime.run(runtime.resume(s.key(), p))));
    }

    /** Every run of the session, until the client leaves. */
    private void sessionEvents(Exchange x) {
        Principal p = principal(x);
        noQuery(x);
        AgentAccess.SessionRef s = access.session(p, param(x, "key"));
        EventStream<RunEvent> events = EventStream.runs(heartbeat);
        try (RunEvents.Subscription sub = runtime.subscribeSession(s.key(), events)) {
            events.pump(x, api.standing(p), e -> true, e -> false);
        }
    }

    /** The session's WebSocket ({@link AgentSocket}); the key and the session are checked before the upgrade. */
    private void socket(Exchange x) {
        Principal p = principal(x);
        AgentAccess.SessionRef s = access.session(p, param(x, "key"));
        if (!x.isWebSocketUpgrade() || !x.upgradeToWebSocket(new AgentSocket(runtime, p, s, api.standing(p)))) {
            throw ApiException.invalid(null, "This endpoint is a WebSocket: connect with 'Upgrade: websocket' (and its"
                    + " Sec-WebSocket-Key and Sec-WebSocket-Version: 13). For events over plain HTTP, use"
                    + " GET /api/sessions/{key}/events (server-sent events).");
        }
    }

    // ---- helpers ----

    private Principal principal(Exchange x) {
        return auth.authenticate(Credentials.apiKey(x::headerLines));
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

    private static String param(Exchange x, String name) {
        return x.pathParam(name);
    }

    private static boolean waitParam(Exchange x) {
        for (String name : x.queryNames()) {
            if (!name.equals("wait")) throw ApiException.invalid(name, name + ": unknown parameter (expected wait)");
        }
        String v = x.query("wait");
        if (v == null) return false;
        return switch (v) {
            case "true", "" -> true;   // ?wait alone means true
            case "false" -> false;
            default -> throw ApiException.invalid("wait", "wait: expected true or false; got '" + clip(v, 60) + "'");
        };
    }

    /** Refuses any query parameter, naming it: for routes that take none. */
    static void noQuery(Exchange x) {
        for (String name : x.queryNames()) {
            throw ApiException.invalid(name, name + ": unknown parameter (this endpoint takes none)");
        }
    }
}
