package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.NetworkRules;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.guard.egress.SecretStore;
import dev.carapace.schedule.Webhooks;
import dev.carapace.server.adapter.ProxyWebhooks;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** A job's webhook through the egress proxy adapter: judged as its caller, and a refusal the job's owner can read. */
class ProxyWebhooksTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private final List<NetworkRules.NetworkRequest> asked = new CopyOnWriteArrayList<>();
    private final List<AuditEvent> audit = new CopyOnWriteArrayList<>();
    private WebhookReceiver receiver;
    private EgressProxy proxy;
    private Webhooks webhooks;

    @BeforeEach
    void start() throws Exception {
        receiver = new WebhookReceiver();
        NetworkRules rules = r -> {
            asked.add(r);
            return r.agent().equals("job:report") && r.host().equals("hooks.test")
                    ? new NetworkRules.NetworkDecision(NetworkRules.Verdict.ALLOW, "hooks", "allowed", false,
                            List.of("127.0.0.1/32"), List.of())
                    : new NetworkRules.NetworkDecision(NetworkRules.Verdict.DENY, r.agent() + ":default-deny",
                            "no policy of " + r.agent() + " allows " + r.host(), false, List.of(), List.of());
        };
        proxy = new EgressProxy(rules, name -> List.of(InetAddress.getByName("127.0.0.1")), SecretStore.empty(),
                audit::add, Clock.systemUTC(), EgressProxy.Options.defaults());
        webhooks = new ProxyWebhooks(proxy);
    }

    @AfterEach
    void stop() {
        proxy.close();
        receiver.close();
    }

    private URI hook(String host) {
        return URI.create(receiver.url().replace("127.0.0.1", host));
    }

    @Test
    void anAllowedPostIsDeliveredAndItsStatusComesBack() throws Exception {
        byte[] body = "{\"run\":7}".getBytes(StandardCharsets.UTF_8);
        receiver.failNext(503);
        Webhooks.Response failed = webhooks.post("job:report", hook("hooks.test"),
                Map.of("Content-Type", "application/json"), body, 1024, TIMEOUT);
        Webhooks.Response ok = webhooks.post("job:report", hook("hooks.test"), Map.of(), null, 1024, TIMEOUT);
        assertThat(failed.status()).isEqualTo(503);
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.truncated()).isFalse();
        assertThat(receiver.deliveries()).extracting(WebhookReceiver.Delivery::body).containsExactly("{\"run\":7}", "");
        assertThat(asked).extracting(r -> r.agent() + " " + r.method() + " " + r.path())
                .containsOnly("job:report POST /hook");
    }

    @Test
    void aRefusalBecomesRefusedWithTheProxysDenial() throws Exception {
        Webhooks.Refused refused = catchThrowableOfType(Webhooks.Refused.class, () -> webhooks.post("job:other",
                hook("hooks.test"), Map.of(), "x".getBytes(StandardCharsets.UTF_8), 1024, TIMEOUT));
        JsonNode denial = GatewayHarness.json(refused.getMessage());
        assertThat(denial.path("layer").asText()).isEqualTo("network");
        assertThat(denial.path("method").asText()).isEqualTo("POST");
        assertThat(denial.path("rule").asText()).isEqualTo("job:other:default-deny");
        assertThat(denial.path("reason").asText()).isEqualTo("no policy of job:other allows hooks.test");
        assertThat(denial.path("remedy").asText()).contains("POST hooks.test");

        Webhooks.Refused hostile = catchThrowableOfType(Webhooks.Refused.class, () -> webhooks.post("job:report",
                hook("hooks.test"), Map.of("X-Evil", "a\r\nX-Injected: 1"), null, 1024, TIMEOUT));
        assertThat(GatewayHarness.json(hostile.getMessage()).path("reason").asText())
                .isEqualTo("header 'X-Evil' has a control character in its value (CR, LF, NUL...)");
        Webhooks.Refused scheme = catchThrowableOfType(Webhooks.Refused.class, () -> webhooks.post("job:report",
                URI.create("file:///etc/passwd"), Map.of(), null, 1024, TIMEOUT));
        assertThat(GatewayHarness.json(scheme.getMessage()).path("error").asText()).isEqualTo("bad_request");

        assertThat(receiver.deliveries()).isEmpty();
        assertThat(audit).extracting(e -> e.agent() + " " + e.action() + " " + e.outcome())
                .containsExactly("job:other POST deny", "job:report POST deny", "job:report POST deny");
    }
}
