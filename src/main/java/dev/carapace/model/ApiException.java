package dev.carapace.model;

import java.time.Duration;

/**
 * A request that cannot be served, with everything a wire format needs to render it in its API's documented
 * error shape. The message is for the client: it names what was wrong and where (the {@code param}, as a JSON
 * path like {@code messages[2].content}), and never holds a secret, a prompt or a stack trace.
 */
public final class ApiException extends RuntimeException {

    /** The kind of failure; each wire format maps it to its own status code and error type. */
    public enum Kind {
        INVALID_REQUEST(400), AUTHENTICATION(401), PERMISSION(403), NOT_FOUND(404), METHOD_NOT_ALLOWED(405), TOO_LARGE(413),
        UNSUPPORTED_MEDIA_TYPE(415), RATE_LIMITED(429), UPSTREAM(502), UNAVAILABLE(503), TIMEOUT(504), INTERNAL(500);

        public final int status;

        Kind(int status) { this.status = status; }
    }

    /**
     * The code of a budget's refusal (kind RATE_LIMITED). Its status is each API's own choice, made by what that
     * API's clients do with it ({@link WireFormat#status}); retrying cannot help until an admin raises the budget.
     */
    public static final String BUDGET_EXCEEDED = "budget_exceeded";

    private final Kind kind;
    private final String param;
    private final String code;
    private final Duration retryAfter;
    private final boolean retryable;
    private final boolean failover;

    public ApiException(Kind kind, String message, String param, String code, Duration retryAfter, boolean retryable) {
        this(kind, message, param, code, retryAfter, retryable, failsOver(kind));
    }

    private ApiException(Kind kind, String message, String param, String code, Duration retryAfter, boolean retryable,
                         boolean failover) {
        super(message, null, false, false);
        this.kind = kind;
        this.param = param;
        this.code = code;
        this.retryAfter = retryAfter;
        this.retryable = retryable;
        this.failover = failover;
    }

    /** By default, the kinds that say something about the deployment rather than the request. */
    private static boolean failsOver(Kind kind) {
        return switch (kind) {
            case RATE_LIMITED, UPSTREAM, UNAVAILABLE, TIMEOUT -> true;
            default -> false;
        };
    }

    public static ApiException invalid(String param, String message) {
        return new ApiException(Kind.INVALID_REQUEST, message, param, "invalid_request", null, false);
    }

    /**
     * A 400 for a message that starts by naming its field ({@code "since: expected an ISO instant..."}), which is then
     * the error's {@code param}; {@code fallback} when it names none.
     */
    public static ApiException invalidNamed(String message, String fallback) {
        int colon = message.indexOf(": ");
        boolean named = colon > 0 && colon <= 40 && message.substring(0, colon).chars()
                .allMatch(c -> c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '[' || c == ']');
        return invalid(named ? message.substring(0, colon) : fallback, message);
    }

    public static ApiException of(Kind kind, String code, String message) {
        boolean retryable = kind.status == 429 || kind.status >= 500;
        return new ApiException(kind, message, null, code, null, retryable);
    }

    public Kind kind() { return kind; }

    /** A budget refused the call: see {@link #BUDGET_EXCEEDED}. */
    public boolean budgetExceeded() { return BUDGET_EXCEEDED.equals(code); }

    /** The JSON path of the offending request field, or null. */
    public String param() { return param; }

    /** A stable machine-readable code, e.g. {@code model_not_found}, {@code invalid_api_key}. */
    public String code() { return code; }

    /** How long the client should wait before retrying, or null. */
    public Duration retryAfter() { return retryAfter; }

    /** False when retrying the same request cannot help (sent to clients as {@code x-should-retry: false}). */
    public boolean retryable() { return retryable; }

    /**
     * Whether another deployment of the model may do better, when an upstream failed this way (see
     * {@link UpstreamStatus}); by default true for the kinds an upstream's trouble makes (rate limited, upstream,
     * unavailable, timeout).
     */
    public boolean failover() { return failover; }

    public ApiException withRetryAfter(Duration d) {
        return new ApiException(kind, getMessage(), param, code, d, retryable, failover);
    }

    /** The same failure, said in other words (a secret masked out of an upstream's). */
    public ApiException withMessage(String message) {
        return new ApiException(kind, message, param, code, retryAfter, retryable, failover);
    }

    /** The same failure, with failover decided by its cause rather than its kind (a 413 is worth another deployment). */
    public ApiException withFailover(boolean failover) {
        return new ApiException(kind, getMessage(), param, code, retryAfter, retryable, failover);
    }
}
