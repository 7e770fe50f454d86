package dev.carapace.channel;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One message a channel received, as every channel hands it to the {@link Inbox}.
 *
 * @param channel      the configured channel's id (from {@code channels:}), not its kind
 * @param messageId    the channel's own id for the message (Message-ID, Slack event id, Telegram update id...): a
 *                     second delivery of the same id is the same message, stored and answered once
 * @param sender       who sent it, as the channel says
 * @param address      where it was sent: the agent's address, the bot, the Slack channel, the webhook's path; which
 *                     agent answers is bound to it
 * @param conversation the thread it belongs to (a mail thread's first Message-ID, a Slack thread's ts, a Telegram
 *                     chat): one conversation is one agent session
 * @param text         the message as text (HTML already turned into text), possibly empty when it is only files
 * @param attachments  the files that came with it
 * @param reply        what the channel needs to answer in the same thread (In-Reply-To and References, thread_ts,
 *                     chat and message ids); opaque to everyone but the channel
 * @param automated    the channel saw it is not from a person (an auto-reply, a bounce, a bot, a loop): stored,
 *                     never answered
 * @param receivedAt   when the channel received it
 */
public record Inbound(String channel, String messageId, Sender sender, String address, String conversation,
                      String text, List<Attachment> attachments, Map<String, String> reply, boolean automated,
                      Instant receivedAt) {

    public Inbound {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(messageId, "messageId");
        Objects.requireNonNull(sender, "sender");
        Objects.requireNonNull(receivedAt, "receivedAt");
        messageId = storable(messageId);
        address = address == null ? "" : storable(address);
        conversation = conversation == null || conversation.isEmpty() ? messageId : storable(conversation);
        text = text == null ? "" : storable(text);
        attachments = attachments == null ? List.of() : List.copyOf(attachments);
        if (reply == null) {
            reply = Map.of();
        } else {
            Map<String, String> r = new java.util.LinkedHashMap<>();
            reply.forEach((k, v) -> r.put(storable(k), storable(v)));
            reply = Map.copyOf(r);
        }
    }

    /**
     * {@code s} with each NUL (U+0000) as U+FFFD. A NUL is valid in JSON ({@code \\u0000}), in a mail's body and in a
     * file name, and means nothing as text, but PostgreSQL's text cannot hold it: a message carrying one would be
     * "not storable now" on every attempt, and its sender told to send it again forever.
     */
    static String storable(String s) {
        return s.indexOf('\u0000') < 0 ? s : s.replace('\u0000', '\uFFFD');
    }
}
