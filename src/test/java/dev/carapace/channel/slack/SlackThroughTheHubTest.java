package dev.carapace.channel.slack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.Agents;
import dev.carapace.channel.Access;
import dev.carapace.channel.AgentRoute;
import dev.carapace.channel.ChannelAudit;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.ChannelEvents;
import dev.carapace.channel.ChannelHub;
import dev.carapace.channel.ChannelPrivacy;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.Identities;
import dev.carapace.channel.MessageState;
import dev.carapace.channel.StoredMessage;
import dev.carapace.channel.UnknownSenders;
import dev.carapace.channel.slack.ScriptedSlack.Answer;
import dev.carapace.server.adapter.StoreChannels;
import dev.carapace.store.Store;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import static dev.carapace.channel.slack.SlackFixture.BOT_TOKEN;
import static dev.carapace.channel.slack.SlackFixture.NOW;
import static dev.carapace.channel.slack.SlackFixture.SIGNING;
import static dev.carapace.channel.slack.SlackFixture.envelope;
import static dev.carapace.channel.slack.SlackFixture.mention;
import static dev.carapace.channel.slack.SlackFixture.signed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A Slack event through the real {@link ChannelHub} and a real SQLite store: stored once however often Slack
 * delivers it, its sender unknown, so the pairing code goes back in the message's thread; a bound sender writing
 * where no route answers is told so in the thread.
 */
class SlackThroughTheHubTest {

    @TempDir Path dir;

    @Test
    void anUnknownSendersMentionIsStoredOnceAndAskedInItsThreadToWriteDirectlyNeverShownACodeOthersCouldConfirm() throws Exception {
        Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("c.db"), null, null, 2);
             ScriptedSlack slack = new ScriptedSlack()) {
            StoreChannels channels = new StoreChannels(store.channelRows());
            ChannelSpec spec = new ChannelSpec("team-slack", "slack", List.of(new AgentRoute("im", "helper", Access.ALLOW)),
                    UnknownSenders.PAIR, 1 << 20, ChannelSpec.DEFAULT_ATTACHMENT_TYPES,
                    SlackFixture.events(slack.api(), slack.base()));
            Identities identities = new Identities("acme", List.of(), channels, ChannelAudit.NONE, clock);
            try (ChannelHub hub = new ChannelHub(List.of(spec), channels, identities, new Agents(List.of()), null, ChannelPrivacy.NONE, ChannelAudit.NONE, new ChannelEvents(), null, clock,
                    Duration.ofMillis(10))) {
                SlackChannel channel = new SlackChannel(new ChannelContext(spec, SlackFixture.SECRETS, channels, clock));
                hub.add(channel);
                hub.start();

                String event = envelope("Ev100", mention("C0CHAN", "U0ALICE", "1764965000.000100", "1764964000.000100",
                        "<@UBOT> can you help?"));
                assertThat(channel.receive(signed(event)).status()).isEqualTo(200);
                assertThat(channel.receive(signed(event, NOW, SIGNING, Map.of("x-slack-retry-num", "1",
                        "x-slack-retry-reason", "http_timeout"))).status()).isEqualTo(200);

                await().atMost(Duration.ofSeconds(10)).until(() -> !slack.to("/api/chat.postMessage").isEmpty()
                        && hub.store().recent("team-slack", 10).stream().allMatch(m -> m.state().isFinal()));
                List<StoredMessage> stored = hub.store().recent("team-slack", 10);
                assertThat(stored).singleElement().satisfies(m -> {
                    assertThat(m.message().messageId()).isEqualTo("C0CHAN:1764965000.000100");
                    assertThat(m.message().sender().key()).isEqualTo("slack:T0001:U0ALICE");
                    assertThat(m.state()).isEqualTo(MessageState.REFUSED);
                    assertThat(m.detail()).startsWith("unknown sender in a shared conversation");
                });
                ScriptedSlack.Request post = slack.to("/api/chat.postMessage").getFirst();
                assertThat(post.header("Authorization")).isEqualTo("Bearer " + BOT_TOKEN);
                JsonNode body = new ObjectMapper().readTree(post.body());
                assertThat(body.get("channel").asText()).isEqualTo("C0CHAN");
                assertThat(body.get("thread_ts").asText()).isEqualTo("1764964000.000100");
                assertThat(body.get("text").asText()).contains("direct message").doesNotContain("channels pair");
                assertThat(identities.pairings()).isEmpty();
                assertThat(slack.to("/api/chat.postMessage")).as("answered once").hasSize(1);

                // once bound, a mention in a channel no route names is refused, in its thread
                identities.bind("slack:T0001:U0ALICE", "support", "alice", "test");
                slack.on("/api/chat.postMessage", Answer.json("{\"ok\":true}"));
                channel.receive(signed(envelope("Ev101", mention("C0OTHER", "U0ALICE", "1764965001.000100", null,
                        "<@UBOT> hello again"))));
                await().atMost(Duration.ofSeconds(10)).until(() -> slack.to("/api/chat.postMessage").size() == 2);
                JsonNode refusal = new ObjectMapper().readTree(slack.to("/api/chat.postMessage").get(1).body());
                assertThat(refusal.get("channel").asText()).isEqualTo("C0OTHER");
                assertThat(refusal.get("thread_ts").asText()).isEqualTo("1764965001.000100");
                assertThat(refusal.get("text").asText()).isEqualTo("Sorry, no assistant answers messages sent here.");
            }
        }
    }
}
