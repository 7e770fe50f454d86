package dev.carapace.privacy;

import java.util.Locale;

/** What the privacy router does with a request carrying a class of data. Declared from mildest to strictest. */
public enum Action {
    /** Send it as it is. */
    ALLOW,
    /** Replace each value with a placeholder such as {@code <EMAIL_1>}, and put the value back in the answer. */
    REDACT,
    /** Send it only to models whose privacy class is private; refuse it if none can take it. */
    PRIVATE,
    /** Refuse the request. */
    BLOCK;

    /** The name used in config, records and metrics: {@code allow}, {@code redact}, {@code private}, {@code block}. */
    public String label() { return name().toLowerCase(Locale.ROOT); }

    public Action max(Action other) { return other.ordinal() > ordinal() ? other : this; }
}
