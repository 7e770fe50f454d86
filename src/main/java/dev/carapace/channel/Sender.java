package dev.carapace.channel;

import java.util.Objects;

/**
 * Who sent a message, as its channel names them: an e-mail address, a Slack user id, a Telegram user id, a webhook's
 * caller. Not yet a principal: {@link Identities} binds a sender to one, or the sender is unknown.
 *
 * @param kind the channel kind ({@code email}, {@code slack}, ...): the same id on two kinds is two senders
 * @param id   the channel's stable id for the sender (lower-cased e-mail address, Slack user id, ...)
 * @param name a display name as the channel gave it, for people only (never trusted, never matched); may be null
 */
public record Sender(String kind, String id, String name) {

    public Sender {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(id, "id");
    }

    /** {@code kind:id}, as bindings, logs and transcripts show a sender. */
    public String key() { return kind + ":" + id; }
}
