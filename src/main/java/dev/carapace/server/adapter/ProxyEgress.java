package dev.carapace.server.adapter;

import dev.carapace.agent.tools.Egress;
import dev.carapace.guard.egress.EgressDeniedException;
import dev.carapace.guard.egress.EgressProxy;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * {@code web_fetch} through the egress proxy: the agent's GETs get the same rules, SSRF defence, audit and
 * credential injection as a sandboxed process's requests. https URLs are fetched with TLS the proxy originates, so
 * method/path rules and credentials apply to them too. A refusal reaches the model as the proxy's JSON denial.
 */
public final class ProxyEgress implements Egress {

    private final EgressProxy proxy;
    private final String agent;

    /** @param agent whose traffic this is; null until {@link #forAgent} names one */
    public ProxyEgress(EgressProxy proxy, String agent) {
        this.proxy = Objects.requireNonNull(proxy, "proxy");
        this.agent = agent;
    }

    @Override
    public Egress forAgent(String agentId) {
        return new ProxyEgress(proxy, agentId);
    }

    @Override
    public Response get(URI uri, Map<String, String> headers, int maxBytes, Duration timeout)
            throws IOException, InterruptedException {
        try {
            EgressProxy.Fetched f = proxy.fetch(agent, uri, headers, maxBytes, timeout);
            return new Response(uri, f.status(), f.headers(), f.body(), f.truncated());
        } catch (EgressDeniedException e) {
            throw new DeniedException(e.getMessage());
        }
    }
}
