package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.testing.ScriptedUpstream;
import dev.carapace.testing.SignedWebhookReceiver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Attacks from outside on {@code POST /hooks/...}, through a real gateway on loopback with its SQLite store: a caller
 * without a key tries to make the gateway hold a body bigger than the channel takes, or to learn more from a refusal
 * than the API's errors say; a caller holding the key (so speaking for any sender, as a forged mail does) tries to
 * reach an agent its bound person may not use, or to make the channel write to every stranger it names.
 */
class ChannelHookAttackTest {

    @TempDir Path dir;
    GatewayHarness h;
    SignedWebhookReceiver receiver;
    final List<String> modelCalls = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        receiver = new SignedWebhookReceiver();
        Path helperWs = Files.createDirectories(dir.resolve("helper"));
        Path labWs = Files.createDirectories(dir.resolve("lab"));
        // alice (team platform) is webhook:crm/default; the lab agent is research's, which alice may not use over HTTP
        String yaml = WebhookEndToEndTest.extraYaml(dir, helperWs, receiver.port())
                .replace("""
                            agent: helper
                        """, """
                            routes:
                              - {address: lab, agent: lab}
                              - {address: "*", agent: helper}
                        """)
                .replace("deliver_secrets: [crm_out]", "deliver_secrets: [crm_out]\n      max_body_bytes: 64kb")
                .replace("""
                        channels:
                        """, """
                          lab:
                            workspace: %s
                            model: m-solo
                            tools: [read]
                            owner: {team: research}
                        channels:
                        """.formatted(labWs));
        h = new GatewayHarness(dir.resolve("data"), yaml);
        h.a.respond(req -> {
            modelCalls.add(ScriptedUpstream.body(req));
            return ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("ANSWER"), 40, 6), 0);
        });
    }

    @AfterEach
    void stop() {
        if (h != null) h.close();
        if (receiver != null) receiver.close();
    }

    private HttpResponse<String> hook(String path, String id, String body) {
        var signed = WebhookEndToEndTest.signed(h.carapace.port(), id, body);
        return h.send(HttpRequest.newBuilder(URI.create(h.url(path)))
                .headers("content-type", "application/json",
                        "webhook-id", signed.headers().firstValue("webhook-id").orElseThrow(),
                        "webhook-timestamp", signed.headers().firstValue("webhook-timestamp").orElseThrow(),
                        "webhook-signature", signed.headers().firstValue("webhook-signature").orElseThrow())
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    /** The channel's messages as the API lists them, newest first. */
    private JsonNode messages() {
        return GatewayHarness.json(h.get("/api/channels/messages?channel=crm", h.adminKey).body()).path("data");
    }

    @Test
    void aBodyDeclaredOverTheChannelsLimitIsRefusedBeforeAByteOfItIsRead() throws Exception {
        // no key is needed to reach /hooks: a caller must not make the gateway wait for, and hold, more than the
        // channel takes (64 kB here; the server's own limit is 10 MiB)
        try (Socket s = new Socket("127.0.0.1", h.carapace.port())) {
            s.setSoTimeout(3000);
            s.getOutputStream().write(("POST /hooks/crm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 5000000\r\n\r\n{\"text\":").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String answer = new String(s.getInputStream().readNBytes(2000), StandardCharsets.ISO_8859_1);
            assertThat(answer).startsWith("HTTP/1.1 413");
            JsonNode error = GatewayHarness.json(answer.substring(answer.indexOf("\r\n\r\n") + 4)).path("error");
            assertThat(error.path("code").asText()).isEqualTo("request_too_large");
            assertThat(error.path("message").asText()).contains("channel crm's limit of 64000 bytes");
        }
        // sent in chunks, without a declared length, it is cut off at the channel's limit too
        byte[] big = ("{\"text\":\"" + "a".repeat(70_000) + "\"}").getBytes(StandardCharsets.US_ASCII);
        HttpResponse<String> chunked = h.send(HttpRequest.newBuilder(URI.create(h.url("/hooks/crm")))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big)))
                .build());
        assertThat(chunked.statusCode()).isEqualTo(413);
        assertThat(messages()).isEmpty();
    }

    @Test
    void aHooksRefusalsAreInTheApisErrorShapeWithTheirTypeAndRetryHint() {
        HttpResponse<String> unsigned = h.post("/hooks/crm", null, "{\"text\":\"hi\"}");
        HttpResponse<String> noRoute = hook("/hooks/crm/no%20such", "msg_route_1", "{\"text\":\"hi\"}");
        HttpResponse<String> badBody = hook("/hooks/crm", "msg_body_1", "{\"txt\":\"hi\"}");
        for (var c : List.of(List.of(unsigned, 401, "authentication_error", "unsigned"),
                List.of(noRoute, 404, "not_found_error", "no_route"), List.of(badBody, 400, "invalid_request_error", "bad_body"))) {
            @SuppressWarnings("unchecked") HttpResponse<String> r = (HttpResponse<String>) c.get(0);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(c.get(1));
            JsonNode error = GatewayHarness.json(r.body()).path("error");
            assertThat(error.path("type").asText()).as(r.body()).isEqualTo(c.get(2));
            assertThat(error.path("code").asText()).isEqualTo(c.get(3));
            assertThat(error.has("param")).isTrue();
            assertThat(error.path("message").asText()).isNotBlank().doesNotContain("Exception", WebhookEndToEndTest.IN_KEY);
            assertThat(r.headers().firstValue("x-should-retry")).as("a client's mistake is not retried").hasValue("false");
        }
    }

    @Test
    void manyForgedUnknownSendersGetNoMoreRepliesAnHourThanTheChannelsCapNotOneEach() throws Exception {
        // one reply a day per sender is no limit when every message names a new one (a mail's From is free to forge):
        // the channel would mail every stranger an attacker lists
        int senders = dev.carapace.channel.ChannelHub.REPLIES_TO_UNKNOWN_PER_HOUR + 5;
        for (int i = 0; i < senders; i++) {
            assertThat(hook("/hooks/crm", "msg_stranger_" + i, "{\"text\":\"hi\",\"sender\":\"stranger-" + i + "\"}")
                    .statusCode()).isEqualTo(202);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            JsonNode all = messages();
            if (all.size() < senders) return false;
            for (JsonNode m : all) if (!m.path("state").asText().equals("refused")) return false;
            return true;
        });
        long unanswered = 0;
        for (JsonNode m : messages()) if (m.path("detail").asText().contains("replies to unknown senders")) unanswered++;
        assertThat(unanswered).isEqualTo(5);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5))
                .until(() -> receiver.received().size() == dev.carapace.channel.ChannelHub.REPLIES_TO_UNKNOWN_PER_HOUR);
        assertThat(modelCalls).isEmpty();
    }

    @Test
    void aBoundSenderRoutedToAnAgentTheirTeamMayNotUseIsRefusedNotRun() throws Exception {
        // over HTTP alice's own key is refused the lab agent: the channel must not be a way around that
        assertThat(h.post("/api/agents/lab/runs", h.memberKey, "{\"message\":\"hi\"}").statusCode()).isEqualTo(403);

        assertThat(hook("/hooks/crm/lab", "msg_lab_1", "{\"text\":\"ASK lab secrets\"}").statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(10)).until(() -> messages().path(0).path("state").asText().equals("refused"));
        JsonNode m = messages().get(0);
        assertThat(m.path("detail").asText()).contains("lab", "research", "platform");
        assertThat(m.path("run_id").isNull()).isTrue();
        SignedWebhookReceiver.Received told = receiver.await(1).get(0);
        assertThat(GatewayHarness.json(told.body()).path("data").path("text").asText()).startsWith("Sorry");
        assertThat(modelCalls).as("the lab agent never ran for alice").isEmpty();
        assertThat(Files.exists(dir.resolve("lab").resolve("inbox"))).isFalse();

        // her own team's agent, on the same channel, still answers her
        assertThat(hook("/hooks/crm", "msg_helper_1", "{\"text\":\"ASK help\"}").statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(10)).until(() -> modelCalls.size() == 1);
    }

    /**
     * Regression (found from outside): a channel conversation's session name is derived from public ids, so a
     * teammate who may use the same agent read the person's conversation over /api/sessions and started runs in it,
     * putting words into it that the model then read as the person's. Over the API only an admin reads it, and
     * nobody writes into it.
     */
    @Test
    void aChannelConversationIsNeitherReadNorWrittenByTeammatesOverTheApi() throws Exception {
        assertThat(hook("/hooks/crm", "msg_private_1", "{\"text\":\"ASK private\"}").statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(10)).until(() -> messages().path(0).path("state").asText().equals("answered"));
        String runId = messages().get(0).path("run_id").asText();
        String key = GatewayHarness.json(h.get("/api/runs/" + runId, h.adminKey).body()).path("session_key").asText();
        String name = key.substring(key.lastIndexOf(':') + 1);
        assertThat(name).startsWith("ch-crm-");

        HttpResponse<String> read = h.get("/api/sessions/" + key, h.memberKey);
        assertThat(read.statusCode()).as(read.body()).isEqualTo(403);
        assertThat(read.body()).contains("channel's conversation").doesNotContain("ASK private");
        assertThat(h.get("/api/runs/" + runId, h.memberKey).statusCode()).isEqualTo(403);
        assertThat(h.get("/api/sessions/" + key + "/events", h.memberKey).statusCode()).isEqualTo(403);
        assertThat(h.post("/api/sessions/" + key + "/resume", h.memberKey, "").statusCode()).isEqualTo(403);

        int calls = modelCalls.size();
        for (String k : List.of(h.memberKey, h.adminKey)) {
            HttpResponse<String> write = h.post("/api/agents/helper/runs", k,
                    "{\"message\":\"INJECTED\",\"session\":\"" + name + "\"}");
            assertThat(write.statusCode()).as(write.body()).isEqualTo(403);
            assertThat(GatewayHarness.json(write.body()).path("error").path("param").asText()).isEqualTo("session");
        }
        HttpResponse<String> admin = h.get("/api/sessions/" + key, h.adminKey);
        assertThat(admin.statusCode()).isEqualTo(200);
        assertThat(admin.body()).contains("ASK private").doesNotContain("INJECTED");
        assertThat(modelCalls).as("no run started in it").hasSize(calls);
    }
}
