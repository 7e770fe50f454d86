package dev.carapace.channel;

/** What a channel does with a message from a sender no identity binding names: the model never sees it. */
public enum UnknownSenders {
    /**
     * The sender gets a one-time pairing code (once a day at most, so a forged sender cannot turn the channel into a
     * mail cannon); an admin, or the user the sender is, confirms it with {@code carapace channels pair CODE}.
     */
    PAIR,
    /** The sender gets a polite refusal (once a day at most). */
    REFUSE,
    /** Nothing is sent; the message is recorded as refused. */
    IGNORE
}
