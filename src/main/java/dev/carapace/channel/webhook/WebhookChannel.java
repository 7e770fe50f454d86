package dev.carapace.channel.webhook;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.channel.Attachment;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.HookRequest;
import dev.carapace.channel.HookResponse;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Inbox;
import dev.carapace.channel.Outbound;
import dev.carapace.channel.PushChannel;
import dev.carapace.channel.Sender;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A webhook endpoint an outside system posts messages to ({@code POST /hooks/CHANNEL[/ADDRESS]}), and the agent's
 * answers POSTed back to it, both signed per Standard Webhooks (https://www.standardwebhooks.com).
 *
 * <h2>The way in</h2>
 * <ol>
 *   <li>The body is at most {@code max_body_bytes} (413).</li>
 *   <li>{@code webhook-id}, {@code webhook-timestamp} and {@code webhook-signature} must all be there (401) and well
 *       formed (400); the signature must be one of the channel's keys' (any of them: keys are rotated by listing the
 *       new one beside the old), compared in constant time (401). Nothing says which keys exist.</li>
 *   <li>The timestamp must be within {@code tolerance} of this gateway's clock, either way (400).</li>
 *   <li>The body must be a {@link WebhookBody} (400), and the path must be an address a route of the channel takes
 *       (404).</li>
 *   <li>The message goes to the {@link Inbox} under its {@code webhook-id}: 202 once stored; 200 when that id was
 *       taken before (a retry or a replay: acknowledged, nothing done again); 503 when it cannot be stored now.</li>
 * </ol>
 * Replays: a signed request is good only within the tolerance, and within it (and long after) its id is in the
 * inbox, which dedupes per channel and id in the store: across restarts and across every gateway on the database.
 *
 * <h2>Who is speaking</h2>
 * A message is from {@code webhook:CHANNEL/SENDER} ({@code SENDER} is the body's {@code sender}, or
 * {@code default}), so an identity binding names a calling system, or one of its users. The body's {@code sender}
 * is believed only as far as the key: whoever holds the channel's key may speak as any of its senders.
 *
 * <h2>The way out</h2>
 * An answer is queued with {@link WebhookDeliveries} (durable, retried, signed with {@code deliver_secrets}) to the
 * message's {@code reply_to} when the channel's {@code reply_to_prefixes} allow it, else to {@code deliver_to}.
 */
public final class WebhookChannel implements PushChannel {

    private static final Logger log = LoggerFactory.getLogger(WebhookChannel.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The egress proxy's largest request body. */
    static final int MAX_DELIVERY_BYTES = 1 << 20;
    private static final Pattern ID = Pattern.compile("[\\x21-\\x7e]{1,256}");
    /** No leading zero: the signature covers the number as written, and "0170..." would be signed as another text. */
    private static final Pattern TIMESTAMP = Pattern.compile("0|[1-9]\\d{0,11}");
    /** At most one segment, the route's address: the server routes /hooks/CHANNEL and /hooks/CHANNEL/ADDRESS only. */
    private static final Pattern PATH = Pattern.compile("(/[A-Za-z0-9._~-]{1,100})?");
    private static final String EXPECTED = "expected Standard Webhooks headers webhook-id, webhook-timestamp (Unix "
            + "seconds) and webhook-signature (v1,BASE64 of HMAC-SHA256 over ID.TIMESTAMP.BODY with the channel's key)";

    private final ChannelContext context;
    private final ChannelSpec spec;
    private final WebhookSettings settings;
    private final WebhookDeliveries deliveries;
    private volatile Inbox inbox;

    /** @throws IllegalArgumentException a key it names is not in {@code secrets:} */
    public WebhookChannel(ChannelContext context, WebhookDeliveries deliveries) {
        this.context = context;
        this.spec = context.spec();
        this.settings = (WebhookSettings) spec.settings();
        this.deliveries = deliveries;
        List<String> names = new ArrayList<>(settings.secrets());
        names.addAll(settings.deliverSecrets());
        for (String name : names) {
            if (!context.secrets().has(name)) {
                throw new IllegalArgumentException("channel '" + spec.id() + "': webhook secret '" + name
                        + "' is not in secrets:");
            }
        }
    }

    @Override
    public String id() { return spec.id(); }

    @Override
    public String kind() { return "webhook"; }

    /** An answer goes back to the calling system only. */
    @Override
    public boolean privateTo(Inbound in) { return true; }

    @Override
    public void start(Inbox inbox) { this.inbox = inbox; }

    @Override
    public long maxBodyBytes() { return settings.maxBodyBytes(); }

    // ---- the way in ---------------------------------------------------------------------------------------------

    @Override
    public HookResponse receive(HookRequest request) {
        byte[] body = request.body();
        if (body.length > settings.maxBodyBytes()) {
            return HookResponse.error(413, "too_large", "the body is " + body.length + " bytes; this endpoint takes at most "
                    + settings.maxBodyBytes());
        }
        String id = request.header(StandardWebhooks.ID);
        String ts = request.header(StandardWebhooks.TIMESTAMP);
        String sig = request.header(StandardWebhooks.SIGNATURE);
        if (id == null || ts == null || sig == null) {
            List<String> missing = new ArrayList<>();
            if (id == null) missing.add(StandardWebhooks.ID);
            if (ts == null) missing.add(StandardWebhooks.TIMESTAMP);
            if (sig == null) missing.add(StandardWebhooks.SIGNATURE);
            return HookResponse.error(401, "unsigned", "missing " + String.join(", ", missing) + "; " + EXPECTED);
        }
        if (!ID.matcher(id).matches()) {
            return HookResponse.error(400, "bad_header", "webhook-id must be 1-256 printable ASCII characters, no spaces");
        }
        if (!TIMESTAMP.matcher(ts).matches()) {
            return HookResponse.error(400, "bad_header", "webhook-timestamp must be whole Unix seconds without leading zeros, such as "
                    + context.clock().instant().getEpochSecond());
        }
        if (sig.length() > 4096) return HookResponse.error(401, "bad_signature", "webhook-signature is too long; " + EXPECTED);
        long timestamp = Long.parseLong(ts);
        List<byte[]> keys = new ArrayList<>();
        try {
            for (String name : settings.secrets()) keys.add(StandardWebhooks.key(context.secrets().value(name)));
        } catch (ChannelException | IllegalArgumentException e) {
            log.error("channel {}: a signing key cannot be read: {}", spec.id(), e.getMessage());
            return HookResponse.error(503, "unavailable", "this endpoint cannot verify requests now; send it again later");
        }
        if (!StandardWebhooks.matches(sig, keys, id, timestamp, body)) {
            return HookResponse.error(401, "bad_signature", "the signature does not match; " + EXPECTED);
        }
        Instant now = context.clock().instant();
        long skew = now.getEpochSecond() - timestamp;
        if (Math.abs(skew) > settings.tolerance().toSeconds()) {
            return HookResponse.error(400, "stale_timestamp", "webhook-timestamp " + ts + " is " + Math.abs(skew) + " s "
                    + (skew > 0 ? "in the past" : "in the future") + "; it must be within "
                    + settings.tolerance().toSeconds() + " s of the receiver's clock (now " + now.getEpochSecond()
                    + "): sign each attempt afresh, and check the sender's clock");
        }
        if (!PATH.matcher(request.path()).matches()) {
            return HookResponse.error(404, "no_route", "no endpoint at this path: after /hooks/" + spec.id()
                    + " comes at most one segment, an address of A-Z a-z 0-9 . _ ~ -");
        }
        String address = request.path().isEmpty() ? "" : request.path().substring(1);
        if (spec.route(address) == null) {
            return HookResponse.error(404, "no_route", "no agent answers /hooks/" + spec.id() + request.path());
        }
        WebhookBody message;
        try {
            message = WebhookBody.parse(body);
        } catch (WebhookBody.Invalid e) {
            return HookResponse.error(400, "bad_body", e.getMessage());
        }
        if (message.replyTo() != null && !settings.allowsReplyTo(message.replyTo())) {
            return HookResponse.error(400, "bad_body", settings.replyToPrefixes().isEmpty()
                    ? "field 'reply_to' is not taken by this channel; answers go to its configured URL"
                    : "field 'reply_to' must start with one of this channel's allowed prefixes, its path plain (no empty, dot,"
                    + " encoded-slash or ;parameter segments, no fragment)");
        }
        return store(id, address, message, now);
    }

    private HookResponse store(String id, String address, WebhookBody m, Instant now) {
        Inbox target = inbox;
        if (target == null) return HookResponse.error(503, "unavailable", "the channel is starting; send it again later");
        String sender = m.sender() == null ? "default" : m.sender();
        Map<String, String> reply = new LinkedHashMap<>();
        reply.put("in_reply_to", id);
        reply.put("sender", sender);
        if (m.conversation() != null) reply.put("conversation", m.conversation());
        if (m.replyTo() != null) reply.put("reply_to", m.replyTo().toString());
        // one session per sender and thread: two callers' "ticket-1" are two conversations
        String conversation = m.conversation() == null ? null : sender + "/" + m.conversation();
        Inbound in = new Inbound(spec.id(), id, new Sender("webhook", spec.id() + "/" + sender, null), address,
                conversation, m.text(), m.attachments(), reply, false, now);
        try {
            boolean fresh = target.receive(in);
            return HookResponse.json(fresh ? 202 : 200, "{\"id\":" + JSON.valueToTree(id) + ",\"status\":\""
                    + (fresh ? "stored" : "duplicate") + "\"}");
        } catch (ChannelException e) {
            log.warn("channel {}: message {} not stored: {}", spec.id(), id, e.getMessage());
            return e.retryable()
                    ? HookResponse.error(503, "unavailable", "the message could not be stored now; send it again later")
                    : HookResponse.error(400, "refused", "the message cannot be taken: " + e.getMessage());
        }
    }

    // ---- the way out --------------------------------------------------------------------------------------------

    /**
     * Queues the answer for delivery (durable when this returns): {@code {"type": "message.reply", "timestamp",
     * "data": {channel, in_reply_to, sender, conversation, text, attachments}}}. Files that would take the body over
     * the egress proxy's 1 MiB are left out, and the text says so.
     */
    @Override
    public void send(Outbound message) throws ChannelException {
        Map<String, String> r = message.reply();
        URI to;
        if (r.get("reply_to") != null) {
            to = URI.create(r.get("reply_to"));
            if (!settings.allowsReplyTo(to)) {
                throw new ChannelException("the message's reply_to is no longer under the channel's reply_to_prefixes", false);
            }
        } else if (settings.deliverTo() != null) {
            to = settings.deliverTo();
        } else {
            throw new ChannelException("channel '" + spec.id() + "' has no deliver_to, and the message no reply_to", false);
        }
        byte[] body = payload(message, r);
        // without a key (no caller of the hub's sends lacks one) each send is a delivery of its own
        String key = message.idempotency() != null ? message.idempotency() : java.util.UUID.randomUUID().toString();
        try {
            deliveries.enqueue("channel:" + spec.id(), "channel:" + spec.id(), to, settings.deliverSecrets(), body,
                    settings.maxAttempts(), key);
        } catch (RuntimeException e) {
            throw new ChannelException("the answer could not be queued for delivery", true, e);
        }
    }

    private byte[] payload(Outbound message, Map<String, String> r) throws ChannelException {
        ObjectNode data = JSON.createObjectNode();
        data.put("channel", spec.id());
        if (r.get("in_reply_to") != null) data.put("in_reply_to", r.get("in_reply_to"));
        String recipient = message.recipient().id();
        data.put("sender", recipient.startsWith(spec.id() + "/") ? recipient.substring(spec.id().length() + 1) : recipient);
        if (r.get("conversation") != null) data.put("conversation", r.get("conversation"));
        StringBuilder text = new StringBuilder(message.text());
        ArrayNode files = data.putArray("attachments");
        long room = MAX_DELIVERY_BYTES - 64L * 1024 - message.text().length() * 6L;
        for (Attachment a : message.attachments()) {
            long size = (a.data().length + 2L) / 3 * 4 + a.name().length() * 6L + 100;
            if (size > room) {
                text.append("\n[file ").append(a.name()).append(" not sent: a webhook carries at most 1 MiB]");
                continue;
            }
            room -= size;
            files.addObject().put("name", a.name()).put("media_type", a.mediaType())
                    .put("data_base64", Base64.getEncoder().encodeToString(a.data()));
        }
        data.put("text", text.toString());
        ObjectNode root = JSON.createObjectNode();
        root.put("type", "message.reply");
        root.put("timestamp", context.clock().instant().toString());
        root.set("data", data);
        try {
            byte[] body = JSON.writeValueAsBytes(root);
            if (body.length > MAX_DELIVERY_BYTES) {
                throw new ChannelException("the answer is " + body.length + " bytes; a webhook carries at most 1 MiB", false);
            }
            return body;
        } catch (JsonProcessingException e) {
            throw new ChannelException("the answer could not be written as JSON", false, e);
        }
    }

    @Override
    public String test() throws ChannelException {
        List<String> names = new ArrayList<>(settings.secrets());
        names.addAll(settings.deliverSecrets());
        for (String name : names) {
            try {
                StandardWebhooks.key(context.secrets().value(name));
            } catch (IllegalArgumentException e) {
                throw new ChannelException("channel " + spec.id() + ": secret '" + name + "' is empty", false);
            }
        }
        return "webhook channel " + spec.id() + ": " + settings.secrets().size() + " verification key(s) readable; answers go to "
                + (settings.deliverTo() == null ? "each message's reply_to" : settings.deliverTo().getScheme() + "://"
                + settings.deliverTo().getHost());
    }

    @Override
    public void close() { inbox = null; }
}
