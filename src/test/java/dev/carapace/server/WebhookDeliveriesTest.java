package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.Secrets;
import dev.carapace.channel.webhook.DeliveryQueue;
import dev.carapace.channel.webhook.RetryTiming;
import dev.carapace.channel.webhook.WebhookDeliveries;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.NetworkRules;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.guard.egress.SecretStore;
import dev.carapace.server.adapter.ProxyWebhooks;
import dev.carapace.server.adapter.StoreWebhookDeliveries;
import dev.carapace.store.Store;
import dev.carapace.testing.SignedWebhookReceiver;
import dev.carapace.testing.SignedWebhookReceiver.Received;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Outbound webhooks end to end on loopback: the durable queue in a real SQLite file, the real egress proxy
 * ({@link ProxyWebhooks}), and a receiver that checks signatures per the spec with its own code.
 */
class WebhookDeliveriesTest {

    static final String KEY = "whsec_" + java.util.Base64.getEncoder().encodeToString("answers-key-0123456789".getBytes());
    static final WebhookDeliveries.Tuning FAST = new WebhookDeliveries.Tuning(
            new RetryTiming(Duration.ofMillis(10), Duration.ofSeconds(2)), Duration.ofSeconds(5), Duration.ofMillis(200), 4);
    static final byte[] BODY = "{\"type\":\"message.reply\",\"data\":{\"text\":\"hello\"}}".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;
    final List<AuditEvent> audit = new CopyOnWriteArrayList<>();
    final List<AutoCloseable> open = new ArrayList<>();
    SignedWebhookReceiver receiver;
    EgressProxy proxy;

    /** {@code hooks.test} is the receiver on loopback (allowed); {@code internal.test} a private address (not). */
    static EgressProxy proxy(List<AuditEvent> audit) throws Exception {
        NetworkRules rules = r -> r.agent().startsWith("channel:") || r.agent().startsWith("job:")
                ? new NetworkRules.NetworkDecision(NetworkRules.Verdict.ALLOW, "hooks", "allowed", false,
                        r.host().equals("hooks.test") ? List.of("127.0.0.1/32") : List.of(), List.of())
                : new NetworkRules.NetworkDecision(NetworkRules.Verdict.DENY, r.agent() + ":default-deny",
                        "no policy of " + r.agent() + " allows " + r.host(), false, List.of(), List.of());
        return new EgressProxy(rules, name -> List.of(InetAddress.getByName(name.equals("hooks.test") ? "127.0.0.1" : "10.0.0.7")),
                SecretStore.empty(), audit::add, Clock.systemUTC(), EgressProxy.Options.defaults());
    }

    static Secrets secrets(Map<String, String> values) {
        return new Secrets() {
            @Override
            public String value(String name) throws ChannelException {
                String v = values.get(name);
                if (v == null) throw new ChannelException("secret '" + name + "' is not configured", true);
                return v;
            }

            @Override
            public boolean has(String name) { return values.containsKey(name); }
        };
    }

    @BeforeEach
    void start() throws Exception {
        receiver = new SignedWebhookReceiver();
        proxy = proxy(audit);
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open.reversed()) c.close();
        proxy.close();
        receiver.close();
    }

    Store store() {
        Store s = Store.open("jdbc:sqlite:" + dir.resolve("carapace.db"), null, null, 2);
        open.add(s);
        return s;
    }

    WebhookDeliveries deliveries(Store store, String gateway) {
        WebhookDeliveries d = new WebhookDeliveries(new StoreWebhookDeliveries(store.webhookDeliveries()),
                new ProxyWebhooks(proxy), secrets(Map.of("answers", KEY)), Clock.systemUTC(), gateway, FAST);
        open.add(d);
        return d;
    }

    URI hook(String host) { return URI.create("http://" + host + ":" + receiver.port() + "/hook"); }

    static void settled(WebhookDeliveries d, String id, String state) {
        await().atMost(Duration.ofSeconds(10)).until(() -> d.status(id).map(DeliveryQueue.Status::state).orElse("").equals(state));
    }

    @Test
    void aDeliveryIsSignedAsTheSpecSaysAndQueuedOnce() throws Exception {
        WebhookDeliveries d = deliveries(store(), "gw-1");
        d.start();
        String id = d.enqueue("channel:crm", "channel:crm", hook("hooks.test"), List.of("answers"), BODY, 3, "msg_9:answer");
        assertThat(d.enqueue("channel:crm", "channel:crm", hook("hooks.test"), List.of("answers"), BODY, 3, "msg_9:answer"))
                .as("the same answer queued again (a crash between sending and recording)").isEqualTo(id);
        Received r = receiver.await(1).get(0);
        assertThat(r.id()).isEqualTo(id).startsWith("msg_");
        assertThat(SignedWebhookReceiver.verifies(r, KEY)).isTrue();
        assertThat(SignedWebhookReceiver.verifies(r, "whsec_" + java.util.Base64.getEncoder().encodeToString("other".getBytes()))).isFalse();
        assertThat(Math.abs(Long.parseLong(r.timestamp()) - Instant.now().getEpochSecond())).isLessThan(5);
        assertThat(r.body()).isEqualTo(new String(BODY, StandardCharsets.UTF_8));
        settled(d, id, "delivered");
        assertThat(d.status(id).orElseThrow().attempts()).isEqualTo(1);

        String unsigned = d.enqueue("job:report", "job:report", hook("hooks.test"), List.of(), BODY, 3, "job:report:1");
        Received u = receiver.await(2).get(1);
        assertThat(u.id()).isEqualTo(unsigned);
        assertThat(u.signature()).isNull();
        assertThat(receiver.received()).hasSize(2);
    }

    @Test
    void a503IsTriedAgainAfterItsRetryAfterWithTheSameId() throws Exception {
        receiver.answer(503, "1");
        WebhookDeliveries d = deliveries(store(), "gw-1");
        d.start();
        String id = d.enqueue("channel:crm", "channel:crm", hook("hooks.test"), List.of("answers"), BODY, 3, "k");
        List<Received> got = receiver.await(2);
        assertThat(got).extracting(Received::answered).containsExactly(503, 200);
        assertThat(got).extracting(Received::id).containsOnly(id);
        assertThat(got).allMatch(r -> SignedWebhookReceiver.verifies(r, KEY));
        assertThat(Duration.ofNanos(got.get(1).atNanos() - got.get(0).atNanos())).as("Retry-After: 1")
                .isGreaterThanOrEqualTo(Duration.ofMillis(900));
        settled(d, id, "delivered");
        assertThat(d.status(id).orElseThrow().attempts()).isEqualTo(2);
    }

    @Test
    void a400IsNotTriedAgainAndRepeated5xxGiveUpAfterTheAttempts() throws Exception {
        Store store = store();
        WebhookDeliveries d = deliveries(store, "gw-1");
        receiver.answer(400, null);
        d.start();
        String refused = d.enqueue("channel:crm", "channel:crm", hook("hooks.test"), List.of(), BODY, 5, "a");
        settled(d, refused, "failed");
        assertThat(d.status(refused).orElseThrow()).satisfies(s -> {
            assertThat(s.attempts()).isEqualTo(1);
            assertThat(s.detail()).isEqualTo("HTTP 400 (the receiver refused it; not tried again)");
        });
        receiver.answer(429, null);
        receiver.answer(500, null);
        receiver.answer(502, null);
        String flaky = d.enqueue("channel:crm", "channel:crm", hook("hooks.test"), List.of(), BODY, 3, "b");
        settled(d, flaky, "failed");
        assertThat(d.status(flaky).orElseThrow().detail()).isEqualTo("HTTP 502; gave up after 3 attempts");
        assertThat(receiver.received()).extracting(Received::answered).containsExactly(400, 429, 500, 502);
        String pending = d.enqueue("channel:crm", "channel:crm", hook("hooks.test"), List.of(), BODY, 3, "c");
        settled(d, pending, "delivered");
        StoreWebhookDeliveries q = new StoreWebhookDeliveries(store.webhookDeliveries());
        q.add(new dev.carapace.channel.webhook.Delivery("msg_later", "channel:crm", "channel:crm", hook("hooks.test"),
                List.of(), BODY, 3, 0, Instant.now().plusSeconds(3600)), Instant.now());
        assertThat(q.prune(Instant.now().plusSeconds(1))).as("settled ones go, a pending one stays").isEqualTo(3);
        assertThat(d.status(refused)).isEmpty();
        assertThat(d.status("msg_later")).isPresent();
    }

    @Test
    void aQueuedDeliverySurvivesARestartAndADeadGatewaysClaimLapses() throws Exception {
        Store first = store();
        WebhookDeliveries before = deliveries(first, "gw-1");   // never started: the process "dies" with both queued
        String claimed = before.enqueue("channel:crm", "channel:crm", hook("hooks.test"), List.of("answers"), BODY, 3, "r1");
        String queued = before.enqueue("channel:crm", "channel:crm", hook("hooks.test"), List.of("answers"), BODY, 3, "r2");
        // another gateway took the first and was killed mid-attempt: its claim holds for two seconds more
        Instant now = Instant.now();
        assertThat(new StoreWebhookDeliveries(first.webhookDeliveries()).claimDue("gw-dead", now.plusMillis(1),
                now.plusSeconds(2), 1)).extracting(x -> x.id()).containsExactly(claimed);
        open.remove(before);
        before.close();
        open.remove(first);
        first.close();

        Store second = store();
        WebhookDeliveries after = deliveries(second, "gw-2");
        after.start();
        List<Received> got = receiver.await(2);
        assertThat(got).extracting(Received::id).as("the dead gateway's claim lapsed after the free one went")
                .containsExactly(queued, claimed);
        assertThat(got).allMatch(r -> SignedWebhookReceiver.verifies(r, KEY));
        settled(after, claimed, "delivered");
        assertThat(after.status(claimed).orElseThrow().attempts()).isEqualTo(1);
    }

    @Test
    void theQueueIsTheSameOnPostgresql() throws Exception {
        Store pg = Store.open(dev.carapace.store.PostgresForTests.createDatabase(), dev.carapace.store.PostgresForTests.USER,
                "pw", 2);
        open.add(pg);
        WebhookDeliveries d = deliveries(pg, "gw-1");
        receiver.answer(503, null);
        d.start();
        String id = d.enqueue("channel:crm", "channel:crm", hook("hooks.test"), List.of("answers"), BODY, 3, "pg");
        assertThat(d.enqueue("channel:crm", "channel:crm", hook("hooks.test"), List.of("answers"), BODY, 3, "pg")).isEqualTo(id);
        List<Received> got = receiver.await(2);
        assertThat(got).extracting(Received::answered).containsExactly(503, 200);
        assertThat(got).allMatch(r -> r.id().equals(id) && SignedWebhookReceiver.verifies(r, KEY));
        assertThat(got.get(1).body()).isEqualTo(new String(BODY, StandardCharsets.UTF_8));
        settled(d, id, "delivered");
        assertThat(new StoreWebhookDeliveries(pg.webhookDeliveries()).prune(Instant.now().plusSeconds(1))).isEqualTo(1);
    }

    @Test
    void theEgressPolicyRefusesAPrivateAddressAndACallerWithoutARule() throws Exception {
        WebhookDeliveries d = deliveries(store(), "gw-1");
        d.start();
        String internal = d.enqueue("channel:crm", "channel:crm", hook("internal.test"), List.of("answers"), BODY, 5, "i");
        String stranger = d.enqueue("agent:x", "mallory", hook("hooks.test"), List.of("answers"), BODY, 5, "m");
        settled(d, internal, "failed");
        settled(d, stranger, "failed");
        assertThat(d.status(internal).orElseThrow()).satisfies(s -> {
            assertThat(s.attempts()).as("a refusal is not tried again").isEqualTo(1);
            assertThat(s.detail()).startsWith("the egress policy refused it: ");
            JsonNode denial = GatewayHarness.json(s.detail().substring("the egress policy refused it: ".length()));
            assertThat(denial.toString()).contains("10.0.0.7");
        });
        assertThat(d.status(stranger).orElseThrow().detail()).contains("mallory:default-deny");
        assertThat(receiver.received()).isEmpty();
        assertThat(audit).extracting(e -> e.agent() + " " + e.outcome()).contains("channel:crm deny", "mallory deny");
    }
}
