package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.RunEvents;
import dev.carapace.agent.RunInfo;
import dev.carapace.identity.Authenticator;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.webserver.websocket.WsRouting;
import io.helidon.websocket.WsListener;
import io.helidon.websocket.WsSession;
import io.helidon.websocket.WsUpgradeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.Optional;

/**
 * A session over WebSocket at {@code /api/sessions/{key}/ws}: the server sends every live event of the session's
 * runs as JSON text (the same objects as the SSE streams' data), and the client may send
 * {@code {"type":"message","text":"..."}} (answered {@code {"type":"accepted","run_id":...}}) and
 * {@code {"type":"cancel"}} (the session's unfinished runs, or {@code "run_id"}'s only). Client mistakes are
 * answered with {@code {"type":"error","code":...,"message":...}} and the socket stays open.
 *
 * <p>One instance per connection. The key is checked at the upgrade; a refused upgrade falls through to the HTTP
 * route of the same path, which answers with the API's error.
 */
final class AgentSocket implements WsListener {

    private static final Logger log = LoggerFactory.getLogger("carapace.access");
    private static final String PREFIX = "/api/sessions/";
    private static final String SUFFIX = "/ws";

    private final AgentRuntime runtime;
    private final Authenticator auth;
    private final AgentAccess access;
    private final StringBuilder partial = new StringBuilder();
    private Principal principal;
    private AgentAccess.SessionRef session;
    private volatile RunEvents.Subscription subscription;

    private AgentSocket(AgentRuntime runtime, Authenticator auth) {
        this.runtime = runtime;
        this.auth = auth;
        this.access = new AgentAccess(runtime);
    }

    static WsRouting.Builder routing(AgentRuntime runtime, Authenticator auth) {
        return WsRouting.builder().endpoint(PREFIX + "{key}" + SUFFIX, () -> new AgentSocket(runtime, auth));
    }

    @Override
    public Optional<Headers> onHttpUpgrade(HttpPrologue prologue, Headers headers) throws WsUpgradeException {
        String path = prologue.uriPath().path();
        try {
            principal = auth.authenticate(Credentials.apiKey(headers));
            session = access.session(principal, path.substring(PREFIX.length(), path.length() - SUFFIX.length()));
        } catch (ApiException e) {
            throw new WsUpgradeException(e.getMessage());
        }
        return Optional.empty();
    }

    @Override
    public void onOpen(WsSession ws) {
        log.info("WS {}{}{} 101 user={} team={}", PREFIX, session.key(), SUFFIX, principal.user(), principal.team());
        subscription = runtime.subscribeSession(session.key(), e -> send(ws, AgentJson.event(e)));
    }

    @Override
    public void onMessage(WsSession ws, String text, boolean last) {
        partial.append(text);
        if (!last) return;
        String message = partial.toString();
        partial.setLength(0);
        // Held from handling to replying: a new run's first events (sent under the same lock by this socket's
        // delivery thread) cannot overtake its "accepted", so a client always learns a run's id before its events.
        synchronized (this) {
            try {
                send(ws, handle(message));
            } catch (ApiException e) {
                send(ws, AgentJson.JSON.createObjectNode().put("type", "error").put("code", e.code())
                        .put("message", e.getMessage()));
            }
        }
    }

    private ObjectNode handle(String message) {
        JsonNode in;
        try {
            in = AgentJson.JSON.readTree(message);
        } catch (IOException e) {
            throw ApiException.invalid(null, "Not valid JSON; send {\"type\":\"message\",\"text\":\"...\"} or {\"type\":\"cancel\"}.");
        }
        String type = in == null ? "" : in.path("type").asText("");
        return switch (type) {
            case "message" -> {
                JsonNode t = in.get("text");
                if (t == null || !t.isTextual()) throw ApiException.invalid("text", "text: required, a string");
                String runId = runtime.start(session.agent().id(), session.name(), t.asText());
                yield AgentJson.JSON.createObjectNode().put("type", "accepted").put("run_id", runId)
                        .put("session_key", session.key());
            }
            case "cancel" -> {
                ObjectNode out = AgentJson.JSON.createObjectNode().put("type", "cancelled").put("session_key", session.key());
                ArrayNode ids = out.putArray("run_ids");
                String only = in.path("run_id").asText(null);
                for (RunInfo r : runtime.runs(session.key())) {
                    if ((only == null || only.equals(r.id())) && !r.status().isFinal() && runtime.cancel(r.id())) ids.add(r.id());
                }
                yield out;
            }
            default -> throw ApiException.invalid("type", "type: expected 'message' or 'cancel'; got '" + AgentAccess.clip(type) + "'");
        };
    }

    /** From the runtime's delivery thread and from the reading thread: one frame at a time. */
    private void send(WsSession ws, ObjectNode json) {
        synchronized (this) {
            try {
                ws.send(json.toString(), true);
            } catch (RuntimeException gone) {
                // the client left; onClose or onError ends the subscription
            }
        }
    }

    @Override
    public void onClose(WsSession ws, int status, String reason) {
        end();
    }

    @Override
    public void onError(WsSession ws, Throwable t) {
        end();
    }

    private void end() {
        RunEvents.Subscription s = subscription;
        if (s != null) s.close();
    }
}
