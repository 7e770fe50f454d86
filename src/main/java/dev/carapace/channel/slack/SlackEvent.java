package dev.carapace.channel.slack;

import com.fasterxml.jackson.databind.JsonNode;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What Carapace takes from an {@code event_callback} (from the Events API or a Socket Mode envelope): a person's
 * message to the bot, a mention in a channel ({@code app_mention}) or a direct message ({@code message} with
 * {@code channel_type: im}), or the reason it is not one.
 *
 * <p>The body is Slack's (its signature was checked) but its fields are written by people and other apps: ids are
 * checked to look like Slack's ids, and the text is only text.
 */
record SlackEvent(String team, String user, String channel, boolean direct, String ts, String threadTs, String text,
                  List<SlackFile> files, boolean automated) {

    /** A file shared with the message, to download ({@code url_private_download}) with the bot token. */
    record SlackFile(String name, String mediaType, long size, URI url) {}

    /** Why an event is not taken, or the event. */
    sealed interface Parsed permits Taken, Ignored {}

    record Taken(SlackEvent event) implements Parsed {}

    /** Acknowledged and dropped: not a message to the bot (another event, an edit, the bot's own message). */
    record Ignored(String reason) implements Parsed {}

    /** Slack's ids: upper-case letters and digits ({@code T...}, {@code U...}, {@code W...}, {@code C...}, {@code D...}). */
    static final Pattern ID = Pattern.compile("[A-Z0-9]{2,40}");
    /** A message's timestamp, its id within the channel: {@code 1712345678.000200}. */
    static final Pattern TS = Pattern.compile("[0-9]{1,12}\\.[0-9]{1,9}");
    /** Message subtypes that are a person's message; others (edits, deletions, joins, topics...) are not taken. */
    private static final List<String> PERSON_SUBTYPES = List.of("file_share", "thread_broadcast");
    static final int MAX_FILES = 20;

    /** The thread the message belongs to: its own ts when it starts one. */
    String threadRoot() { return threadTs != null ? threadTs : ts; }

    /**
     * Reads an {@code event_callback} envelope.
     *
     * @param botUser the bot's own user id, when known (from {@code auth.test}); otherwise the envelope's
     *                {@code authorizations} entry for a bot is used
     */
    static Parsed parse(JsonNode envelope, String botUser) {
        JsonNode e = envelope.path("event");
        if (!e.isObject()) return new Ignored("no event in the envelope");
        String type = text(e, "type");
        if (!"app_mention".equals(type) && !"message".equals(type)) {
            return new Ignored("event type '" + clip(type) + "' is not taken (app_mention and message.im are)");
        }
        String subtype = text(e, "subtype");
        if (subtype != null && !PERSON_SUBTYPES.contains(subtype) && !"bot_message".equals(subtype)) {
            return new Ignored("message subtype '" + clip(subtype) + "' (an edit, a deletion, a join...) is not taken");
        }
        String channel = text(e, "channel");
        String ts = text(e, "ts");
        if (channel == null || !ID.matcher(channel).matches()) return new Ignored("no valid channel id in the event");
        if (ts == null || !TS.matcher(ts).matches()) return new Ignored("no valid message ts in the event");
        String threadTs = text(e, "thread_ts");
        if (threadTs != null && !TS.matcher(threadTs).matches()) return new Ignored("thread_ts is not a message ts");
        boolean direct = "im".equals(text(e, "channel_type"));
        if ("message".equals(type) && !direct) {
            return new Ignored("a channel message not addressed to the bot (mentions arrive as app_mention)");
        }
        String bot = botUser != null ? botUser : botUserOf(envelope);
        String user = text(e, "user");
        if (user != null && user.equals(bot)) return new Ignored("the bot's own message");
        boolean automated = text(e, "bot_id") != null || "bot_message".equals(subtype) || e.has("bot_profile");
        if (user == null && automated) user = text(e, "bot_id");
        if (user == null || !ID.matcher(user).matches()) return new Ignored("no valid user id in the event");
        String team = firstId(text(e, "user_team"), text(e, "team"), text(envelope, "team_id"));
        if (team == null) return new Ignored("no valid team id in the event");
        String body = cleanText(text(e, "text"), bot, "app_mention".equals(type));
        return new Taken(new SlackEvent(team, user, channel, direct, ts, threadTs, body, files(e), automated));
    }

    /** The bot user the event was delivered to, from the envelope's {@code authorizations}. */
    static String botUserOf(JsonNode envelope) {
        for (JsonNode a : envelope.path("authorizations")) {
            String u = text(a, "user_id");
            if (a.path("is_bot").asBoolean(false) && u != null && ID.matcher(u).matches()) return u;
        }
        return null;
    }

    /**
     * The text without the bot's mention, with Slack's three escapes ({@code &amp; &lt; &gt;}) undone. Other
     * mentions and links stay as Slack wrote them ({@code <@U123>}, {@code <https://...|label>}).
     */
    static String cleanText(String text, String bot, boolean mention) {
        if (text == null) return "";
        String t = text;
        if (bot != null) {
            t = t.replaceAll("<@" + Pattern.quote(bot) + "(\\|[^>]{0,100})?>", "");
        } else if (mention) {
            t = t.replaceFirst("^\\s*<@[A-Z0-9]{2,40}(\\|[^>]{0,100})?>", "");   // who it was addressed to
        }
        return t.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip();
    }

    private static List<SlackFile> files(JsonNode e) {
        List<SlackFile> out = new ArrayList<>();
        for (JsonNode f : e.path("files")) {
            if (out.size() > MAX_FILES) break;   // one more than taken, so the hub says files were dropped
            String mode = text(f, "mode");
            String url = text(f, "url_private_download");
            if (url == null) url = text(f, "url_private");
            if ("tombstone".equals(mode) || "hidden_by_limit".equals(mode) || url == null) continue;
            URI uri;
            try {
                uri = URI.create(url);
            } catch (IllegalArgumentException ex) {
                continue;
            }
            String name = text(f, "name");
            String type = text(f, "mimetype");
            out.add(new SlackFile(name == null ? "" : name, type == null ? "" : type.toLowerCase(java.util.Locale.ROOT),
                    f.path("size").asLong(-1), uri));
        }
        return out;
    }

    private static String firstId(String... ids) {
        for (String id : ids) if (id != null && ID.matcher(id).matches()) return id;
        return null;
    }

    static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v != null && v.isTextual() ? v.asText() : null;
    }

    private static String clip(String s) { return dev.carapace.text.Excerpt.clip(s == null ? "" : s, 40); }
}
