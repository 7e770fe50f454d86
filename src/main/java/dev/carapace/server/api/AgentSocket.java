package dev.carapace.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.RunEvents;
import dev.carapace.agent.RunInfo;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.server.http.WebSocket;
import dev.carapace.server.json.AgentJson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;

import static dev.carapace.text.Excerpt.clip;

/**
 * A session over WebSocket at {@code /api/sessions/{key}/ws}: the server sends every live event of the session's
 * runs as JSON text (the same objects as the SSE streams' data), and the client may send
 * {@code {"type":"message","text":"..."}} (answered {@code {"type":"accepted","run_id":...}}) and
 * {@code {"type":"cancel"}} (the session's unfinished runs, or {@code "run_id"}'s only). Client mistakes are
 * answered with {@code {"type":"error","code":...,"message":...}} and the socket stays open.
 *
 * <p>One instance per connection, made by {@link AgentApi} once the key and the session are checked: a refused
 * upgrade is answered like any API request.
 */
final class AgentSocket implements WebSocket.Listener {

    private static final Logger log = LoggerFactory.getLogger("carapace.access");
    private static final String PREFIX = "/api/sessions/";
    private static final String SUFFIX = "/ws";

    private final AgentRuntime runtime;
    private final Principal principal;
    private final AgentAccess.SessionRef session;
    private final KeyStanding standing;
    private volatile WebSocket ws;
    /** Set, under this socket's lock, once it is being closed for a revoked key. */
    private boolean closing;
    private volatile RunEvents.Subscription subscription;
    /** Looks at the key while the socket idles: a revoked key's socket closes even if nothing passes on it. */
    private volatile Thread watcher;

    AgentSocket(AgentRuntime runtime, Principal principal, AgentAccess.SessionRef session, KeyStanding standing) {
        this.runtime = runtime;
        this.principal = principal;
        this.session = session;
        this.standing = standing;
    }

    @Override
    public void onOpen(WebSocket ws) {
        this.ws = ws;
        log.info("WS {}{}{} 101 user={} team={}", PREFIX, session.key(), SUFFIX, principal.user(), principal.team());
        subscription = runtime.subscribeSession(session.key(), e -> send(AgentJson.event(e)));
        watcher = Thread.ofVirtual().name("ws-key-watch").start(this::watchKey);
    }

    /** Until the socket closes: once a second (as {@link KeyStanding} looks it up), ends it if its key was revoked. */
    private void watchKey() {
        try {
            while (true) {
                Thread.sleep(KeyStanding.EVERY);
                synchronized (this) {
                    if (ended()) return;
                }
            }
        } catch (InterruptedException closed) {
            // onClose: the socket is gone
        }
    }

    @Override
    public void onText(String message) {
        // Held from handling to replying: a new run's first events (sent under the same lock by this socket's
        // delivery thread) cannot overtake its "accepted", so a client always learns a run's id before its events.
        synchronized (this) {
            if (ended(true)) return;
            try {
                send(handle(message));
            } catch (ApiException e) {
                send(AgentJson.JSON.createObjectNode().put("type", "error").put("code", e.code())
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
                String runId = runtime.start(session.agent().id(), session.name(), t.asText(), principal);
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
            default -> throw ApiException.invalid("type", "type: expected 'message' or 'cancel'; got '" + clip(type, 60) + "'");
        };
    }

    /**
     * From the runtime's delivery thread and from the reading thread: one frame at a time, each sent before the next
     * (so a slow client slows its own delivery thread, whose bounded queue then drops, never the run).
     */
    private void send(ObjectNode json) {
        synchronized (this) {
            if (ended()) return;
            ws.send(json.toString());   // false: the client left, and onClose ends the subscription
        }
    }

    /**
     * Whether the key this socket was opened with has been revoked: then the client is told so, and the socket
     * closed (1008), before it reads or sends anything more.
     */
    private boolean ended() { return ended(false); }

    /** @param now look the key up now (before a client's request), not at most once a second (as events pass) */
    private boolean ended(boolean now) {
        if (closing) return true;
        if (!(now ? standing.revokedNow() : standing.revoked())) return false;
        closing = true;
        ws.send(EventStream.revoked(standing.message()));
        ws.close(1008, "API key revoked");
        return true;
    }

    @Override
    public void onClose() {
        RunEvents.Subscription s = subscription;
        if (s != null) s.close();
        Thread w = watcher;
        if (w != null) w.interrupt();
    }
}
