package dev.carapace.channel;

/**
 * Where a channel puts what it receives. {@link #receive} returns only once the message is durable: a channel
 * acknowledges a message to its sender (IMAP flag, HTTP 200 to Slack or a webhook caller, Telegram's offset) only
 * after it returned, so a message acknowledged is never lost across a {@code kill -9}.
 */
public interface Inbox {

    /**
     * Stores {@code message} (once per channel and message id) and queues it for its agent.
     *
     * @return false when the same message was received before (a retry, a redelivery): the channel acknowledges it
     *         again and does nothing else
     * @throws ChannelException the message cannot be taken (too big, the store is down): the channel must not
     *                          acknowledge it, so its sender delivers it again later
     */
    boolean receive(Inbound message) throws ChannelException;
}
