package dev.carapace.channel.telegram;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.channel.Attachment;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.HookRequest;
import dev.carapace.channel.HookResponse;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Inbox;
import dev.carapace.channel.Outbound;
import dev.carapace.channel.PushChannel;
import dev.carapace.text.Excerpt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Telegram bot as a channel.
 *
 * <h2>Receiving</h2>
 * <b>Polling</b> ({@code mode: polling}): {@link #start} runs {@code getUpdates} in a loop on a virtual thread of its
 * own, with the offset kept in the channel's state. Each update goes to the {@link Inbox}, and only once the inbox
 * returned is the next offset stored (and so, at the next {@code getUpdates}, the update confirmed to Telegram): a
 * {@code kill -9} at any point neither loses an update nor handles one twice (the inbox drops the repeat). When the
 * inbox refuses, the same update comes again after a back-off. A 429's {@code retry_after} is waited out; a 409 (a
 * webhook is set, or another process polls the same bot) is logged plainly and retried with back-off.
 * <br><b>Webhook</b> ({@code mode: webhook}): {@link #receive} takes {@code POST /hooks/CHANNEL} after checking
 * {@code X-Telegram-Bot-Api-Secret-Token} in constant time, and answers 200 only once the inbox took the update.
 *
 * <h2>Sending</h2>
 * Text goes as plain text (no {@code parse_mode}: what a model writes cannot become markup or links), cut into parts
 * of at most 4096 characters, the first replying to the user's message ({@code reply_parameters}) in its chat and
 * forum topic. Files follow: OGG audio as a voice note, other audio with {@code sendAudio}, pictures with
 * {@code sendPhoto}, anything else as a document. A {@code retry_after} up to {@link #LONGEST_WAIT_IN_SEND} is waited
 * out in place; a longer one is a retryable failure. Parts already sent are remembered per idempotency key, so the
 * hub's retry sends only what is missing (at least once across a restart: Telegram has no idempotency key).
 *
 * <h2>The token</h2>
 * It is in every Bot API URL; see {@link BotApi}. Nothing logged, thrown or answered here holds it.
 */
public final class TelegramChannel implements PushChannel {

    private static final Logger log = LoggerFactory.getLogger(TelegramChannel.class);
    static final String OFFSET = "offset";
    static final Duration LONGEST_WAIT_IN_SEND = Duration.ofSeconds(30);
    private static final Duration LONGEST_BACKOFF = Duration.ofMinutes(1);
    private static final long MAX_PHOTO_UPLOAD = 10L << 20;
    private static final long MAX_UPLOAD = 50L << 20;
    /** The largest update taken in webhook mode: an update is text and file ids (files are fetched apart), a few KB. */
    static final int MAX_BODY_BYTES = 1 << 20;
    private static final int REMEMBERED_SENDS = 1000;
    /** Polled attempts at an update whose file Telegram cannot serve before it is taken without the file. */
    static final int FILE_ATTEMPTS = 5;

    /** How the channel waits (a back-off, a {@code retry_after}): a test seam, so a test need not sleep. */
    interface Pause {
        void pause(Duration d) throws InterruptedException;
    }

    private final ChannelContext context;
    private final TelegramSettings settings;
    private final BotApi api;
    private final UpdateReader reader;
    private final Pause pause;
    private final Duration firstBackoff;
    /** Idempotency key -> messages of it already sent (text parts, then files). */
    private final Map<String, Integer> sent = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Integer> eldest) { return size() > REMEMBERED_SENDS; }
    };
    private volatile Inbox inbox;
    private volatile Thread poller;
    private volatile boolean closed;
    /** The polled update whose files failed last, and how many times in a row (the poller's own). */
    private long failing = -1;
    private int failures;

    public TelegramChannel(ChannelContext context) {
        this(context, Thread::sleep, Duration.ofSeconds(1));
    }

    TelegramChannel(ChannelContext context, Pause pause, Duration firstBackoff) {
        if (!(context.spec().settings() instanceof TelegramSettings s)) {
            throw new IllegalArgumentException("channel '" + context.spec().id() + "' has no telegram settings");
        }
        // the names are not echoed: one written where a name belongs may be the secret itself
        if (!context.secrets().has(s.tokenSecret())) {
            throw new IllegalArgumentException("channel '" + context.spec().id() + "': telegram.token_secret names no "
                    + "entry of secrets:");
        }
        if (s.webhookSecretSecret() != null && !context.secrets().has(s.webhookSecretSecret())) {
            throw new IllegalArgumentException("channel '" + context.spec().id() + "': telegram.webhook_secret_secret "
                    + "names no entry of secrets:");
        }
        this.context = context;
        this.settings = s;
        this.api = new BotApi(s.apiBase(), context.secrets(), s.tokenSecret());
        this.reader = new UpdateReader(context.spec(), s, api, context.clock());
        this.pause = pause;
        this.firstBackoff = firstBackoff;
    }

    @Override
    public String id() { return context.spec().id(); }

    @Override
    public String kind() { return "telegram"; }

    /** A private chat only (its id is the user's); a group is read by all its members. */
    @Override
    public boolean privateTo(Inbound in) { return in.address().equals(in.sender().id()); }

    @Override
    public long maxBodyBytes() { return MAX_BODY_BYTES; }

    @Override
    public void start(Inbox inbox) {
        this.inbox = inbox;
        if (settings.mode() == TelegramSettings.Mode.POLLING && poller == null && !closed) {
            poller = Thread.ofVirtual().name("telegram-" + id() + "-poll").start(this::poll);
        }
    }

    // ---- polling ------------------------------------------------------------------------------------------------

    private void poll() {
        Duration backoff = firstBackoff;
        boolean conflictSaid = false;
        Long offset = storedOffset();
        while (!closed) {
            try {
                ObjectNode params = BotApi.JSON.createObjectNode();
                if (offset != null) params.put("offset", offset);
                params.put("timeout", settings.pollTimeout().toSeconds());
                params.putArray("allowed_updates").add("message");
                JsonNode updates = api.call("getUpdates", params, settings.pollTimeout().plusSeconds(15));
                if (!updates.isArray()) throw BotApiException.of(BotApiException.Kind.SERVER, "getUpdates: result is not a list");
                conflictSaid = false;
                Long before = offset;
                for (JsonNode update : updates) {
                    long updateId;
                    try {
                        updateId = UpdateReader.updateId(update);
                    } catch (UpdateReader.Malformed e) {
                        log.warn("channel {}: an update without a valid update_id was skipped: {}", id(), e.getMessage());
                        continue;
                    }
                    if (offset != null && updateId < offset) continue;   // confirmed before
                    take(update, updateId);
                    offset = updateId + 1;
                    context.state().put(OFFSET, Long.toString(offset));
                }
                if (!updates.isEmpty() && java.util.Objects.equals(before, offset)) {
                    // only updates without a usable update_id: asking again at once would get them again at once
                    if (!sleep(backoff)) return;
                    backoff = longer(backoff);
                } else {
                    backoff = firstBackoff;
                }
            } catch (BotApiException e) {
                if (closed) return;
                Duration wait = backoff;
                if (e.kind() == BotApiException.Kind.RATE_LIMITED) {
                    wait = e.retryAfter();
                    log.info("channel {}: Telegram asks to wait {} s ({})", id(), wait.toSeconds(), e.getMessage());
                } else if (e.code() == 409) {
                    if (!conflictSaid) {
                        log.warn("channel {}: Telegram refuses getUpdates (409): a webhook is set for this bot, or another "
                                + "process polls it. Remove the webhook (deleteWebhook) or set mode: webhook; polling again "
                                + "with back-off. ({})", id(), e.getMessage());
                    }
                    conflictSaid = true;
                    backoff = longer(backoff);
                } else if (e.code() == 401 || e.code() == 404) {
                    log.error("channel {}: Telegram does not know this bot token ({}); check secret '{}'", id(),
                            e.getMessage(), settings.tokenSecret());
                    backoff = longer(longer(backoff));
                } else {
                    log.warn("channel {}: polling failed, again in {} ms: {}", id(), wait.toMillis(), e.getMessage());
                    backoff = longer(backoff);
                }
                if (!sleep(wait)) return;
            } catch (ChannelException e) {
                log.warn("channel {}: the inbox did not take an update ({}); it comes again in {} ms", id(),
                        e.getMessage(), backoff.toMillis());
                if (!sleep(backoff)) return;
                backoff = longer(backoff);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.warn("channel {}: polling failed, again in {} ms: {}", id(), backoff.toMillis(), e.toString());
                if (!sleep(backoff)) return;
                backoff = longer(backoff);
            }
        }
    }

    /**
     * One polled update into the inbox. A malformed one is logged and passed over (Telegram would send it forever);
     * one whose file cannot be fetched is tried again, and after {@link #FILE_ATTEMPTS} taken without the file.
     */
    private void take(JsonNode update, long updateId) throws BotApiException, ChannelException, InterruptedException {
        Inbound in;
        try {
            in = reader.read(update, !(failing == updateId && failures >= FILE_ATTEMPTS - 1));
        } catch (UpdateReader.Malformed e) {
            log.warn("channel {}: update {} skipped: {}", id(), updateId, e.getMessage());
            return;
        } catch (BotApiException e) {
            failures = failing == updateId ? failures + 1 : 1;
            failing = updateId;
            throw e;
        }
        if (in != null) inbox.receive(in);
    }

    private Long storedOffset() {
        String stored = context.state().get(OFFSET).orElse(null);
        if (stored == null) return null;
        try {
            return Long.parseLong(stored);
        } catch (NumberFormatException e) {
            log.warn("channel {}: the stored offset '{}' is not a number; polling from Telegram's oldest unconfirmed "
                    + "update", id(), Excerpt.clip(stored, 40));
            return null;
        }
    }

    private boolean sleep(Duration d) {
        if (closed) return false;
        try {
            pause.pause(d);
            return !closed;
        } catch (InterruptedException e) {
            return false;
        }
    }

    private static Duration longer(Duration d) {
        Duration twice = d.multipliedBy(2);
        return twice.compareTo(LONGEST_BACKOFF) > 0 ? LONGEST_BACKOFF : twice;
    }

    // ---- webhook ------------------------------------------------------------------------------------------------

    @Override
    public HookResponse receive(HookRequest request) {
        if (settings.mode() != TelegramSettings.Mode.WEBHOOK) {
            return HookResponse.error(404, "not_webhook", "channel '" + id() + "' receives by polling, not by webhook");
        }
        if (!request.path().isEmpty()) {
            return HookResponse.error(404, "not_found", "Telegram's webhook is /hooks/" + id() + ", with nothing after it");
        }
        if (request.body().length > MAX_BODY_BYTES) {
            return HookResponse.error(413, "too_large", "the body is " + request.body().length + " bytes; an update is at most "
                    + MAX_BODY_BYTES);
        }
        String expected;
        try {
            expected = context.secrets().value(settings.webhookSecretSecret());
        } catch (ChannelException e) {
            log.warn("channel {}: {}", id(), e.getMessage());
            return HookResponse.error(503, "unavailable", "the webhook's secret cannot be read now");
        }
        if (!sameSecret(request.header("X-Telegram-Bot-Api-Secret-Token"), expected)) {
            return HookResponse.error(401, "bad_secret", "X-Telegram-Bot-Api-Secret-Token is missing or wrong");
        }
        Inbox target = inbox;
        if (target == null || closed) return HookResponse.error(503, "unavailable", "the channel is not receiving now");
        JsonNode update;
        try {
            update = BotApi.JSON.readTree(request.body());
        } catch (java.io.IOException e) {
            return HookResponse.error(400, "malformed", "the body is not JSON: expected one Telegram Update object");
        }
        try {
            Inbound in = reader.read(update, true);
            if (in != null) target.receive(in);
            return HookResponse.ok();
        } catch (UpdateReader.Malformed e) {
            return HookResponse.error(400, "malformed", "not a Telegram Update: " + e.getMessage());
        } catch (BotApiException e) {
            log.info("channel {}: an update's file could not be fetched now ({}); Telegram will send it again", id(),
                    e.getMessage());
            return HookResponse.error(503, "unavailable", "a file of the update could not be fetched now");
        } catch (ChannelException e) {
            return HookResponse.error(503, "unavailable", "the update could not be stored now");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return HookResponse.error(503, "unavailable", "the gateway is shutting down");
        }
    }

    /** Whether {@code given} is the secret, compared in time that depends on neither (both hashed first). */
    private static boolean sameSecret(String given, String expected) {
        if (given == null || expected == null || expected.isEmpty()) return false;
        try {
            MessageDigest a = MessageDigest.getInstance("SHA-256");
            MessageDigest b = MessageDigest.getInstance("SHA-256");
            return MessageDigest.isEqual(a.digest(given.getBytes(StandardCharsets.UTF_8)),
                    b.digest(expected.strip().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- sending ------------------------------------------------------------------------------------------------

    @Override
    public void send(Outbound message) throws ChannelException, InterruptedException {
        Target to = target(message);
        List<String> parts = TextParts.split(message.text(), TextParts.MAX);
        String key = message.idempotency();
        int done;
        synchronized (sent) {
            done = key == null ? 0 : sent.getOrDefault(key, 0);
        }
        int step = 0;
        for (String part : parts) {
            if (step++ < done) continue;
            ObjectNode params = to.params(step == 1);
            params.put("text", part);
            to = call(to, "sendMessage", params, null, null, null);
            remember(key, step);
        }
        for (Attachment file : message.attachments()) {
            if (step++ < done) continue;
            to = sendFile(to, file, step == 1);
            remember(key, step);
        }
        if (key != null) {
            synchronized (sent) {
                sent.remove(key);
            }
        }
    }

    private Target sendFile(Target to, Attachment file, boolean first) throws ChannelException, InterruptedException {
        String type = file.mediaType();
        String method;
        String field;
        if (type.equals("audio/ogg") || type.equals("audio/opus")) {
            method = "sendVoice";
            field = "voice";
        } else if (file.isAudio()) {
            method = "sendAudio";
            field = "audio";
        } else if ((type.equals("image/jpeg") || type.equals("image/png") || type.equals("image/webp"))
                && file.data().length <= MAX_PHOTO_UPLOAD) {
            method = "sendPhoto";
            field = "photo";
        } else {
            method = "sendDocument";
            field = "document";
        }
        if (file.data().length > MAX_UPLOAD) {
            throw new ChannelException(method + ": the file is " + file.data().length + " bytes; Telegram takes at most "
                    + MAX_UPLOAD, false);
        }
        String name = file.name().isBlank() ? field + extension(type) : file.name();
        return call(to, method, to.params(first), field, file, name);
    }

    /** One Bot API call of a send, waiting out a short {@code retry_after} and following a group's migration. */
    private Target call(Target to, String method, ObjectNode params, String field, Attachment file, String name)
            throws ChannelException, InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                if (file == null) {
                    api.call(method, params);
                } else {
                    Map<String, String> fields = new LinkedHashMap<>();
                    params.properties().forEach(e -> fields.put(e.getKey(), e.getValue().isTextual()
                            ? e.getValue().asText() : e.getValue().toString()));
                    api.upload(method, fields, field, file, name);
                }
                return to;
            } catch (BotApiException e) {
                if (e.migrateTo() != null && attempt == 1) {
                    to = to.movedTo(e.migrateTo());
                    params.put("chat_id", e.migrateTo());
                    continue;
                }
                if (e.kind() == BotApiException.Kind.RATE_LIMITED && attempt < 3
                        && e.retryAfter().compareTo(LONGEST_WAIT_IN_SEND) <= 0) {
                    log.info("channel {}: {}; waiting {} s as Telegram asks", id(), e.getMessage(), e.retryAfter().toSeconds());
                    pause.pause(e.retryAfter());
                    continue;
                }
                String wait = e.kind() == BotApiException.Kind.RATE_LIMITED
                        ? " (Telegram asks to wait " + e.retryAfter().toSeconds() + " s)" : "";
                throw new ChannelException(e.getMessage() + wait, e.retryable());
            }
        }
    }

    private void remember(String key, int count) {
        if (key == null) return;
        synchronized (sent) {
            sent.put(key, count);
        }
    }

    private static String extension(String type) {
        return switch (type) {
            case "audio/ogg", "audio/opus" -> ".ogg";
            case "audio/mpeg" -> ".mp3";
            case "image/jpeg" -> ".jpg";
            case "image/png" -> ".png";
            case "application/pdf" -> ".pdf";
            default -> "";
        };
    }

    /** Where a message goes: the chat, the forum topic, the message it replies to. */
    private record Target(long chat, Long topic, Long replyTo) {

        ObjectNode params(boolean first) {
            ObjectNode p = BotApi.JSON.createObjectNode().put("chat_id", chat);
            if (topic != null) p.put("message_thread_id", topic);
            if (first && replyTo != null) {
                p.putObject("reply_parameters").put("message_id", replyTo).put("allow_sending_without_reply", true);
            }
            return p;
        }

        Target movedTo(long newChat) { return new Target(newChat, topic, null); }
    }

    /** The chat of a reply (from the message's reply context, else its conversation {@code CHAT[:TOPIC]}). */
    private Target target(Outbound message) throws ChannelException {
        Map<String, String> reply = message.reply();
        String conversation = message.conversation() == null ? "" : message.conversation();
        int colon = conversation.indexOf(':');
        String chat = reply.getOrDefault("chat_id", colon < 0 ? conversation : conversation.substring(0, colon));
        String topic = reply.getOrDefault("message_thread_id", colon < 0 ? null : conversation.substring(colon + 1));
        try {
            return new Target(Long.parseLong(chat), topic == null ? null : Long.parseLong(topic),
                    reply.containsKey("message_id") ? Long.parseLong(reply.get("message_id")) : null);
        } catch (NumberFormatException e) {
            throw new ChannelException("no Telegram chat to send to: conversation '" + Excerpt.clip(conversation, 40)
                    + "' is not CHAT_ID[:TOPIC_ID]", false);
        }
    }

    // ---- test and close -----------------------------------------------------------------------------------------

    @Override
    public String test() throws ChannelException, InterruptedException {
        try {
            JsonNode me = api.call("getMe", BotApi.JSON.createObjectNode());
            JsonNode hook = api.call("getWebhookInfo", BotApi.JSON.createObjectNode());
            String url = hook.path("url").asText("");
            String line = "getMe: @" + me.path("username").asText("?") + " (id " + me.path("id").asText("?") + ")";
            if (settings.mode() == TelegramSettings.Mode.POLLING && !url.isEmpty()) {
                return line + "; but a webhook is set, so getUpdates will be refused (409): remove it with deleteWebhook "
                        + "or set mode: webhook";
            }
            if (settings.mode() == TelegramSettings.Mode.WEBHOOK && url.isEmpty()) {
                return line + "; no webhook is set: call setWebhook with this gateway's /hooks/" + id()
                        + " and the secret_token of secret '" + settings.webhookSecretSecret() + "'";
            }
            String error = hook.path("last_error_message").asText("");
            return line + "; " + (settings.mode() == TelegramSettings.Mode.POLLING ? "polling"
                    : "webhook set, " + hook.path("pending_update_count").asLong(0) + " update(s) pending"
                    + (error.isEmpty() ? "" : ", last error: " + Excerpt.clip(error, 120)));
        } catch (BotApiException e) {
            throw new ChannelException(e.getMessage(), e.retryable());
        }
    }

    @Override
    public void close() {
        closed = true;
        Thread t = poller;
        if (t != null) t.interrupt();
        api.close();   // ends a long poll in progress at once
        if (t != null) {
            try {
                t.join(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
