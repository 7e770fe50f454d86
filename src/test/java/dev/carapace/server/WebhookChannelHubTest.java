package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.Agents;
import dev.carapace.channel.Access;
import dev.carapace.channel.AgentRoute;
import dev.carapace.channel.ChannelAudit;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.ChannelEvents;
import dev.carapace.channel.ChannelHub;
import dev.carapace.channel.ChannelPrivacy;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.HookRequest;
import dev.carapace.channel.Identities;
import dev.carapace.channel.StoredMessage;
import dev.carapace.channel.UnknownSenders;
import dev.carapace.channel.webhook.StandardWebhooks;
import dev.carapace.channel.webhook.WebhookChannel;
import dev.carapace.channel.webhook.WebhookDeliveries;
import dev.carapace.channel.webhook.WebhookSettings;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.server.adapter.ProxyWebhooks;
import dev.carapace.server.adapter.StoreChannels;
import dev.carapace.server.adapter.StoreWebhookDeliveries;
import dev.carapace.store.Store;
import dev.carapace.testing.SignedWebhookReceiver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A webhook channel inside the real {@link ChannelHub} over a real SQLite store, as two gateways on one database
 * see it: a signed message is stored, the unknown sender gets its pairing code POSTed back signed to
 * {@code deliver_to}, and the same {@code webhook-id} sent again, to either gateway, is acknowledged and nothing more.
 */
class WebhookChannelHubTest {

    static final String IN_KEY = "whsec_" + java.util.Base64.getEncoder().encodeToString("crm-signs-with-this".getBytes());

    @TempDir
    Path dir;
    final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open.reversed()) c.close();
    }

    <T extends AutoCloseable> T opened(T c) {
        open.add(c);
        return c;
    }

    /** One gateway: its store on the shared file, its deliveries, its hub with the webhook channel in it. */
    record Gateway(Store store, ChannelHub hub, WebhookChannel channel) {}

    Gateway gateway(String name, URI deliverTo, EgressProxy proxy) {
        Store store = opened(Store.open("jdbc:sqlite:" + dir.resolve("carapace.db"), null, null, 2));
        StoreChannels channels = new StoreChannels(store.channelRows());
        Clock clock = Clock.systemUTC();
        var secrets = WebhookDeliveriesTest.secrets(Map.of("crm_in", IN_KEY, "answers", WebhookDeliveriesTest.KEY));
        WebhookDeliveries deliveries = opened(new WebhookDeliveries(new StoreWebhookDeliveries(store.webhookDeliveries()),
                new ProxyWebhooks(proxy), secrets, clock, name, WebhookDeliveriesTest.FAST));
        ChannelSpec spec = new ChannelSpec("crm", "webhook", List.of(new AgentRoute("*", "helper", Access.ALLOW)),
                UnknownSenders.PAIR, ChannelSpec.DEFAULT_MAX_ATTACHMENT_BYTES, ChannelSpec.DEFAULT_ATTACHMENT_TYPES,
                new WebhookSettings(List.of("crm_in"), Duration.ofMinutes(5), deliverTo, List.of("answers"), 3, List.of(),
                        1 << 20));
        ChannelHub hub = opened(new ChannelHub(List.of(spec), channels, new Identities("acme", List.of(), channels,
                ChannelAudit.NONE, clock), new Agents(List.of()), null, ChannelPrivacy.NONE, ChannelAudit.NONE,
                new ChannelEvents(), null, clock, Duration.ofMillis(10)));
        WebhookChannel channel = (WebhookChannel) ChannelWiring.build(new ChannelContext(spec, secrets, channels, clock),
                deliveries);
        hub.add(channel);
        hub.start();
        deliveries.start();
        return new Gateway(store, hub, channel);
    }

    @Test
    void aMessageIsStoredOnceAcrossGatewaysAndItsAnswerGoesBackSigned() throws Exception {
        try (SignedWebhookReceiver receiver = new SignedWebhookReceiver()) {
            EgressProxy proxy = opened(WebhookDeliveriesTest.proxy(new ArrayList<>()));
            URI deliverTo = URI.create("http://hooks.test:" + receiver.port() + "/hook");
            Gateway one = gateway("gw-1", deliverTo, proxy);
            Gateway two = gateway("gw-2", deliverTo, proxy);

            long ts = java.time.Instant.now().getEpochSecond();
            HookRequest request = WebhookChannelRequests.signed(IN_KEY, "msg_crm_1", ts,
                    "{\"text\":\"where is my invoice?\",\"sender\":\"agent-7\",\"conversation\":\"t-1\"}");
            assertThat(one.channel().receive(request).status()).isEqualTo(202);
            assertThat(two.channel().receive(request).status()).as("replayed to another gateway").isEqualTo(200);
            assertThat(one.channel().receive(request).status()).as("replayed to the same").isEqualTo(200);

            SignedWebhookReceiver.Received answer = receiver.await(1).get(0);
            assertThat(SignedWebhookReceiver.verifies(answer, WebhookDeliveriesTest.KEY)).isTrue();
            JsonNode body = GatewayHarness.json(answer.body());
            assertThat(body.path("type").asText()).isEqualTo("message.reply");
            assertThat(body.path("data").path("in_reply_to").asText()).isEqualTo("msg_crm_1");
            assertThat(body.path("data").path("sender").asText()).isEqualTo("agent-7");
            assertThat(body.path("data").path("conversation").asText()).isEqualTo("t-1");
            assertThat(body.path("data").path("text").asText()).contains("carapace channels pair ");

            List<StoredMessage> stored = one.hub().store().recent("crm", 10);
            assertThat(stored).singleElement().satisfies(m -> {
                assertThat(m.message().sender().key()).isEqualTo("webhook:crm/agent-7");
                assertThat(m.message().text()).isEqualTo("where is my invoice?");
            });
            assertThat(receiver.received()).as("one answer, though the message came three times").hasSize(1);
        }
    }

    /** Signed requests as a caller makes them. */
    static final class WebhookChannelRequests {
        static HookRequest signed(String key, String id, long ts, String body) {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            return new HookRequest("", Map.of("webhook-id", id, "webhook-timestamp", Long.toString(ts),
                    "webhook-signature", StandardWebhooks.sign(StandardWebhooks.key(key), id, ts, b)), b, "127.0.0.1");
        }
    }
}
