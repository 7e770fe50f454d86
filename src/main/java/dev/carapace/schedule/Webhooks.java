package dev.carapace.schedule;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;

/**
 * The way out for a job's webhook calls: a job whose action is a webhook, and the delivery of any job's result. In
 * production it is the guard's egress proxy, so the policy's network rules, its SSRF and DNS-rebinding defences and
 * its credential injection apply to a job exactly as to an agent's {@code web_fetch}; the job's owner cannot reach
 * through a schedule what the agent could not reach itself.
 */
public interface Webhooks {

    /**
     * One HTTP POST; redirects are not followed.
     *
     * @param caller   whose network rules apply: the job's agent, or {@code job:ID} for a job without one
     * @param maxBytes most response body bytes read
     * @throws Refused                           the fence refused the destination; the message says why
     * @throws java.net.http.HttpTimeoutException the timeout passed
     * @throws IOException                       the request failed
     */
    Response post(String caller, URI uri, Map<String, String> headers, byte[] body, int maxBytes, Duration timeout)
            throws Refused, IOException, InterruptedException;

    /** What came back: the status and at most {@code maxBytes} of the body. */
    record Response(int status, byte[] body, boolean truncated) {}

    /** The destination is not allowed; the message says which rule refused it and may be shown to the job's owner. */
    final class Refused extends Exception {
        public Refused(String message) { super(message); }
    }
}
