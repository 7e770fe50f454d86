package dev.carapace.channel;

/**
 * A channel could not do what was asked: connect, authenticate, send, or take a message. The message says what
 * and where, for a log line or {@code carapace channels test}, and never holds a credential.
 */
public final class ChannelException extends Exception {

    /** Whether trying the same thing again later may succeed (a timeout, a 5xx, a rate limit). */
    private final boolean retryable;

    public ChannelException(String message, boolean retryable) {
        super(message);
        this.retryable = retryable;
    }

    public ChannelException(String message, boolean retryable, Throwable cause) {
        super(message, cause);
        this.retryable = retryable;
    }

    public boolean retryable() { return retryable; }
}
