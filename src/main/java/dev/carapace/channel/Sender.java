package dev.carapace.channel;

import java.util.Objects;

/**
 * Who sent a message, as its channel names them: an e-mail address, a Slack user id, a Telegram user id, a webhook's
 * caller. Not yet a principal: {@link Identities} binds a sender to one, or the sender is unknown.
 *
 * @param kind the channel kind ({@code email}, {@code slack}, ...): the same id on two kinds is two senders
 * @param id   the channel's stable id for the sender (lower-cased e-mail address, Slack user id, ...)
 * @param name a display name as the channel gave it, for people only (never trusted, never matched); may be null;
 *             kept to one line of at most 100 printable characters (it reaches terminals: {@code channels pair})
 */
public record Sender(String kind, String id, String name) {

    static final int MAX_NAME = 100;

    public Sender {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(id, "id");
        name = printable(name);
    }

    /** Control and invisible characters (terminal escapes, bidi overrides) as spaces, runs of them as one; null if blank. */
    private static String printable(String name) {
        if (name == null) return null;
        StringBuilder sb = new StringBuilder();
        name.codePoints().limit(MAX_NAME).forEach(cp -> {
            boolean blank = Character.isWhitespace(cp) || Character.isISOControl(cp) || dev.carapace.text.Invisible.is(cp);
            if (!blank) sb.appendCodePoint(cp);
            else if (!sb.isEmpty() && sb.charAt(sb.length() - 1) != ' ') sb.append(' ');
        });
        String s = sb.toString().strip();
        return s.isEmpty() ? null : s;
    }

    /** {@code kind:id}, as bindings, logs and transcripts show a sender. */
    public String key() { return kind + ":" + id; }
}
