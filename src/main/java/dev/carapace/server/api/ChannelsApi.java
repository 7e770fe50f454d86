package dev.carapace.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.channel.Channel;
import dev.carapace.channel.ChannelEvent;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.ChannelHub;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.HookRequest;
import dev.carapace.channel.HookResponse;
import dev.carapace.channel.IdentityBinding;
import dev.carapace.channel.Pairing;
import dev.carapace.channel.PushChannel;
import dev.carapace.channel.StoredMessage;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;
import dev.carapace.server.json.ChannelsJson;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;

import static dev.carapace.server.api.HttpApi.sendJson;
import static dev.carapace.server.json.AgentJson.JSON;
import static dev.carapace.text.Excerpt.clip;

/**
 * Channels over HTTP: the endpoints services push to ({@code POST /hooks/CHANNEL[/ADDRESS]}, authenticated by each
 * channel's own signature or secret, not by an API key), and the native API under {@code /api/channels}: the
 * channels and their routes, a connection test, the inbox, approvals, identity bindings, pairing, and live events.
 * Admins do everything; a member may list channels, see their own bindings, and confirm a pairing for themselves
 * (the code they were sent on the channel, bound to their own team and user).
 */
public final class ChannelsApi {

    private static final int MAX_MESSAGES = 500;

    private final HttpApi api;
    private final ChannelHub hub;
    private final Set<String> teams;
    private final Duration heartbeat;

    public ChannelsApi(HttpApi api, ChannelHub hub, Set<String> teams, Duration heartbeat) {
        this.api = api;
        this.hub = hub;
        this.teams = Set.copyOf(teams);
        this.heartbeat = heartbeat;
    }

    /** Registered before {@link HttpApi#routes}, whose catch-all answers everything else. */
    public void routes(Routes r) {
        r.post("/hooks/{channel}", x -> hook(x, ""))
         .post("/hooks/{channel}/{address}", x -> hook(x, "/" + x.pathParam("address")))
         .get("/api/channels", x -> api.handleApi("channels", x, () -> list(x)))
         .post("/api/channels/{id}/test", x -> api.handleApi("channels", x, () -> test(x)))
         .get("/api/channels/messages", x -> api.handleApi("channels", x, () -> messages(x)))
         .post("/api/channels/messages/{id}/approve", x -> api.handleApi("channels", x, () -> decide(x, true)))
         .post("/api/channels/messages/{id}/deny", x -> api.handleApi("channels", x, () -> decide(x, false)))
         .get("/api/channels/bindings", x -> api.handleApi("channels", x, () -> bindings(x)))
         .post("/api/channels/bindings", x -> api.handleApi("channels", x, () -> bind(x)))
         .delete("/api/channels/bindings", x -> api.handleApi("channels", x, () -> unbind(x)))
         .get("/api/channels/pairings", x -> api.handleApi("channels", x, () -> pairings(x)))
         .post("/api/channels/pair", x -> api.handleApi("channels", x, () -> pair(x)))
         .get("/api/channels/events", x -> api.handleApi("channels", x, () -> events(x)));
    }

    // ---- what services push -------------------------------------------------------------------------------------

    private void hook(Exchange x, String path) throws IOException {
        api.handleApi("hooks", x, () -> {
            Channel c = hub.channel(x.pathParam("channel")).orElse(null);
            if (!(c instanceof PushChannel push)) {
                throw new ApiException(ApiException.Kind.NOT_FOUND, "No channel takes requests at /hooks/"
                        + clip(x.pathParam("channel"), 40) + ".", null, "channel_not_found", null, false);
            }
            byte[] body = api.body(x, push.maxBodyBytes(), "channel " + push.id() + "'s limit");
            HookResponse r = push.receive(new HookRequest(path, x.headers(), body, x.remoteAddress()));
            if (r.isError()) throw hookError(r);
            x.status(r.status());
            x.header("content-type", r.contentType());
            x.send(r.body());
        });
    }

    /**
     * A channel's refusal as the API's error, so it is written as every route's is (its shape, type and retry hint);
     * only a 503 (the message could not be stored now) is worth sending again.
     */
    private static ApiException hookError(HookResponse r) {
        ApiException.Kind kind = ApiException.Kind.INVALID_REQUEST;
        for (ApiException.Kind k : ApiException.Kind.values()) if (k.status == r.status()) kind = k;
        return new ApiException(kind, r.errorMessage(), null, r.errorCode(), null, r.status() == 503);
    }

    // ---- the native API -----------------------------------------------------------------------------------------

    private void list(Exchange x) throws IOException {
        api.authenticate(x);
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        for (ChannelSpec s : hub.specs()) data.add(ChannelsJson.channel(s).put("running", hub.channel(s.id()).isPresent()));
        sendJson(x, 200, body);
    }

    private void test(Exchange x) throws IOException {
        api.requireAdmin(x);
        Channel c = channel(x.pathParam("id"));
        ObjectNode body = JSON.createObjectNode().put("channel", c.id()).put("kind", c.kind());
        try {
            body.put("ok", true).put("detail", c.test());
        } catch (ChannelException e) {
            body.put("ok", false).put("detail", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(ApiException.Kind.UNAVAILABLE, "The test was interrupted.", null, "interrupted", null, true);
        }
        sendJson(x, 200, body);
    }

    /** {@code ?channel=ID&limit=N}: the newest messages, without their text or files. */
    private void messages(Exchange x) throws IOException {
        api.requireAdmin(x);
        String channel = x.query("channel");
        if (channel != null) channel(channel);
        int limit = limit(x.query("limit"));
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        for (StoredMessage m : hub.messages(channel, limit)) data.add(ChannelsJson.message(m));
        sendJson(x, 200, body);
    }

    private void decide(Exchange x, boolean approve) throws IOException {
        Principal p = api.requireAdmin(x);
        String id = x.pathParam("id");
        try {
            hub.decide(id, approve, operator(p));
        } catch (NoSuchElementException e) {
            throw new ApiException(ApiException.Kind.NOT_FOUND, e.getMessage(), "id", "message_not_found", null, false);
        } catch (IllegalArgumentException e) {
            throw invalid("message", e);
        }
        sendJson(x, 200, JSON.createObjectNode().put("id", id).put("decision", approve ? "approved" : "denied"));
    }

    private void bindings(Exchange x) throws IOException {
        Principal p = api.authenticate(x);
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        for (IdentityBinding b : hub.identities().list()) {
            if (p.isAdmin() || b.team().equals(p.team()) && p.user() != null && p.user().equals(b.user())) data.add(ChannelsJson.binding(b));
        }
        sendJson(x, 200, body);
    }

    /** {@code {sender, team, user?}}. */
    private void bind(Exchange x) throws IOException {
        Principal p = api.requireAdmin(x);
        JsonNode req = HttpApi.parseJsonObject(api.body(x));
        only(req, "sender", "team", "user");
        String sender = text(req, "sender", true);
        String team = team(text(req, "team", true));
        String user = text(req, "user", false);
        IdentityBinding b;
        try {
            CarapaceConfig.Channels.checkSender(sender);
            b = hub.identities().bind(sender, team, user, operator(p));
        } catch (IllegalArgumentException e) {
            throw invalid("sender", e);
        }
        sendJson(x, 201, ChannelsJson.binding(b));
    }

    /** {@code ?sender=KIND:ID}. */
    private void unbind(Exchange x) throws IOException {
        Principal p = api.requireAdmin(x);
        String sender = x.query("sender");
        if (sender == null) throw ApiException.invalid("sender", "sender: the binding's sender is required (?sender=KIND:ID)");
        boolean removed;
        try {
            removed = hub.identities().unbind(sender, operator(p));
        } catch (IllegalArgumentException e) {
            throw invalid("sender", e);
        }
        if (!removed) {
            throw new ApiException(ApiException.Kind.NOT_FOUND, "No binding for '" + clip(sender, 80) + "' made through "
                    + "the API or a pairing.", "sender", "binding_not_found", null, false);
        }
        sendJson(x, 200, JSON.createObjectNode().put("sender", sender).put("deleted", true));
    }

    private void pairings(Exchange x) throws IOException {
        api.requireAdmin(x);
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        for (Pairing p : hub.identities().pairings()) data.add(ChannelsJson.pairing(p));
        sendJson(x, 200, body);
    }

    /**
     * {@code {code, team?, user?}}: an admin binds the code's sender to any team and user; a member to themselves
     * only (team and user, when given, must be their own).
     */
    private void pair(Exchange x) throws IOException {
        Principal p = api.authenticate(x);
        JsonNode req = HttpApi.parseJsonObject(api.body(x));
        only(req, "code", "team", "user");
        String code = text(req, "code", true);
        String team = text(req, "team", false);
        String user = text(req, "user", false);
        if (!p.isAdmin()) {
            if (p.user() == null) {
                throw new ApiException(ApiException.Kind.PERMISSION, "Key " + p.keyPrefix() + " is a team key: a pairing "
                        + "binds a person; confirm it with your own key, or ask an admin.", null, "pairing_forbidden", null, false);
            }
            if (team != null && !team.equals(p.team()) || user != null && !user.equals(p.user())) {
                throw new ApiException(ApiException.Kind.PERMISSION, "A member pairs a sender with themselves only (team "
                        + p.team() + ", user " + p.user() + "); an admin can name another.", null, "pairing_forbidden",
                        null, false);
            }
            team = p.team();
            user = p.user();
        } else {
            if (team == null) throw ApiException.invalid("team", "team: an admin names the team (and user) to bind to");
            team(team);
        }
        IdentityBinding b;
        try {
            b = hub.pair(code, team, user, operator(p));
        } catch (IllegalArgumentException e) {
            throw invalid("code", e);
        }
        sendJson(x, 201, ChannelsJson.binding(b));
    }

    /** Server-sent events: each channel event as it happens, until the client leaves ({@code ?channel=ID}: one). */
    private void events(Exchange x) {
        Principal p = api.requireAdmin(x);
        String only = x.query("channel");
        EventStream<ChannelEvent> stream = new EventStream<>(heartbeat,
                e -> EventStream.frame(e.type(), ChannelsJson.event(e).toString()));
        AutoCloseable sub = hub.events().subscribe(stream::offer);
        try {
            stream.pump(x, api.standing(p), e -> only == null || only.equals(e.channel()), e -> false);
        } finally {
            try {
                sub.close();
            } catch (Exception e) {
                throw new IllegalStateException("could not unsubscribe a channel event stream", e);
            }
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private Channel channel(String id) {
        return hub.channel(id).orElseThrow(() -> new ApiException(ApiException.Kind.NOT_FOUND, "No channel '"
                + clip(id, 40) + "' (channels: " + (hub.specs().isEmpty() ? "none are configured"
                : String.join(", ", hub.specs().stream().map(ChannelSpec::id).toList())) + ").", "channel",
                "channel_not_found", null, false));
    }

    private String team(String team) {
        if (!teams.isEmpty() && !teams.contains(team)) {
            throw ApiException.invalid("team", "team: no team '" + clip(team, 60) + "' (teams: " + String.join(", ", teams) + ")");
        }
        return team;
    }

    private static String operator(Principal p) {
        return p.team() + "/" + (p.user() == null ? "-" : p.user()) + " (key " + p.keyPrefix() + ")";
    }

    private static int limit(String v) {
        if (v == null) return 50;
        try {
            int n = Integer.parseInt(v.strip());
            if (n >= 1 && n <= MAX_MESSAGES) return n;
        } catch (NumberFormatException e) {
            // below
        }
        throw ApiException.invalid("limit", "limit: a whole number from 1 to " + MAX_MESSAGES + "; got '" + clip(v, 20) + "'");
    }

    private static void only(JsonNode req, String... allowed) {
        List<String> names = List.of(allowed);
        for (var it = req.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!names.contains(f)) {
                throw ApiException.invalid(f, clip(f, 40) + ": unknown field (expected " + String.join(", ", names) + ")");
            }
        }
    }

    private static String text(JsonNode req, String field, boolean required) {
        JsonNode v = req.get(field);
        if (v == null || v.isNull()) {
            if (required) throw ApiException.invalid(field, field + ": required");
            return null;
        }
        if (!v.isTextual() || v.asText().isBlank()) throw ApiException.invalid(field, field + ": expected a non-empty string");
        return v.asText().strip();
    }

    private static ApiException invalid(String param, IllegalArgumentException e) {
        return ApiException.invalidNamed(e.getMessage(), param);
    }
}
