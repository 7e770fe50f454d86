package dev.carapace.channel.telegram;

import java.time.Duration;

/**
 * A Bot API call that did not succeed: Telegram's {@code ok:false} answer (its {@code error_code}, its
 * {@code description}, {@code parameters.retry_after}), a 5xx, a network failure, or a file over the limit. The
 * message never holds the bot token, a URL or an HTTP client's own message unscrubbed.
 */
final class BotApiException extends Exception {

    /** Why it failed, which decides what the caller does next. */
    enum Kind {
        /** Could not talk to Telegram (refused, reset, timed out): try again later. */
        NETWORK,
        /** 429 Too Many Requests: try again after {@link #retryAfter}. */
        RATE_LIMITED,
        /** Telegram's side failed (5xx, an answer that is not the Bot API's): try again later. */
        SERVER,
        /** Telegram refused the call (400, 401, 403, 404, 409): the same call will fail again. */
        REFUSED,
        /** A file is bigger than what is taken. */
        TOO_BIG
    }

    private final Kind kind;
    private final int code;
    private final Duration retryAfter;
    private final Long migrateTo;

    BotApiException(Kind kind, int code, String message, Duration retryAfter, Long migrateTo) {
        super(message);
        this.kind = kind;
        this.code = code;
        this.retryAfter = kind == Kind.RATE_LIMITED && retryAfter == null ? Duration.ofSeconds(1) : retryAfter;
        this.migrateTo = migrateTo;
    }

    static BotApiException of(Kind kind, String message) { return new BotApiException(kind, 0, message, null, null); }

    Kind kind() { return kind; }

    /** Telegram's {@code error_code} (or the HTTP status), 0 when there was no answer. */
    int code() { return code; }

    /** {@code parameters.retry_after} (1 s when a 429 did not say), or null when not rate-limited. */
    Duration retryAfter() { return retryAfter; }

    /** {@code parameters.migrate_to_chat_id}: the group became a supergroup with this id; or null. */
    Long migrateTo() { return migrateTo; }

    boolean retryable() { return kind == Kind.NETWORK || kind == Kind.RATE_LIMITED || kind == Kind.SERVER; }
}
