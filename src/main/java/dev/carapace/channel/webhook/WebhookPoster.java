package dev.carapace.channel.webhook;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;

/**
 * The way out for outbound webhooks: in production the guard's egress proxy (fitted in {@code server.adapter}), so
 * the policy's network rules, its SSRF and DNS-rebinding checks and its audit hold for a delivery as for an agent's
 * {@code web_fetch}: a channel cannot be made to POST where its caller could not reach.
 */
public interface WebhookPoster {

    /**
     * One POST with a Content-Length; a redirect comes back as its 3xx, never followed.
     *
     * @param caller whose network rules apply ({@code channel:ID}, a job's agent, {@code job:ID})
     * @throws Refused                            the egress policy refused it; the message says which rule and why
     * @throws java.net.http.HttpTimeoutException the timeout passed
     * @throws IOException                        the request failed
     */
    Response post(String caller, URI uri, Map<String, String> headers, byte[] body, Duration timeout)
            throws Refused, IOException, InterruptedException;

    /** @param retryAfter the response's {@code Retry-After}, or null */
    record Response(int status, String retryAfter) {}

    /** The egress policy refused the destination: sending again will not help. */
    final class Refused extends Exception {
        public Refused(String message) { super(message); }
    }
}
