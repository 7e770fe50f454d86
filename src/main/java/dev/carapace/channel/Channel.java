package dev.carapace.channel;

/**
 * One way agents are reached: an e-mail account, a webhook endpoint, a Slack app, a Telegram bot. Each kind is one
 * implementation in its own sub-package; adding a kind is a new implementation and its settings, nothing else.
 *
 * <p>Receiving: a channel that pulls (IMAP, Telegram long polling, Socket Mode) starts its own loop in
 * {@link #start}; one that is pushed to (webhooks, Slack's Events API, Telegram's webhook) is handed requests by the
 * server through its kind's own entry point. Either way every message goes to the {@link Inbox} before it is
 * acknowledged. Sending goes through {@link #send}, which the {@link ChannelHub} calls only after the guard, the
 * privacy router and the audit log have seen the message.
 */
public interface Channel extends AutoCloseable {

    /** The configured channel's id. */
    String id();

    /** {@code email}, {@code webhook}, {@code slack}, {@code telegram}. */
    String kind();

    /** Starts receiving into {@code inbox}; returns at once (a pulling channel runs on its own thread). */
    void start(Inbox inbox);

    /**
     * Sends {@code message}.
     *
     * @throws ChannelException it was not sent; {@link ChannelException#retryable()} says whether to try again
     */
    void send(Outbound message) throws ChannelException, InterruptedException;

    /**
     * Whether only {@code in}'s sender reads what is sent in its conversation: a direct message, a private chat, a
     * mail answered to its sender alone. Where others read along (a Slack channel, a Telegram group) the hub posts
     * no pairing code (whoever read it could confirm it for themselves, and the sender would then speak, and be
     * recorded, as them) and screens answers as for a recipient outside the organisation. Not private unless the
     * kind knows better.
     */
    default boolean privateTo(Inbound in) { return false; }

    /**
     * Checks that the channel can reach its service with its credentials now (log in, {@code auth.test},
     * {@code getMe}), without sending anything to anyone.
     *
     * @return a line saying what was checked and what answered
     * @throws ChannelException what failed, and where
     */
    String test() throws ChannelException, InterruptedException;

    /** Stops receiving; a message being received is either stored or not acknowledged. */
    @Override
    void close();
}
