package dev.carapace.agent.tools;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The agent's way out to the network, for tools that fetch ({@code web_fetch}). The guard issue implements the fence
 * here: SSRF and DNS-rebinding defence, allow-lists, credential injection. {@link DirectEgress} is the unfenced one.
 * As with {@link Sandbox}, the guard's implementation reaches this interface through an adapter in the server.
 *
 * <p>One call is one request: redirects are <i>not</i> followed but returned, and the caller asks again for the
 * next hop, so every URI a fetch reaches passes through {@link #get} and its decision. An implementation decides on
 * the URI before opening any connection, and refuses with {@link DeniedException}.
 */
public interface Egress {

    /**
     * One HTTP GET.
     *
     * @param headers  request headers the caller wants (Accept, User-Agent); an implementation may add or drop some
     * @param maxBytes most body bytes to read; the rest is not read, and the response says it was cut
     * @param timeout  for the whole exchange, connect to last byte
     * @throws DeniedException                   the fence refused; the message may be shown to the model
     * @throws java.net.http.HttpTimeoutException the timeout passed
     * @throws IOException                       the request failed (no such host, connection refused, reset)
     * @throws InterruptedException              the calling thread was interrupted; the exchange is abandoned
     */
    Response get(URI uri, Map<String, String> headers, int maxBytes, Duration timeout)
            throws IOException, InterruptedException;

    /**
     * This egress for the calls of one agent, so that a fence can apply that agent's policy and record its
     * decisions under its name. An egress without per-agent rules returns itself.
     */
    default Egress forAgent(String agentId) {
        return this;
    }

    /**
     * @param uri       the URI requested
     * @param status    the HTTP status (3xx included: redirects are the caller's)
     * @param headers   response headers; names are kept in lower case
     * @param body      at most {@code maxBytes} bytes of the body
     * @param truncated the body had more bytes than {@code maxBytes}
     */
    record Response(URI uri, int status, Map<String, List<String>> headers, byte[] body, boolean truncated) {
        public Response {
            Objects.requireNonNull(uri, "uri");
            Map<String, List<String>> lower = new LinkedHashMap<>();
            headers.forEach((k, v) -> lower.merge(k.toLowerCase(Locale.ROOT), List.copyOf(v),
                    (x, y) -> Stream.concat(x.stream(), y.stream()).toList()));
            headers = Collections.unmodifiableMap(lower);
            Objects.requireNonNull(body, "body");
        }

        /** The first value of a header, by case-insensitive name. */
        public Optional<String> header(String name) {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.getFirst());
        }
    }

    /** The egress refused a request; the message says why in words the model may see (no secrets). */
    final class DeniedException extends IOException {
        public DeniedException(String message) {
            super(message, null);
        }
    }
}
