package dev.carapace.channel.slack;

import dev.carapace.channel.slack.ScriptedSlack.Answer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.carapace.channel.slack.SlackFixture.APP_TOKEN;
import static dev.carapace.channel.slack.SlackFixture.direct;
import static dev.carapace.channel.slack.SlackFixture.envelope;
import static dev.carapace.channel.slack.SlackFixture.mention;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Socket Mode against a scripted Slack: {@code apps.connections.open} on the scripted Web API, and a WebSocket server
 * on loopback that sends {@code hello}, event envelopes and a {@code disconnect}, as Slack does.
 */
class SlackSocketModeTest {

    private ScriptedSlack slack;
    private Server wsServer;
    private int wsPort;
    private SlackChannel channel;
    private final SlackFixture.RecordingInbox inbox = new SlackFixture.RecordingInbox();
    /** What the client sent on each connection, in order of connections. */
    private final List<List<String>> received = new CopyOnWriteArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();

    /** One scripted connection: the first says hello, sends one envelope, and disconnects once it is acknowledged. */
    public final class ScriptedConnection implements Session.Listener.AutoDemanding {
        private final int number = connections.incrementAndGet();
        private final List<String> mine = new CopyOnWriteArrayList<>();
        private Session session;

        @Override
        public void onWebSocketOpen(Session s) {
            session = s;
            received.add(mine);
            send("{\"type\":\"hello\",\"num_connections\":1,\"debug_info\":{\"host\":\"applink-1\",\"approximate_connection_time\":18060},"
                    + "\"connection_info\":{\"app_id\":\"A0001\"}}");
            if (number == 1) {
                send(events("env-1", envelope("Ev1", mention("C0CHAN", "U0ALICE", "1764964900.000100", null, "<@UBOT> over the socket"))));
            } else {
                send(events("env-fail", envelope("Ev2", direct("U0ALICE", "1764964901.000100", "not stored", ""))));
                send(events("env-2", envelope("Ev3", direct("U0ALICE", "1764964902.000100", "second connection", ""))));
                send("{\"envelope_id\":\"env-cmd\",\"type\":\"slash_commands\",\"accepts_response_payload\":true,\"payload\":{\"command\":\"/x\"}}");
            }
        }

        @Override
        public void onWebSocketText(String text) {
            mine.add(text);
            if (number == 1 && text.contains("env-1")) {
                send("{\"type\":\"disconnect\",\"reason\":\"refresh_requested\",\"debug_info\":{\"host\":\"applink-1\"}}");
            }
        }

        private void send(String text) { session.sendText(text, Callback.NOOP); }
    }

    private static String events(String id, String payload) {
        return "{\"envelope_id\":\"" + id + "\",\"payload\":" + payload
                + ",\"type\":\"events_api\",\"accepts_response_payload\":false,\"retry_attempt\":0,\"retry_reason\":\"\"}";
    }

    @BeforeEach
    void start() throws Exception {
        wsServer = new Server();
        ServerConnector connector = new ServerConnector(wsServer);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        wsServer.addConnector(connector);
        wsServer.setHandler(WebSocketUpgradeHandler.from(wsServer, container ->
                container.addMapping("/link/", (rq, rs, cb) -> new ScriptedConnection())));
        wsServer.start();
        wsPort = connector.getLocalPort();
        slack = new ScriptedSlack();
        slack.on("/api/apps.connections.open", Answer.json("{\"ok\":true,\"url\":\"ws://127.0.0.1:" + wsPort
                + "/link/?ticket=abc&app_id=A0001\"}"));
        inbox.failOn = "D0DM1:1764964901.000100";
        channel = new SlackChannel(SlackFixture.context(SlackFixture.spec(new SlackSettings("slack-bot", null, "slack-app",
                SlackSettings.Mode.SOCKET, slack.api(), slack.base()), 1 << 20)));
        channel.start(inbox);
    }

    @AfterEach
    void stop() throws Exception {
        channel.close();
        slack.close();
        wsServer.stop();
    }

    @Test
    void envelopesAreAcknowledgedOnceStoredAndADisconnectOpensANewConnection() {
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 2
                && received.get(1).stream().anyMatch(t -> t.contains("env-2"))
                && received.get(1).stream().anyMatch(t -> t.contains("env-cmd")) && inbox.calls >= 3);
        assertThat(received.get(0)).containsExactly("{\"envelope_id\":\"env-1\"}");
        assertThat(received.get(1)).as("the envelope not stored is not acknowledged, so Slack sends it again")
                .containsExactlyInAnyOrder("{\"envelope_id\":\"env-2\"}", "{\"envelope_id\":\"env-cmd\"}");
        assertThat(inbox.messages).extracting(m -> m.text()).containsExactlyInAnyOrder("over the socket", "second connection");
        assertThat(inbox.messages).extracting(m -> m.address()).containsExactlyInAnyOrder("C0CHAN", "im");

        List<ScriptedSlack.Request> opens = slack.to("/api/apps.connections.open");
        assertThat(opens).hasSize(2).allSatisfy(r -> assertThat(r.header("Authorization")).isEqualTo("Bearer " + APP_TOKEN));
        assertThat(channel.receive(SlackFixture.signed("{}")).status()).as("no pushes in socket mode").isEqualTo(404);
        assertThat(new String(channel.receive(SlackFixture.signed("{}")).body(), StandardCharsets.UTF_8)).contains("Socket Mode");
    }
}
