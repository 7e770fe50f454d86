package dev.carapace.channel.telegram;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.channel.Attachment;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Sender;
import dev.carapace.text.Excerpt;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads one Bot API {@code Update} as the {@link Inbound} the inbox takes, or as nothing (an update of another type,
 * a group message not for the bot). Every field is checked before it is used: in webhook mode the update comes from
 * whoever knows the webhook's secret.
 *
 * <ul>
 *   <li>message id: {@code BOT_ID:UPDATE_ID}, so a redelivered update is the same message and two bots' updates
 *       never are;</li>
 *   <li>sender: {@code telegram:USER_ID} (the id never changes; a username can), named by the username or the first
 *       and last names; a bot, or a message sent on behalf of a chat, is automated;</li>
 *   <li>address: the chat id (routes can send a group to its own agent; {@code *} for any chat); conversation: the
 *       chat, or {@code CHAT:TOPIC} in a forum topic;</li>
 *   <li>files: a voice note ({@code audio/ogg}), an audio file, the largest photo size within the limit
 *       ({@code image/jpeg}) and a document are downloaded (at most {@code max_attachment_bytes} and Telegram's
 *       20 MB); one too big or of a type not taken is not downloaded, and the text says so.</li>
 * </ul>
 */
final class UpdateReader {

    /** An update that is not the Bot API's shape: a webhook caller's mistake (400), or skipped when polled. */
    static final class Malformed extends Exception {
        Malformed(String message) { super(message); }
    }

    /** The bot, as {@code getMe} says: to tell a mention of it, a command to it, a reply to it. */
    record Me(long id, String username) {}

    private static final Pattern MEDIA_TYPE = Pattern.compile("[a-z0-9][a-z0-9.+-]{0,63}/[a-z0-9][a-z0-9.+-]{0,127}");
    private static final Pattern USERNAME = Pattern.compile("[A-Za-z0-9_]{1,64}");

    private final ChannelSpec spec;
    private final TelegramSettings settings;
    private final BotApi api;
    private final Clock clock;
    private volatile Me me;

    UpdateReader(ChannelSpec spec, TelegramSettings settings, BotApi api, Clock clock) {
        this.spec = spec;
        this.settings = settings;
        this.api = api;
        this.clock = clock;
    }

    /** The update's {@code update_id}. */
    static long updateId(JsonNode update) throws Malformed {
        if (update == null || !update.isObject()) throw new Malformed("an update is a JSON object");
        long id = integer(update, "update_id", "update");
        if (id < 0) throw new Malformed("update.update_id: expected a non-negative integer, got " + id);
        return id;
    }

    /**
     * The update as a message for the inbox, or null when it is none: not a {@code message}, a channel's post, or a
     * group message the {@code groups} setting leaves out. Files are downloaded here.
     *
     * @param filesNow whether a file that cannot be fetched now fails the update (so it comes again), or is given up
     *                 and named in the text (a poller that tried often enough, so one file cannot hold up the chat)
     * @throws Malformed        not the Bot API's shape
     * @throws BotApiException  a file could not be fetched now ({@link BotApiException#retryable()}): not acknowledged
     */
    Inbound read(JsonNode update, boolean filesNow) throws Malformed, BotApiException, InterruptedException {
        long updateId = updateId(update);
        JsonNode message = update.get("message");
        if (message == null || message.isNull()) return null;
        if (!message.isObject()) throw new Malformed("update.message: expected an object");
        JsonNode chat = object(message, "chat", "update.message");
        long chatId = integer(chat, "id", "update.message.chat");
        String chatType = string(chat, "type", "update.message.chat");
        long messageId = integer(message, "message_id", "update.message");
        String text = optionalString(message, "text", "update.message");
        JsonNode entities = message.get("entities");
        if (text == null) {
            text = optionalString(message, "caption", "update.message");
            entities = message.get("caption_entities");
        }
        text = text == null ? "" : text;
        switch (chatType) {
            case "private" -> { }
            case "group", "supergroup" -> {
                if (settings.groups() == TelegramSettings.Groups.OFF) return null;
                if (settings.groups() == TelegramSettings.Groups.MENTION && !forTheBot(message, text, entities)) return null;
            }
            default -> { return null; }   // a channel's post, or a chat type this reader does not know
        }
        JsonNode from = message.get("from");
        JsonNode senderChat = message.get("sender_chat");
        Sender sender;
        boolean automated;
        if (from != null && from.isObject()) {
            long userId = integer(from, "id", "update.message.from");
            sender = new Sender("telegram", Long.toString(userId), name(from));
            automated = from.path("is_bot").asBoolean(false) || senderChat != null && senderChat.isObject();
        } else {
            // sent on behalf of a chat (an anonymous admin, a linked channel): nobody to bind, never answered
            long id = senderChat != null && senderChat.isObject() ? integer(senderChat, "id", "update.message.sender_chat") : chatId;
            sender = new Sender("telegram", Long.toString(id), null);
            automated = true;
        }
        Long topic = message.path("is_topic_message").asBoolean(false)
                ? integer(message, "message_thread_id", "update.message") : null;
        Map<String, String> reply = new LinkedHashMap<>();
        reply.put("chat_id", Long.toString(chatId));
        reply.put("message_id", Long.toString(messageId));
        if (topic != null) reply.put("message_thread_id", Long.toString(topic));
        StringBuilder body = new StringBuilder(text);
        List<Attachment> files = automated ? List.of() : files(message, body, filesNow);
        return new Inbound(spec.id(), api.botId() + ":" + updateId, sender, Long.toString(chatId),
                topic == null ? Long.toString(chatId) : chatId + ":" + topic, body.toString(), files, reply, automated,
                clock.instant());
    }

    /** A group message mentions the bot, is a command to it, or replies to one of its messages. */
    private boolean forTheBot(JsonNode message, String text, JsonNode entities)
            throws BotApiException, InterruptedException {
        Me bot = me();
        JsonNode repliedFrom = message.path("reply_to_message").path("from").path("id");
        if (repliedFrom.isIntegralNumber() && repliedFrom.asLong() == bot.id()) return true;
        if (entities == null || !entities.isArray()) return false;
        String handle = "@" + bot.username();
        for (JsonNode e : entities) {
            JsonNode offset = e.path("offset");
            JsonNode length = e.path("length");
            if (!offset.isIntegralNumber() || !length.isIntegralNumber()) continue;
            long from = offset.asLong();
            long to = from + length.asLong();
            if (from < 0 || to < from || to > text.length()) continue;
            String part = text.substring((int) from, (int) to);
            switch (e.path("type").asText("")) {
                case "mention" -> { if (part.equalsIgnoreCase(handle)) return true; }
                case "bot_command" -> { if (part.regionMatches(true, part.length() - handle.length(), handle, 0, handle.length())
                        && part.length() > handle.length()) return true; }
                case "text_mention" -> {
                    JsonNode id = e.path("user").path("id");
                    if (id.isIntegralNumber() && id.asLong() == bot.id()) return true;
                }
                default -> { }
            }
        }
        return false;
    }

    /** The bot's id and username, asked of {@code getMe} once. */
    Me me() throws BotApiException, InterruptedException {
        Me known = me;
        if (known != null) return known;
        JsonNode result = api.call("getMe", BotApi.JSON.createObjectNode());
        String username = result.path("username").asText("");
        if (!result.path("id").isIntegralNumber() || !USERNAME.matcher(username).matches()) {
            throw BotApiException.of(BotApiException.Kind.SERVER, "getMe: the answer has no bot id and username");
        }
        known = new Me(result.path("id").asLong(), username);
        me = known;
        return known;
    }

    // ---- files ------------------------------------------------------------------------------------------------

    private List<Attachment> files(JsonNode message, StringBuilder text, boolean filesNow)
            throws Malformed, BotApiException, InterruptedException {
        List<Attachment> out = new ArrayList<>();
        JsonNode voice = message.get("voice");
        if (voice != null) take(object(message, "voice", "update.message"), "voice.ogg", "audio/ogg", out, text, filesNow);
        JsonNode audio = message.get("audio");
        if (audio != null) {
            JsonNode a = object(message, "audio", "update.message");
            String type = mediaType(a.path("mime_type").asText(""));
            take(a, fileName(a, "audio"), type.startsWith("audio/") ? type : "audio/mpeg", out, text, filesNow);
        }
        JsonNode photo = message.get("photo");
        if (photo != null) {
            if (!photo.isArray() || photo.isEmpty()) throw new Malformed("update.message.photo: expected a list of sizes");
            take(largestPhoto(photo), "photo.jpg", "image/jpeg", out, text, filesNow);
        }
        JsonNode document = message.get("document");
        if (document != null) {
            JsonNode d = object(message, "document", "update.message");
            take(d, fileName(d, "document"), mediaType(d.path("mime_type").asText("")), out, text, filesNow);
        }
        for (String kind : List.of("video", "video_note", "animation", "sticker")) {
            if (message.has(kind)) note(text, "[a " + kind.replace('_', ' ') + " came with this message; only text, voice "
                    + "notes, audio, photos and documents are taken]");
        }
        return out;
    }

    /** The biggest photo size within the limit (Telegram lists several of one picture); the smallest when none is. */
    private JsonNode largestPhoto(JsonNode sizes) throws Malformed {
        long limit = limit();
        List<JsonNode> all = new ArrayList<>();
        for (JsonNode s : sizes) {
            if (!s.isObject()) throw new Malformed("update.message.photo: expected a list of sizes");
            all.add(s);
        }
        all.sort(Comparator.comparingLong((JsonNode s) -> s.path("width").asLong(0) * s.path("height").asLong(0)).reversed());
        for (JsonNode s : all) {
            JsonNode size = s.path("file_size");
            if (!size.isIntegralNumber() || size.asLong() <= limit) return s;
        }
        return all.getLast();
    }

    /** Downloads one file into {@code out}, or says in {@code text} why it was not taken. */
    private void take(JsonNode file, String name, String mediaType, List<Attachment> out, StringBuilder text,
                      boolean filesNow)
            throws Malformed, BotApiException, InterruptedException {
        String fileId = string(file, "file_id", "update.message file");
        long limit = limit();
        String shown = Excerpt.clip(BotApi.plainName(name), 80);
        if (!spec.takes(mediaType)) {
            note(text, "[file " + shown + " dropped: type " + mediaType + " is not taken here (taken: "
                    + String.join(", ", spec.attachmentTypes()) + ")]");
            return;
        }
        JsonNode declared = file.path("file_size");
        if (declared.isIntegralNumber() && declared.asLong() > limit) {
            note(text, tooBig(shown, declared.asLong() + " bytes", limit));
            return;
        }
        byte[] data;
        try {
            JsonNode info = api.call("getFile", BotApi.JSON.createObjectNode().put("file_id", fileId));
            JsonNode size = info.path("file_size");
            if (size.isIntegralNumber() && size.asLong() > limit) {
                note(text, tooBig(shown, size.asLong() + " bytes", limit));
                return;
            }
            data = api.download(info.path("file_path").asText(null), limit);
        } catch (BotApiException e) {
            if (e.kind() == BotApiException.Kind.TOO_BIG) {
                note(text, tooBig(shown, "more than " + limit + " bytes", limit));
                return;
            }
            if (e.retryable() && filesNow) throw e;
            note(text, "[file " + shown + " dropped: Telegram would not give it: " + e.getMessage() + "]");
            return;
        }
        out.add(new Attachment(name, mediaType, data));
    }

    private long limit() { return Math.min(spec.maxAttachmentBytes(), BotApi.MAX_DOWNLOAD_BYTES); }

    private static String tooBig(String name, String size, long limit) {
        return "[file " + name + " dropped: " + size + "; at most " + limit + " are taken]";
    }

    private static void note(StringBuilder text, String note) {
        text.append(text.isEmpty() ? "" : "\n").append(note);
    }

    private static String fileName(JsonNode file, String fallback) {
        String name = file.path("file_name").asText("");
        return name.isBlank() ? fallback : Excerpt.clip(name, 200);
    }

    /** A declared media type, lower case without parameters; {@code application/octet-stream} when it is not one. */
    static String mediaType(String declared) {
        String t = declared.toLowerCase(Locale.ROOT);
        int semicolon = t.indexOf(';');
        if (semicolon >= 0) t = t.substring(0, semicolon);
        t = t.strip();
        return MEDIA_TYPE.matcher(t).matches() ? t : "application/octet-stream";
    }

    private static String name(JsonNode from) {
        String username = from.path("username").asText("");
        if (!username.isBlank()) return Excerpt.clip("@" + username, 80);
        String name = (from.path("first_name").asText("") + " " + from.path("last_name").asText("")).strip();
        return name.isEmpty() ? null : Excerpt.clip(name, 80);
    }

    // ---- the shape of the JSON ----------------------------------------------------------------------------------

    private static JsonNode object(JsonNode parent, String field, String where) throws Malformed {
        JsonNode n = parent.get(field);
        if (n == null || !n.isObject()) throw new Malformed(where + "." + field + ": expected an object");
        return n;
    }

    private static long integer(JsonNode parent, String field, String where) throws Malformed {
        JsonNode n = parent.get(field);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong()) {
            throw new Malformed(where + "." + field + ": expected an integer");
        }
        return n.asLong();
    }

    private static String string(JsonNode parent, String field, String where) throws Malformed {
        JsonNode n = parent.get(field);
        if (n == null || !n.isTextual() || n.asText().isEmpty()) throw new Malformed(where + "." + field + ": expected a string");
        return n.asText();
    }

    private static String optionalString(JsonNode parent, String field, String where) throws Malformed {
        JsonNode n = parent.get(field);
        if (n == null || n.isNull()) return null;
        if (!n.isTextual()) throw new Malformed(where + "." + field + ": expected a string");
        return n.asText();
    }
}
