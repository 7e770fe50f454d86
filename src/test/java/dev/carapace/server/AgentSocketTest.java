package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.RunStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static dev.carapace.server.GatewayHarness.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A session over WebSocket (JDK client): the same events as SSE, messages and cancels from the client. */
class AgentSocketTest {

    @TempDir Path dir;
    AgentHarness x;
    GatewayHarness h;

    @BeforeEach
    void setUp() throws Exception {
        x = new AgentHarness(dir);
        h = x.h;
    }

    @AfterEach
    void tearDown() {
        x.close();
    }

    /** Collects the server's messages. */
    static final class Inbox implements WebSocket.Listener {
        final BlockingQueue<JsonNode> messages = new LinkedBlockingQueue<>();
        private final StringBuilder partial = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                messages.add(json(partial.toString()));
                partial.setLength(0);
            }
            ws.request(1);
            return null;
        }

        /** Every message up to and including the first that {@code until} accepts. */
        List<JsonNode> until(Predicate<JsonNode> until) throws InterruptedException {
            List<JsonNode> got = new ArrayList<>();
            while (true) {
                JsonNode m = messages.poll(10, TimeUnit.SECONDS);
                if (m == null) throw new AssertionError("no message within 10 s; got " + got);
                got.add(m);
                if (until.test(m)) return got;
            }
        }
    }

    /** A new member key of {@code user} in platform, the team of the sessions here. */
    dev.carapace.identity.KeyAdmin.Created memberKey(String user) {
        return h.carapace.keyAdmin().create(user, "platform", dev.carapace.identity.Principal.Role.MEMBER, null);
    }

    /** A socket on {@code sessionKey} of a new member key of {@code user}. */
    record MemberSocket(String key, String prefix, WebSocket ws, Inbox inbox) {}

    MemberSocket memberSocket(String user, String sessionKey) {
        var created = memberKey(user);
        Inbox inbox = new Inbox();
        return new MemberSocket(created.secret(), created.key().prefix(), connect(created.secret(), sessionKey, inbox), inbox);
    }

    /** The client is told its key was revoked, naming the prefix and never the key, and the socket closes. */
    static void toldRevokedAndClosed(MemberSocket s) throws InterruptedException {
        JsonNode told = s.inbox().until(m -> true).getFirst();
        assertThat(told.path("error").path("code").asText()).isEqualTo("revoked_api_key");
        assertThat(told.path("error").path("message").asText()).contains(s.prefix()).doesNotContain(s.key());
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(s.ws()::isInputClosed);
    }

    WebSocket connect(String key, String sessionKey, Inbox inbox) {
        return h.http.newWebSocketBuilder().header("authorization", "Bearer " + key)
                .buildAsync(URI.create("ws://127.0.0.1:" + h.carapace.port() + "/api/sessions/" + sessionKey + "/ws"), inbox)
                .join();
    }

    static Predicate<JsonNode> finalStatus(String status) {
        return m -> "status".equals(m.path("type").asText()) && status.equals(m.path("status").asText());
    }

    @Test
    void aMessageStartsARunWhoseEventsComeBackThenACancelStopsTheNext() throws Exception {
        x.scriptReadThenAnswer();
        Inbox inbox = new Inbox();
        WebSocket ws = connect(h.memberKey, "agent:helper:chat", inbox);

        ws.sendText("{\"type\":\"message\",\"text\":\"What is the secret word?\"}", true).join();

        List<JsonNode> got = inbox.until(finalStatus("completed"));
        List<String> types = got.stream().map(m -> m.path("type").asText()
                + (m.has("status") ? ":" + m.path("status").asText() : "")).toList();
        assertThat(types).containsSubsequence("accepted", "status:running", "usage", "tool_started", "tool_finished",
                "text", "usage", "status:completed");
        assertThat(types).containsSubsequence("status:queued", "status:running");
        String runId = got.stream().filter(m -> m.path("type").asText().equals("accepted")).findFirst().orElseThrow()
                .path("run_id").asText();
        assertThat(got).filteredOn(m -> m.has("run_id") && !m.path("type").asText().equals("accepted"))
                .allSatisfy(m -> assertThat(m.path("run_id").asText()).isEqualTo(runId));
        assertThat(got).filteredOn(m -> m.path("type").asText().equals("text")).singleElement()
                .satisfies(m -> assertThat(m.path("text").asText()).isEqualTo("kumquat"));
        assertThat(x.runtime().transcript("agent:helper:chat")).hasSize(4);

        // A slow second run, cancelled from the socket.
        h.a.enqueue(AgentHarness.slowText(List.of("a", "b", "c", "d", "e", "f"), 1000));
        ws.sendText("{\"type\":\"message\",\"text\":\"and slowly?\"}", true).join();
        String second = inbox.until(m -> m.path("type").asText().equals("accepted")).getLast().path("run_id").asText();
        inbox.until(finalStatus("running"));
        ws.sendText("{\"type\":\"cancel\"}", true).join();
        List<JsonNode> end = inbox.until(finalStatus("cancelled"));
        assertThat(end).anySatisfy(m -> {
            assertThat(m.path("type").asText()).isEqualTo("cancelled");
            assertThat(m.path("run_ids").toString()).isEqualTo("[\"" + second + "\"]");
        });
        assertThat(x.runtime().run(second).status()).isEqualTo(RunStatus.CANCELLED);

        // Mistakes are answered and the socket stays usable.
        ws.sendText("not json", true).join();
        assertThat(inbox.until(m -> true).getFirst().path("message").asText()).contains("Not valid JSON");
        ws.sendText("{\"type\":\"shout\"}", true).join();
        assertThat(inbox.until(m -> true).getFirst().path("message").asText()).contains("type: expected 'message' or 'cancel'");
        ws.sendText("{\"type\":\"message\",\"text\":\"\"}", true).join();
        JsonNode empty = inbox.until(m -> true).getFirst();
        assertThat(empty.path("type").asText()).isEqualTo("error");
        assertThat(empty.path("message").asText()).contains("message: must not be empty");
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").join();
    }

    /**
     * Regression: a socket and an event stream opened with a key went on reading a team session's events, starting
     * runs and cancelling other people's after the key was revoked. Each now ends with an error naming the key's
     * prefix, and the socket does nothing the client asks after it.
     */
    @Test
    void revokingTheKeyEndsItsSocketAndItsEventStream() throws Exception {
        MemberSocket s = memberSocket("erin", "agent:helper:shared");
        String second = s.key(), prefix = s.prefix();
        java.util.concurrent.CompletableFuture<java.net.http.HttpResponse<String>> stream = h.http.sendAsync(
                java.net.http.HttpRequest.newBuilder(URI.create(h.url("/api/sessions/agent:helper:shared/events")))
                        .header("authorization", "Bearer " + second).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(h.carapace.keyAdmin().revoke(prefix)).isTrue();

        // the SSE stream ends on its own (it is checked at least every second), with the error as its last event
        String body = stream.get(10, TimeUnit.SECONDS).body();
        assertThat(body).contains("event: error", "revoked_api_key", prefix).doesNotContain(second);

        // the socket: what the client sends the moment after is not done (a request looks the key up at once; an
        // outside tester had a message and six cancels carried out within the second after); it is told why and the
        // socket closes (it may have closed on its own first)
        try {
            s.ws().sendText("{\"type\":\"message\",\"text\":\"after the revocation\"}", true).join();
        } catch (java.util.concurrent.CompletionException closedAlready) {
            // the server closed it first: nothing was asked
        }
        toldRevokedAndClosed(s);
        assertThat(x.runtime().runs("agent:helper:shared")).as("no run was started").isEmpty();
    }

    /**
     * Regression: the key was looked up at most once a second, so for up to a second after its revocation the socket
     * still started runs and cancelled them (an outside tester: a message and six cancels). A client's request on
     * the socket now looks the key up at once.
     */
    @Test
    void aRequestOnTheSocketTheMomentItsKeyIsRevokedIsRefused() throws Exception {
        MemberSocket s = memberSocket("gus", "agent:helper:quick");
        assertThat(h.carapace.keyAdmin().revoke(s.prefix())).isTrue();
        s.ws().sendText("{\"type\":\"message\",\"text\":\"straight after\"}", true).join();

        toldRevokedAndClosed(s);
        assertThat(x.runtime().runs("agent:helper:quick")).as("no run was started").isEmpty();
    }

    /** Regression: a socket of a revoked key that nothing passed on stayed open until its client sent something. */
    @Test
    void anIdleSocketOfARevokedKeyClosesOnItsOwn() throws Exception {
        MemberSocket s = memberSocket("fay", "agent:helper:idle");
        assertThat(h.carapace.keyAdmin().revoke(s.prefix())).isTrue();

        toldRevokedAndClosed(s);   // the client sends nothing
    }

    @Test
    void aRunsAcceptedReplyComesBeforeAnyOfItsEvents() throws Exception {
        int runs = 30;
        for (int i = 0; i < runs; i++) h.a.enqueue(AgentHarness.text("ok " + i, 10, 2));
        Inbox inbox = new Inbox();
        WebSocket ws = connect(h.memberKey, "agent:helper:order", inbox);
        List<JsonNode> got = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            ws.sendText("{\"type\":\"message\",\"text\":\"number " + i + "\"}", true).join();
            got.addAll(inbox.until(finalStatus("completed")));
        }
        Set<String> accepted = new HashSet<>();
        for (JsonNode m : got) {
            String run = m.path("run_id").asText();
            if (m.path("type").asText().equals("accepted")) accepted.add(run);
            else assertThat(accepted).as("%s arrived before its run's accepted reply", m).contains(run);
        }
        assertThat(accepted).hasSize(runs);
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").join();
    }

    @Test
    void theUpgradeIsRefusedWithTheApisStatusForAnotherTeamsSessionOrNoKey() {
        assertThatThrownBy(() -> connect(h.researchKey, "agent:helper:chat", new Inbox()))
                .isInstanceOf(CompletionException.class).cause().isInstanceOf(WebSocketHandshakeException.class)
                .satisfies(e -> {
                    var response = ((WebSocketHandshakeException) e).getResponse();
                    assertThat(response.statusCode()).isEqualTo(403);
                    assertThat(String.valueOf(response.body())).contains("may not use session 'agent:helper:chat'");
                });
        assertThatThrownBy(() -> connect("cpk_wrong", "agent:helper:chat", new Inbox()))
                .cause().isInstanceOf(WebSocketHandshakeException.class)
                .satisfies(e -> assertThat(((WebSocketHandshakeException) e).getResponse().statusCode()).isEqualTo(401));
        assertThatThrownBy(() -> connect(h.memberKey, "agent:nope:chat", new Inbox()))
                .cause().isInstanceOf(WebSocketHandshakeException.class)
                .satisfies(e -> assertThat(((WebSocketHandshakeException) e).getResponse().statusCode()).isEqualTo(404));
    }
}
