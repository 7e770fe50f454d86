package dev.carapace.server.json;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.channel.AgentRoute;
import dev.carapace.channel.ChannelEvent;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.IdentityBinding;
import dev.carapace.channel.Pairing;
import dev.carapace.channel.StoredMessage;

import java.util.Locale;

import static dev.carapace.server.json.AgentJson.JSON;

/**
 * Channels as {@code /api/channels} and {@code carapace channels --json} show them: a channel with its routes (never
 * its kind's settings, which name credentials), a message without its text or files, a binding, a pairing (never its
 * code), an event.
 */
public final class ChannelsJson {

    private ChannelsJson() {}

    public static ObjectNode channel(ChannelSpec s) {
        ObjectNode c = JSON.createObjectNode().put("id", s.id()).put("kind", s.kind())
                .put("unknown_senders", s.unknownSenders().name().toLowerCase(Locale.ROOT))
                .put("max_attachment_bytes", s.maxAttachmentBytes());
        s.attachmentTypes().forEach(c.putArray("attachment_types")::add);
        ArrayNode routes = c.putArray("routes");
        for (AgentRoute r : s.routes()) {
            routes.addObject().put("address", r.address()).put("agent", r.agent())
                    .put("access", r.access().name().toLowerCase(Locale.ROOT));
        }
        return c;
    }

    public static ObjectNode message(StoredMessage m) {
        return JSON.createObjectNode().put("id", m.id()).put("channel", m.message().channel())
                .put("sender", m.message().sender().key()).put("address", m.message().address())
                .put("state", m.state().label()).put("agent", m.agent()).put("run_id", m.runId())
                .put("detail", m.detail()).put("automated", m.message().automated())
                .put("received_at", m.message().receivedAt().toString()).put("updated_at", m.updatedAt().toString());
    }

    public static ObjectNode binding(IdentityBinding b) {
        return JSON.createObjectNode().put("sender", b.sender()).put("team", b.team()).put("user", b.user())
                .put("source", b.source()).put("created_at", b.createdAt().toString());
    }

    public static ObjectNode pairing(Pairing p) {
        return JSON.createObjectNode().put("sender", p.sender()).put("name", p.name()).put("channel", p.channel())
                .put("expires_at", p.expiresAt().toString());
    }

    public static ObjectNode event(ChannelEvent e) {
        ObjectNode n = JSON.createObjectNode().put("type", e.type()).put("channel", e.channel()).put("kind", e.kind())
                .put("message", e.messageId()).put("sender", e.sender()).put("agent", e.agent()).put("detail", e.detail())
                .put("at", e.at().toString());
        if (e.latencyMs() >= 0) n.put("latency_ms", e.latencyMs());
        return n;
    }
}
