package dev.carapace.server.adapter;

import dev.carapace.guard.egress.EgressDeniedException;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.schedule.Webhooks;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * A job's webhooks through the egress proxy: each POST is judged as its caller (the job's agent, or {@code job:ID})
 * by the same network rules, SSRF and DNS-rebinding checks, credential injection, scrubbing and audit as an agent's
 * {@code web_fetch}. A refusal becomes {@link Webhooks.Refused} carrying the proxy's JSON denial (rule, reason,
 * remedy; never a credential), for the job's history.
 */
public final class ProxyWebhooks implements Webhooks {

    private final EgressProxy proxy;

    public ProxyWebhooks(EgressProxy proxy) {
        this.proxy = Objects.requireNonNull(proxy, "proxy");
    }

    @Override
    public Response post(String caller, URI uri, Map<String, String> headers, byte[] body, int maxBytes,
                         Duration timeout) throws Refused, IOException, InterruptedException {
        try {
            EgressProxy.Fetched f = proxy.send(caller, "POST", uri, headers, body, maxBytes, timeout);
            return new Response(f.status(), f.body(), f.truncated());
        } catch (EgressDeniedException e) {
            throw new Refused(e.getMessage());
        }
    }
}
