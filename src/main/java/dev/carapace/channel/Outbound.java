package dev.carapace.channel;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A message a channel sends: a reply to an {@link Inbound} (in its thread) or a pairing code or refusal.
 *
 * @param channel      the configured channel's id
 * @param recipient    whom it goes to
 * @param conversation the conversation it belongs to
 * @param text         the text, already screened by the privacy router where the recipient is external
 * @param attachments  files to send with it (an audio answer, a file the agent made)
 * @param reply        the {@link Inbound#reply()} of the message answered, so the channel threads it; empty for none
 * @param idempotency  a key the same message keeps on every attempt, so a channel that can (webhooks, Slack's
 *                     client_msg_id) lets the receiver drop a repeat after a crash between sending and recording
 */
public record Outbound(String channel, Sender recipient, String conversation, String text, List<Attachment> attachments,
                       Map<String, String> reply, String idempotency) {

    public Outbound {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(recipient, "recipient");
        text = text == null ? "" : text;
        attachments = attachments == null ? List.of() : List.copyOf(attachments);
        reply = reply == null ? Map.of() : Map.copyOf(reply);
    }
}
