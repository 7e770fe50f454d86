package dev.carapace.model;

import dev.carapace.model.ApiException.Kind;
import dev.carapace.model.anthropic.AnthropicFormat;
import dev.carapace.model.openai.OpenAiFormat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14: an upstream's status meant different things per wire format (413 failed over for OpenAI only; 503 was
 * "overloaded" for Anthropic only). Every status, through both formats' {@code upstreamError}, must give the same
 * kind, code, retry hint and failover.
 */
class UpstreamStatusTest {

    record Expected(int status, Kind kind, String code, boolean retryable, boolean failover) {}

    static final List<Expected> TABLE = List.of(
            new Expected(400, Kind.INVALID_REQUEST, "invalid_request", false, false),
            new Expected(422, Kind.INVALID_REQUEST, "invalid_request", false, false),
            new Expected(401, Kind.UPSTREAM, "upstream_auth", false, true),
            new Expected(403, Kind.UPSTREAM, "upstream_auth", false, true),
            new Expected(404, Kind.UPSTREAM, "upstream_model_not_found", false, true),
            new Expected(408, Kind.TIMEOUT, "upstream_timeout", true, true),
            new Expected(409, Kind.UPSTREAM, "upstream_error", false, true),
            new Expected(413, Kind.TOO_LARGE, "request_too_large", false, true),
            new Expected(429, Kind.RATE_LIMITED, "upstream_rate_limited", true, true),
            new Expected(500, Kind.UPSTREAM, "upstream_error", true, true),
            new Expected(502, Kind.UPSTREAM, "upstream_error", true, true),
            new Expected(503, Kind.UNAVAILABLE, "upstream_overloaded", true, true),
            new Expected(504, Kind.TIMEOUT, "upstream_timeout", true, true),
            new Expected(529, Kind.UNAVAILABLE, "upstream_overloaded", true, true));

    static Stream<Arguments> statusesOnBothFormats() {
        List<Arguments> all = new ArrayList<>();
        for (Expected e : TABLE) {
            all.add(Arguments.of("openai", new OpenAiFormat(), "{\"error\":{\"message\":\"said " + e.status() + "\"}}", e));
            all.add(Arguments.of("anthropic", new AnthropicFormat(),
                    "{\"type\":\"error\",\"error\":{\"type\":\"x_error\",\"message\":\"said " + e.status() + "\"}}", e));
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {3}")
    @MethodSource("statusesOnBothFormats")
    void upstreamStatusesGotDifferentKindsPerWireFormat(String name, WireFormat format, String body, Expected e) {
        ApiException x = format.upstreamError(e.status(), body.getBytes(StandardCharsets.UTF_8));
        assertThat(x.kind()).isEqualTo(e.kind());
        assertThat(x.code()).isEqualTo(e.code());
        assertThat(x.retryable()).as("x-should-retry").isEqualTo(e.retryable());
        assertThat(Router.worthFailover(x)).as("failover").isEqualTo(e.failover());
        assertThat(x.getMessage()).contains(e.status() == 400 || e.status() == 422 ? "said " : "HTTP " + e.status());
        // the upstream's words, except on an auth failure, where they can quote part of Carapace's key
        if (e.status() == 401 || e.status() == 403) assertThat(x.getMessage()).doesNotContain("said").contains("not your API key");
        else assertThat(x.getMessage()).contains("said " + e.status());
        // a Retry-After the provider sent keeps the failover decision
        assertThat(Router.worthFailover(x.withRetryAfter(java.time.Duration.ofSeconds(1)))).isEqualTo(e.failover());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("statusesOnBothFormats")
    void anEmptyBodyStillNamesTheStatus(String name, WireFormat format, String body, Expected e) {
        ApiException x = format.upstreamError(e.status(), new byte[0]);
        assertThat(x.kind()).isEqualTo(e.kind());
        assertThat(x.getMessage()).contains("HTTP " + e.status());
    }
}
