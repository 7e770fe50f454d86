package dev.carapace.channel;

/**
 * The credentials channels authenticate with (an IMAP password, a bot token, a signing secret), by the names the
 * config's {@code secrets:} gives them. Read when needed, never cached by the caller longer than one use, and never
 * put in a message, a log line or an exception.
 */
public interface Secrets {

    /** @throws ChannelException the secret is not configured or cannot be read; the message names it, not its value */
    String value(String name) throws ChannelException;

    /** Whether {@code name} is configured (for checking settings when the gateway starts). */
    boolean has(String name);
}
