package dev.carapace.model;

import dev.carapace.model.ApiException.Kind;

/**
 * What an upstream's HTTP error status means for the client and for the router, the same for every wire format:
 * the kind (and so the status the client gets), a stable code, whether the client should retry
 * ({@code x-should-retry}), and whether another deployment of the model is worth trying.
 *
 * <p>Each wire format only finds the upstream's own message in its error shape; everything that depends on the
 * status is decided here, so an OpenAI-kind and an Anthropic-kind upstream answering the same status are treated
 * the same (issue 14: a 413 failed over on one side only, a 503 was "overloaded" on one side only).
 *
 * <table>
 *   <caption>statuses</caption>
 *   <tr><th>upstream</th><th>client gets</th><th>code</th><th>client retries</th><th>fails over</th></tr>
 *   <tr><td>400, 422</td><td>400</td><td>the upstream's, else invalid_request</td><td>no</td><td>no: the request is at fault</td></tr>
 *   <tr><td>401, 403</td><td>502</td><td>upstream_auth</td><td>no</td><td>yes: another deployment has another key</td></tr>
 *   <tr><td>404</td><td>502</td><td>upstream_model_not_found</td><td>no</td><td>yes</td></tr>
 *   <tr><td>408, 504</td><td>504</td><td>upstream_timeout</td><td>yes</td><td>yes</td></tr>
 *   <tr><td>413</td><td>413</td><td>request_too_large</td><td>no</td><td>yes: another deployment may take more</td></tr>
 *   <tr><td>429</td><td>429</td><td>upstream_rate_limited</td><td>yes</td><td>yes</td></tr>
 *   <tr><td>503, 529 (Anthropic's overloaded)</td><td>503</td><td>upstream_overloaded</td><td>yes</td><td>yes</td></tr>
 *   <tr><td>other 5xx</td><td>502</td><td>upstream_error</td><td>yes</td><td>yes</td></tr>
 *   <tr><td>any other</td><td>502</td><td>upstream_error</td><td>no</td><td>yes</td></tr>
 * </table>
 */
public final class UpstreamStatus {

    private UpstreamStatus() {}

    /**
     * The failure to answer for an upstream's error status.
     *
     * @param detail      the upstream's own message, already made safe to show (short, one line, no secrets), or null
     * @param invalidCode the code for a request the upstream rejected (400, 422): a format may keep the upstream's
     *                    own (OpenAI's {@code context_length_exceeded}); null for {@code invalid_request}
     */
    public static ApiException error(int status, String detail, String invalidCode) {
        String said = detail == null || detail.isBlank() ? " (HTTP " + status + ")" : " (HTTP " + status + "): " + detail;
        return switch (status) {
            case 400, 422 -> new ApiException(Kind.INVALID_REQUEST, "upstream rejected the request: "
                    + (detail == null || detail.isBlank() ? "HTTP " + status : detail), null,
                    invalidCode == null ? "invalid_request" : invalidCode, null, false).withFailover(false);
            // The key the upstream refused is Carapace's, not the client's: say so, and quote nothing of the upstream's
            // words, which can hold part of that key ("Incorrect API key provided: sk-proj-abc1*****").
            case 401, 403 -> failure(Kind.UPSTREAM, "upstream_auth", "the upstream refused Carapace's credentials (HTTP "
                    + status + "); this is a gateway configuration problem, not your API key", false);
            case 404 -> failure(Kind.UPSTREAM, "upstream_model_not_found",
                    "the upstream does not serve the configured model" + said, false);
            case 408, 504 -> failure(Kind.TIMEOUT, "upstream_timeout", "the upstream timed out" + said, true);
            case 413 -> failure(Kind.TOO_LARGE, "request_too_large", "the upstream refused the request as too large" + said, false);
            case 429 -> failure(Kind.RATE_LIMITED, "upstream_rate_limited", "the upstream is rate limiting requests" + said, true);
            case 503, 529 -> failure(Kind.UNAVAILABLE, "upstream_overloaded", "the upstream is overloaded" + said, true);
            default -> failure(Kind.UPSTREAM, "upstream_error", "the upstream failed" + said, status >= 500 && status <= 599);
        };
    }

    /** Every status but a rejected request is worth another deployment: it says something about this one. */
    private static ApiException failure(Kind kind, String code, String message, boolean retryable) {
        return new ApiException(kind, message, null, code, null, retryable).withFailover(true);
    }
}
