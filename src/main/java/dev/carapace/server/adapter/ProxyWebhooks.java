package dev.carapace.server.adapter;

import dev.carapace.channel.webhook.WebhookPoster;
import dev.carapace.guard.egress.EgressDeniedException;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.schedule.Webhooks;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Webhook POSTs through the egress proxy, for a job's webhook action ({@link Webhooks}) and for the durable
 * deliveries of channels' answers and jobs' results ({@link WebhookPoster}): each POST is judged as its caller (an
 * agent, {@code job:ID}, {@code channel:ID}) by the same network rules, SSRF and DNS-rebinding checks, credential
 * injection, scrubbing and audit as an agent's {@code web_fetch}. A refusal carries the proxy's JSON denial (rule,
 * reason, remedy; never a credential).
 */
public final class ProxyWebhooks implements Webhooks, WebhookPoster {

    /** What a delivery reads of the answer: its status and headers matter, its body is not kept. */
    private static final int DELIVERY_BODY_BYTES = 1024;

    private final EgressProxy proxy;

    public ProxyWebhooks(EgressProxy proxy) {
        this.proxy = Objects.requireNonNull(proxy, "proxy");
    }

    @Override
    public Webhooks.Response post(String caller, URI uri, Map<String, String> headers, byte[] body, int maxBytes,
                                  Duration timeout) throws Webhooks.Refused, IOException, InterruptedException {
        try {
            EgressProxy.Fetched f = send(caller, uri, headers, body, maxBytes, timeout);
            return new Webhooks.Response(f.status(), f.body(), f.truncated());
        } catch (EgressDeniedException e) {
            throw new Webhooks.Refused(e.getMessage());
        }
    }

    @Override
    public WebhookPoster.Response post(String caller, URI uri, Map<String, String> headers, byte[] body,
                                       Duration timeout) throws WebhookPoster.Refused, IOException, InterruptedException {
        try {
            EgressProxy.Fetched f = send(caller, uri, headers, body, DELIVERY_BODY_BYTES, timeout);
            List<String> retryAfter = f.headers().get("retry-after");
            return new WebhookPoster.Response(f.status(), retryAfter == null || retryAfter.isEmpty() ? null : retryAfter.get(0));
        } catch (EgressDeniedException e) {
            throw new WebhookPoster.Refused(e.getMessage());
        }
    }

    /** The one way both go out. */
    private EgressProxy.Fetched send(String caller, URI uri, Map<String, String> headers, byte[] body, int maxBytes,
                                     Duration timeout) throws IOException, InterruptedException {
        return proxy.send(caller, "POST", uri, headers, body, maxBytes, timeout);
    }
}
