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
     * One HTTP POST, sent with a Content-Length; a redirect is returned as its 3xx status, never followed.
     *
     * @param caller   whose network rules apply: the job's agent, or {@code job:ID} for a job without one
     * @param uri      an http or https URL, without a user or password
     * @param headers  names that are HTTP tokens, values without CR, LF or other control characters; the framing
     *                 headers (Host, Content-Length, Connection...) are the fence's own and not sent as given
     * @param body     the payload, at most 1 MiB; null for an empty one
     * @param maxBytes most response body bytes read
     * @throws Refused                           the fence refused the request (the policy, the address, or a URL,
     *                                           header or body it will not send); the message says why, with the
     *                                           deciding rule and a remedy, and never holds a credential
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
