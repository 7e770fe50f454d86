package dev.carapace.channel;

import java.time.Instant;

/**
 * Something a channel did, for the live event streams and the metrics.
 *
 * @param type      {@code message_received}, {@code message_answered}, {@code message_refused},
 *                  {@code message_ignored}, {@code message_failed}, {@code message_awaiting_approval},
 *                  {@code pairing_requested}, {@code paired}
 * @param channel   the channel's id
 * @param kind      the channel's kind
 * @param messageId Carapace's id of the message ({@code msg_...}), or null
 * @param sender    the sender's key, or null
 * @param agent     the agent, or null
 * @param detail    why (refused, failed), or null
 * @param latencyMs for {@code message_answered}: from receipt to the reply sent; else -1
 * @param at        when
 */
public record ChannelEvent(String type, String channel, String kind, String messageId, String sender, String agent,
                           String detail, long latencyMs, Instant at) {}
