package dev.carapace.server.adapter;

import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.schedule.heartbeat.UrlCheck;
import dev.carapace.schedule.heartbeat.UrlState;

import java.io.IOException;
import java.net.URI;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A heartbeat's watched URL, fetched through the egress proxy as the agent (its network rules, the SSRF and
 * DNS-rebinding checks, credential injection and the audit apply, as to its {@code web_fetch}): a conditional GET
 * with the validators of the last answer, so an unchanged page costs a 304 and no body. The body is hashed here
 * and goes no further. A refusal or a failure is an {@link IOException} whose message is the proxy's (no secret).
 */
public final class ProxyUrlCheck implements UrlCheck {

    /** What is hashed of a page at most; a longer page's change past it is not seen. */
    static final int MAX_BYTES = 1 << 20;
    static final Duration TIMEOUT = Duration.ofSeconds(15);

    private final EgressProxy proxy;
    private final String agent;

    /** @param agent whose network rules the checks go out under */
    public ProxyUrlCheck(EgressProxy proxy, String agent) {
        this.proxy = Objects.requireNonNull(proxy, "proxy");
        this.agent = Objects.requireNonNull(agent, "agent");
    }

    @Override
    public Result check(String url, UrlState previous) throws IOException {
        Map<String, String> headers = new LinkedHashMap<>();
        if (previous != null && previous.etag() != null) headers.put("If-None-Match", previous.etag());
        if (previous != null && previous.lastModified() != null) headers.put("If-Modified-Since", previous.lastModified());
        EgressProxy.Fetched f;
        try {
            f = proxy.fetch(agent, URI.create(url), headers, MAX_BYTES, TIMEOUT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } catch (IllegalArgumentException e) {
            throw new IOException("not a URL the proxy can fetch");
        }
        if (f.status() == 304) return Result.notModified();
        if (f.status() < 200 || f.status() > 299) throw new IOException("answered HTTP " + f.status());
        return Result.fetched(header(f, "etag"), header(f, "last-modified"), sha256(f.body()));
    }

    private static String header(EgressProxy.Fetched f, String name) {
        List<String> values = f.headers().get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    private static String sha256(byte[] body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
