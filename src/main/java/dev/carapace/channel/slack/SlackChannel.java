package dev.carapace.channel.slack;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
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
import dev.carapace.text.Excerpt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A Slack app as a channel: people mention the bot in a channel, or write to it directly, and its agent answers in
 * the message's thread. One thread is one conversation, so one agent session.
 *
 * <p>Events arrive either pushed by Slack's Events API to {@code POST /hooks/CHANNEL} ({@link #receive}: the
 * signature is checked before anything else is read) or over a Socket Mode WebSocket ({@link SlackSocket}); both
 * hand each {@code event_callback} to {@link #take}, which stores the message in the {@link Inbox} before Slack is
 * answered 200 or the envelope acknowledged, so a message Slack saw taken is never lost. Slack delivers an event again
 * when it got no 200 within 3 s; the message id is the channel and the message's {@code ts} (Slack's own id for a
 * message), so a retry, or the same message arriving as two events, is stored and answered once.
 *
 * <p>Who: the sender is {@code slack:TEAM:USER}, the user's own workspace and id (a user of another organisation in
 * a shared channel has their own team, so no one can pass for a bound user by id alone). Where: the address routes
 * match is the channel's id ({@code C...}), or {@code im} for a direct message.
 */
public final class SlackChannel implements PushChannel {

    private static final Logger log = LoggerFactory.getLogger(SlackChannel.class);

    /** The largest pushed body read: Slack's events are a few kilobytes; this leaves room for long messages. */
    static final int MAX_BODY_BYTES = 1 << 20;
    /** Slack cuts a message's text at 40,000 characters; longer answers go as several messages. */
    static final int MAX_TEXT_CHARS = 35_000;
    private static final int REMEMBERED_PARTS = 1_000;

    private final ChannelContext context;
    private final ChannelSpec spec;
    private final SlackSettings settings;
    private final HttpClient http;
    private final SlackApi api;
    private final SlackSocket socket;
    /** Parts of replies already sent (idempotency key and part): a retried send does not post them again. */
    private final Set<String> sentParts = Collections.synchronizedSet(Collections.newSetFromMap(
            new LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) { return size() > REMEMBERED_PARTS; }
            }));
    private volatile Inbox inbox;
    /** The bot's own user id, once {@code auth.test} told it. */
    private volatile String botUser;

    public SlackChannel(ChannelContext context) {
        this.context = context;
        this.spec = context.spec();
        if (!(spec.settings() instanceof SlackSettings s)) {
            throw new IllegalArgumentException("channel '" + spec.id() + "' has no slack settings");
        }
        this.settings = s;
        // redirects are never followed by the client: SlackApi decides which it follows, without the token leaving
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NEVER).build();
        this.api = new SlackApi(s.apiBase(), s.filesBase(), http);
        this.socket = s.mode() == SlackSettings.Mode.SOCKET
                ? new SlackSocket(spec.id(), api, http, () -> context.secrets().value(s.appTokenSecret()), this::take)
                : null;
    }

    @Override
    public String id() { return spec.id(); }

    @Override
    public String kind() { return "slack"; }

    /** A direct message only; a channel's thread (and a group DM) is read by everyone in it. */
    @Override
    public boolean privateTo(Inbound in) { return "im".equals(in.address()); }

    @Override
    public long maxBodyBytes() { return MAX_BODY_BYTES; }

    @Override
    public void start(Inbox inbox) {
        this.inbox = inbox;
        if (socket != null) socket.start();
    }

    // ---- the way in ---------------------------------------------------------------------------------------------

    @Override
    public HookResponse receive(HookRequest request) {
        if (settings.mode() != SlackSettings.Mode.EVENTS) {
            return HookResponse.error(404, "not_found", "this Slack channel receives events over Socket Mode, not here");
        }
        if (request.body().length > MAX_BODY_BYTES) {
            return HookResponse.error(413, "too_large", "the body is " + request.body().length + " bytes; at most "
                    + MAX_BODY_BYTES + " are taken");
        }
        String secret;
        try {
            secret = context.secrets().value(settings.signingSecretSecret());
        } catch (ChannelException e) {
            log.warn("channel {}: the signing secret is unavailable: {}", spec.id(), e.getMessage());
            return HookResponse.error(503, "unavailable", "the channel cannot check signatures now");
        }
        String problem = SlackSignature.problem(secret, request.header("x-slack-request-timestamp"),
                request.header("x-slack-signature"), request.body(), context.clock().instant());
        if (problem != null) {
            log.info("channel {}: refused a request from {}: {}", spec.id(), request.remoteAddress(), problem);
            return HookResponse.error(401, "bad_signature", problem);
        }
        JsonNode envelope;
        try {
            envelope = SlackApi.JSON.readTree(request.body());
        } catch (JsonProcessingException e) {
            String at = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column "
                    + e.getLocation().getColumnNr();
            return HookResponse.error(400, "malformed", "the body is not JSON" + at + ": "
                    + Excerpt.clip(String.valueOf(e.getOriginalMessage()), 120));
        } catch (IOException e) {
            return HookResponse.error(400, "malformed", "the body could not be read as JSON");
        }
        if (envelope == null || !envelope.isObject() || SlackEvent.text(envelope, "type") == null) {
            return HookResponse.error(400, "malformed", "expected a JSON object with a \"type\" (url_verification or "
                    + "event_callback)");
        }
        String retry = request.header("x-slack-retry-num");
        if (retry != null) {
            log.info("channel {}: Slack delivers again (retry {}, {})", spec.id(), Excerpt.clip(retry, 10),
                    Excerpt.clip(String.valueOf(request.header("x-slack-retry-reason")), 40));
        }
        return switch (SlackEvent.text(envelope, "type")) {
            case "url_verification" -> challenge(envelope);
            case "event_callback" -> take(envelope) ? HookResponse.ok()
                    : HookResponse.error(503, "unavailable", "the message could not be stored; send it again later");
            case "app_rate_limited" -> {
                log.warn("channel {}: Slack is holding back events: the app is over its rate limit", spec.id());
                yield HookResponse.ok();
            }
            default -> HookResponse.ok();   // other callback types: nothing to do, and nothing to retry
        };
    }

    private static HookResponse challenge(JsonNode envelope) {
        String challenge = SlackEvent.text(envelope, "challenge");
        if (challenge == null || challenge.isEmpty() || challenge.length() > 200) {
            return HookResponse.error(400, "malformed", "url_verification needs a \"challenge\" string of 1 to 200 "
                    + "characters");
        }
        return HookResponse.json(200, SlackApi.JSON.createObjectNode().put("challenge", challenge).toString());
    }

    /**
     * Takes an {@code event_callback} envelope: a message to the bot is stored (with its files) in the inbox; any
     * other event is dropped.
     *
     * @return true when Slack may be told it was taken: stored now or before, or not for Carapace; false when it
     *         could not be stored, so Slack must deliver it again
     */
    boolean take(JsonNode envelope) {
        SlackEvent.Parsed parsed = SlackEvent.parse(envelope, botUser);
        if (parsed instanceof SlackEvent.Ignored(String reason)) {
            log.debug("channel {}: event not taken: {}", spec.id(), reason);
            return true;
        }
        SlackEvent e = ((SlackEvent.Taken) parsed).event();
        Inbox to = inbox;
        if (to == null) {
            log.warn("channel {}: an event arrived before the channel started; Slack will send it again", spec.id());
            return false;
        }
        StringBuilder text = new StringBuilder(e.text());
        List<Attachment> files = e.automated() ? List.of() : download(e.files(), text);
        Inbound in = new Inbound(spec.id(), e.channel() + ":" + e.ts(), new Sender("slack", e.team() + ":" + e.user(), null),
                e.direct() ? "im" : e.channel(), e.channel() + ":" + e.threadRoot(), text.toString(), files,
                Map.of("channel", e.channel(), "thread_ts", e.threadRoot()), e.automated(), context.clock().instant());
        try {
            to.receive(in);
            return true;
        } catch (ChannelException ex) {
            log.warn("channel {}: message {} not stored ({}); Slack will send it again", spec.id(), in.messageId(),
                    ex.getMessage());
            return false;
        }
    }

    /**
     * The message's files, fetched with the bot token within the channel's limits; a file not taken is named in the
     * text with the reason, so the agent and the person can tell.
     */
    private List<Attachment> download(List<SlackEvent.SlackFile> files, StringBuilder text) {
        List<Attachment> out = new ArrayList<>();
        for (SlackEvent.SlackFile f : files) {
            String type = mediaType(f.mediaType());
            String name = Excerpt.clip(f.name().isEmpty() ? "(unnamed)" : f.name(), 80);
            String skipped = null;
            if (out.size() >= SlackEvent.MAX_FILES) {
                skipped = "at most " + SlackEvent.MAX_FILES + " files a message";
            } else if (!spec.takes(type)) {
                skipped = "type " + Excerpt.clip(type, 60) + " is not taken here";
            } else if (f.size() > spec.maxAttachmentBytes()) {
                skipped = f.size() + " bytes; at most " + spec.maxAttachmentBytes() + " are taken";
            } else {
                try {
                    out.add(new Attachment(f.name(), type, api.download(f.url(), this::botToken, spec.maxAttachmentBytes())));
                } catch (ChannelException ex) {
                    skipped = ex.getMessage();
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    skipped = "the gateway is stopping";
                }
            }
            if (skipped != null) {
                text.append(text.isEmpty() ? "" : "\n").append("[file ").append(name).append(" dropped: ")
                        .append(skipped).append(']');
            }
        }
        return out;
    }

    private static String mediaType(String declared) {
        int semi = declared.indexOf(';');
        String t = (semi >= 0 ? declared.substring(0, semi) : declared).strip().toLowerCase(Locale.ROOT);
        return t.matches("[a-z0-9][a-z0-9.+-]{0,60}/[a-z0-9][a-z0-9.+-]{0,120}") ? t : "application/octet-stream";
    }

    // ---- the way out --------------------------------------------------------------------------------------------

    /**
     * Posts the text in the thread of the message answered ({@code chat.postMessage} with {@code thread_ts}), in
     * parts when longer than Slack takes, then the files ({@code files.getUploadURLExternal}, the bytes, then
     * {@code files.completeUploadExternal} into the same thread). The text is escaped so it is only text: an answer
     * cannot notify a whole channel ({@code <!channel>}) or forge a link; links are not unfurled.
     */
    @Override
    public void send(Outbound message) throws ChannelException, InterruptedException {
        String channel = message.reply().get("channel");
        String thread = message.reply().get("thread_ts");
        if (channel == null || !SlackEvent.ID.matcher(channel).matches()) {
            throw new ChannelException("no Slack channel to answer in (the message carries no reply context)", false);
        }
        if (thread != null && !SlackEvent.TS.matcher(thread).matches()) thread = null;
        List<String> parts = parts(message.text());
        for (int i = 0; i < parts.size(); i++) {
            String key = message.idempotency() == null ? null : message.idempotency() + "#" + i;
            if (key != null && sentParts.contains(key)) continue;
            ObjectNode body = SlackApi.JSON.createObjectNode().put("channel", channel).put("text", escape(parts.get(i)))
                    .put("unfurl_links", false).put("unfurl_media", false);
            if (thread != null) body.put("thread_ts", thread);
            api.call("chat.postMessage", this::botToken, body);
            if (key != null) sentParts.add(key);
        }
        if (!message.attachments().isEmpty()) upload(channel, thread, message.attachments());
    }

    private void upload(String channel, String thread, List<Attachment> files) throws ChannelException, InterruptedException {
        ArrayNode ids = SlackApi.JSON.createArrayNode();
        for (Attachment a : files) {
            String name = fileName(a.name());
            JsonNode url = api.callForm("files.getUploadURLExternal", this::botToken,
                    SlackApi.form("filename", name, "length", Integer.toString(a.data().length)));
            String uploadUrl = SlackEvent.text(url, "upload_url");
            String fileId = SlackEvent.text(url, "file_id");
            if (uploadUrl == null || fileId == null) {
                throw new ChannelException("Slack files.getUploadURLExternal: no upload_url or file_id in the answer", true);
            }
            URI target;
            try {
                target = URI.create(uploadUrl);
            } catch (IllegalArgumentException e) {
                throw new ChannelException("Slack files.getUploadURLExternal: the upload_url is malformed", false);
            }
            api.uploadBytes(target, a.data());
            ids.addObject().put("id", fileId).put("title", name);
        }
        ObjectNode complete = SlackApi.JSON.createObjectNode();
        complete.set("files", ids);
        complete.put("channel_id", channel);
        if (thread != null) complete.put("thread_ts", thread);
        api.call("files.completeUploadExternal", this::botToken, complete);
    }

    /** The text in parts Slack takes whole, cut at a line break where there is one; none when blank. */
    static List<String> parts(String text) {
        List<String> out = new ArrayList<>();
        String rest = text;
        while (rest.length() > MAX_TEXT_CHARS) {
            int cut = rest.lastIndexOf('\n', MAX_TEXT_CHARS);
            if (cut < MAX_TEXT_CHARS / 2) cut = MAX_TEXT_CHARS;
            if (Character.isHighSurrogate(rest.charAt(cut - 1))) cut--;
            out.add(rest.substring(0, cut));
            rest = rest.substring(cut).stripLeading();
        }
        if (!rest.isBlank()) out.add(rest);
        return out;
    }

    /** Slack's three escapes: what is left is shown as written, never read as a mention, a link or a command. */
    static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    /** A file name Slack shows: the last segment, without control characters, at most 100 characters. */
    static String fileName(String given) {
        String s = given == null ? "" : given;
        s = s.substring(Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\')) + 1);
        StringBuilder sb = new StringBuilder();
        s.codePoints().forEach(cp -> sb.appendCodePoint(Character.isISOControl(cp)
                || dev.carapace.text.Invisible.is(cp) ? '_' : cp));
        String name = sb.toString().strip();
        if (name.isEmpty() || name.equals(".") || name.equals("..")) name = "file";
        return name.codePointCount(0, name.length()) > 100 ? name.substring(0, name.offsetByCodePoints(0, 100)) : name;
    }

    private String botToken() throws ChannelException { return context.secrets().value(settings.botTokenSecret()); }

    // ---- checks and end -----------------------------------------------------------------------------------------

    /** {@code auth.test} with the bot token; in events mode, the signing secret must be readable too. */
    @Override
    public String test() throws ChannelException, InterruptedException {
        if (settings.mode() == SlackSettings.Mode.EVENTS) context.secrets().value(settings.signingSecretSecret());
        if (settings.mode() == SlackSettings.Mode.SOCKET) context.secrets().value(settings.appTokenSecret());
        JsonNode me = api.call("auth.test", this::botToken, null);
        String user = SlackEvent.text(me, "user_id");
        if (user != null && SlackEvent.ID.matcher(user).matches()) botUser = user;
        return "Slack auth.test: bot user " + Excerpt.clip(String.valueOf(user), 40) + " ("
                + Excerpt.clip(String.valueOf(SlackEvent.text(me, "user")), 60) + ") in workspace "
                + Excerpt.clip(String.valueOf(SlackEvent.text(me, "team_id")), 40) + " ("
                + Excerpt.clip(String.valueOf(SlackEvent.text(me, "team")), 60) + "), events by "
                + settings.mode().name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void close() {
        if (socket != null) socket.close();
        http.shutdownNow();
    }
}
