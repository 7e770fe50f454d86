package dev.carapace.server;

import dev.carapace.guard.NetworkRules;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.guard.egress.SecretStore;
import dev.carapace.schedule.heartbeat.UrlCheck;
import dev.carapace.server.adapter.ProxyUrlCheck;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.MockResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A heartbeat's watched URL through the egress proxy: a conditional GET with the last validators, so an unchanged page
 * is a 304 and no body; judged as the agent, so a host its rules do not allow is refused before any request.
 */
class ProxyUrlCheckTest {

    private final ScriptedUpstream site = new ScriptedUpstream();
    private final List<String> conditions = new CopyOnWriteArrayList<>();
    private final AtomicReference<String> page = new AtomicReference<>("all good");
    private EgressProxy proxy;
    private String url;

    @BeforeEach
    void start() throws Exception {
        NetworkRules rules = r -> r.agent().equals("watcher") && r.host().equals("status.test")
                ? new NetworkRules.NetworkDecision(NetworkRules.Verdict.ALLOW, "status", "allowed", false,
                        List.of("127.0.0.1/32"), List.of())
                : new NetworkRules.NetworkDecision(NetworkRules.Verdict.DENY, r.agent() + ":default-deny",
                        "no policy of " + r.agent() + " allows " + r.host(), false, List.of(), List.of());
        proxy = new EgressProxy(rules, name -> List.of(InetAddress.getByName("127.0.0.1")), SecretStore.empty(),
                e -> {}, Clock.systemUTC(), EgressProxy.Options.defaults());
        url = site.anthropicBaseUrl().replace("127.0.0.1", "status.test").replace("localhost", "status.test") + "health";
        site.respond(r -> {
            String etag = "\"" + page.get().hashCode() + "\"";
            String asked = r.getHeaders().get("if-none-match");
            conditions.add(asked + " | " + r.getHeaders().get("if-modified-since"));
            if (etag.equals(asked)) return new MockResponse.Builder().code(304).build();
            return new MockResponse.Builder().code(200).addHeader("ETag", etag)
                    .addHeader("Last-Modified", "Fri, 04 Dec 2026 08:00:00 GMT").body(page.get()).build();
        });
    }

    @AfterEach
    void stop() {
        proxy.close();
        site.close();
    }

    @Test
    void anUnchangedPageIsA304AndAChangedOneANewHash() throws Exception {
        ProxyUrlCheck check = new ProxyUrlCheck(proxy, "watcher");
        UrlCheck.Result first = check.check(url, null);
        assertThat(first.status()).isEqualTo(UrlCheck.Status.FETCHED);
        assertThat(first.fetched().lastModified()).isEqualTo("Fri, 04 Dec 2026 08:00:00 GMT");
        UrlCheck.Result again = check.check(url, first.fetched());
        assertThat(again.status()).isEqualTo(UrlCheck.Status.NOT_MODIFIED);
        page.set("degraded");
        UrlCheck.Result changed = check.check(url, first.fetched());
        assertThat(changed.status()).isEqualTo(UrlCheck.Status.FETCHED);
        assertThat(changed.fetched().sha256()).isNotEqualTo(first.fetched().sha256());
        assertThat(conditions).containsExactly("null | null",
                first.fetched().etag() + " | Fri, 04 Dec 2026 08:00:00 GMT",
                first.fetched().etag() + " | Fri, 04 Dec 2026 08:00:00 GMT");
    }

    @Test
    void aHostTheAgentsRulesDoNotAllowIsRefusedBeforeAnyRequest() {
        assertThatThrownBy(() -> new ProxyUrlCheck(proxy, "other").check(url, null))
                .isInstanceOf(IOException.class).hasMessageContaining("no policy of other allows status.test");
        assertThat(site.requestCount()).isZero();
    }
}
