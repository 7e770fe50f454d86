package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.TranscriptEntry;
import dev.carapace.identity.Principal;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import dev.carapace.testing.SignedWebhookReceiver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The webhook channel through a real gateway (issue 18): a CRM signs {@code POST /hooks/crm} per Standard Webhooks,
 * the agent answers through the scripted upstream, and the answer is POSTed back, signed, to a loopback receiver
 * through the egress proxy as the caller {@code channel:crm}, which the guard policy allows there and nowhere else.
 * Forged, unsigned and replayed requests run nothing; an unknown sender gets a pairing code, and once paired is
 * answered.
 */
class WebhookEndToEndTest {

    static final String IN_KEY = "whsec_" + Base64.getEncoder().encodeToString("the-crm-signs-with-this-key!".getBytes());
    static final String OUT_KEY = "whsec_" + Base64.getEncoder().encodeToString("carapace-signs-answers-with-me".getBytes());

    @TempDir Path dir;
    GatewayHarness h;
    SignedWebhookReceiver receiver;
    final List<String> modelCalls = new CopyOnWriteArrayList<>();

    /**
     * The config's extra lines: agent helper, the webhook channel crm, webhook:crm/default bound to alice, secrets in
     * files, and the policy that lets channel:crm POST to the receiver (a loopback address: allowed_ips says so).
     */
    static String extraYaml(Path dir, Path workspace, int receiverPort) throws Exception {
        Path in = Files.writeString(dir.resolve("crm_in.key"), IN_KEY);
        Path out = Files.writeString(dir.resolve("crm_out.key"), OUT_KEY);
        Path policy = Files.writeString(dir.resolve("crm-policy.yaml"), """
                network_policies:
                  crm_answers:
                    endpoints:
                      - host: 127.0.0.1
                        port: %d
                        allowed_ips: [127.0.0.1/32]
                        protocol: rest
                        access: full
                """.formatted(receiverPort));
        return """
                tools: {web_fetch: proxy}
                guard:
                  policies:
                    crm: {file: %s, agents: ["channel:crm"]}
                secrets:
                  crm_in: file:%s
                  crm_out: file:%s
                agents:
                  helper:
                    workspace: %s
                    model: m-solo
                    tools: [read]
                    owner: {team: platform}
                channels:
                  crm:
                    kind: webhook
                    agent: helper
                    unknown_senders: pair
                    webhook:
                      secrets: [crm_in]
                      deliver_to: http://127.0.0.1:%d/hook
                      deliver_secrets: [crm_out]
                identities:
                  - {sender: "webhook:crm/default", team: platform, user: alice}
                """.formatted(policy, in, out, workspace, receiverPort);
    }

    @BeforeEach
    void start() throws Exception {
        receiver = new SignedWebhookReceiver();
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "You answer the CRM.");
        h = new GatewayHarness(dir.resolve("data"), extraYaml(dir, ws, receiver.port()));
        h.a.respond(req -> {
            String body = ScriptedUpstream.body(req);
            modelCalls.add(body);
            Matcher m = Pattern.compile("ASK ([a-z0-9-]+)").matcher(body);
            String tag = m.find() ? m.group(1) : "?";
            return ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("ANSWER " + tag), 40, 6), 0);
        });
    }

    @AfterEach
    void stop() {
        if (h != null) h.close();
        if (receiver != null) receiver.close();
    }

    /** {@code v1,BASE64(HMAC-SHA256(key, id.timestamp.body))}, written from the spec, not with Carapace's code. */
    static String sign(String secret, String id, long ts, String body) {
        try {
            byte[] key = Base64.getDecoder().decode(secret.substring("whsec_".length()));
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return "v1," + Base64.getEncoder().encodeToString(mac.doFinal((id + "." + ts + "." + body)
                    .getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static HttpRequest hook(int port, String id, String body, String signature) {
        long ts = Instant.now().getEpochSecond();
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/hooks/crm"))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (signature != null) {
            b.header("webhook-id", id).header("webhook-timestamp", Long.toString(ts))
                    .header("webhook-signature", signature.isEmpty() ? sign(IN_KEY, id, ts, body) : signature);
        }
        return b.build();
    }

    /** A request signed with the CRM's key. */
    static HttpRequest signed(int port, String id, String body) { return hook(port, id, body, ""); }

    HttpResponse<String> send(HttpRequest r) { return h.send(r); }

    /** {@code GET /api/channels/events} read line by line on a thread of its own. */
    BlockingQueue<String> events() throws Exception {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        HttpResponse<Stream<String>> r = h.http.send(HttpRequest.newBuilder(URI.create(h.url("/api/channels/events")))
                .header("authorization", "Bearer " + h.adminKey).build(), HttpResponse.BodyHandlers.ofLines());
        assertThat(r.statusCode()).isEqualTo(200);
        Thread.ofVirtual().start(() -> {
            try {
                r.body().forEach(lines::add);
            } catch (RuntimeException closed) {
                // the gateway stopped
            }
        });
        return lines;
    }

    static String awaitLine(BlockingQueue<String> lines, String... parts) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (String l; (l = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) != null; ) {
            String line = l;
            if (Stream.of(parts).allMatch(line::contains)) return line;
        }
        throw new AssertionError("no event line with " + List.of(parts));
    }

    @Test
    void aSignedMessageIsAnsweredSignedThroughTheEgressProxyAndChargedToTheBoundUser() throws Exception {
        BlockingQueue<String> events = events();
        String body = "{\"text\":\"ASK invoice-42 is wrong\",\"conversation\":\"ticket-981\"}";
        HttpResponse<String> accepted = send(signed(h.carapace.port(), "msg_crm_1", body));
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        assertThat(GatewayHarness.json(accepted.body()).path("status").asText()).isEqualTo("stored");

        SignedWebhookReceiver.Received answer = receiver.await(1).get(0);
        assertThat(SignedWebhookReceiver.verifies(answer, OUT_KEY)).as("signed with deliver_secrets").isTrue();
        assertThat(SignedWebhookReceiver.verifies(answer, IN_KEY)).isFalse();
        JsonNode data = GatewayHarness.json(answer.body()).path("data");
        assertThat(data.path("in_reply_to").asText()).isEqualTo("msg_crm_1");
        assertThat(data.path("conversation").asText()).isEqualTo("ticket-981");
        assertThat(data.path("text").asText()).isEqualTo("ANSWER invoice-42");
        assertThat(modelCalls).singleElement().asString().contains("ASK invoice-42 is wrong");

        assertThat(awaitLine(events, "message_received", "webhook:crm/default")).isNotNull();
        assertThat(awaitLine(events, "message_answered", "helper")).isNotNull();

        JsonNode messages = GatewayHarness.json(h.get("/api/channels/messages?channel=crm", h.adminKey).body()).path("data");
        assertThat(messages).hasSize(1);
        JsonNode stored = messages.get(0);
        assertThat(stored.path("state").asText()).isEqualTo("answered");
        assertThat(stored.path("sender").asText()).isEqualTo("webhook:crm/default");

        AgentRuntime rt = h.carapace.agentRuntime();
        List<TranscriptEntry> transcript = rt.transcript(rt.run(stored.path("run_id").asText()).sessionKey());
        JsonNode user = transcript.stream().filter(e -> e.role().equals("user")).findFirst().orElseThrow().content();
        assertThat(user.toString()).contains("\"via\":\"webhook:crm/default\"", "\"user\":\"alice\"", "\"team\":\"platform\"");

        assertThat(h.carapace.ledger().flush(5000)).isTrue();
        List<UsageRecord> usage = h.carapace.store().usageLog().recent(10);
        assertThat(usage).singleElement().satisfies(u -> {
            assertThat(u.team()).isEqualTo("platform");
            assertThat(u.user()).isEqualTo("alice");
        });

        String metrics = h.get("/metrics", h.adminKey).body();
        assertThat(metrics).containsPattern("carapace_channel_messages_total\\{[^}]*channel=\"crm\"[^}]*outcome=\"answered\"[^}]*} 1\\.0")
                .contains("carapace_channel_answer_latency_seconds_bucket{channel=\"crm\"")
                .contains("carapace_channel_answer_latency_seconds_count{channel=\"crm\"} 1");
    }

    @Test
    void unsignedForgedAndReplayedRequestsRunNothing() throws Exception {
        int port = h.carapace.port();
        String body = "{\"text\":\"ASK once-only\"}";
        HttpResponse<String> unsigned = send(hook(port, "msg_x", body, null));
        assertThat(unsigned.statusCode()).isEqualTo(401);
        assertThat(GatewayHarness.json(unsigned.body()).path("error").path("code").asText()).isEqualTo("unsigned");

        long ts = Instant.now().getEpochSecond();
        String forgedKey = "whsec_" + Base64.getEncoder().encodeToString("an-attacker-guessed-this-key".getBytes());
        HttpResponse<String> forged = send(hook(port, "msg_x", body, sign(forgedKey, "msg_x", ts, body)));
        assertThat(forged.statusCode()).isEqualTo(401);
        assertThat(GatewayHarness.json(forged.body()).path("error").path("code").asText()).isEqualTo("bad_signature");

        HttpRequest good = signed(port, "msg_x", body);
        assertThat(send(good).statusCode()).isEqualTo(202);
        HttpResponse<String> replay = send(good);   // the very same bytes and headers again
        assertThat(replay.statusCode()).isEqualTo(200);
        assertThat(GatewayHarness.json(replay.body()).path("status").asText()).isEqualTo("duplicate");
        // a replay with a new body under the old signature is a forgery
        HttpResponse<String> swapped = send(HttpRequest.newBuilder(URI.create(h.url("/hooks/crm")))
                .header("webhook-id", good.headers().firstValue("webhook-id").orElseThrow())
                .header("webhook-timestamp", good.headers().firstValue("webhook-timestamp").orElseThrow())
                .header("webhook-signature", good.headers().firstValue("webhook-signature").orElseThrow())
                .POST(HttpRequest.BodyPublishers.ofString("{\"text\":\"ASK twice\"}")).build());
        assertThat(swapped.statusCode()).isEqualTo(401);

        assertThat(receiver.await(1)).hasSize(1);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> modelCalls.size() == 1);
        assertThat(receiver.received()).as("one answer").hasSize(1);
        assertThat(GatewayHarness.json(h.get("/api/channels/messages?channel=crm", h.adminKey).body()).path("data"))
                .hasSize(1);
    }

    @Test
    void anUnknownSenderGetsAPairingCodeNotTheModelAndOncePairedIsAnswered() throws Exception {
        int port = h.carapace.port();
        assertThat(send(signed(port, "msg_dave_1", "{\"text\":\"ASK who-am-i\",\"sender\":\"dave\"}")).statusCode())
                .isEqualTo(202);
        SignedWebhookReceiver.Received pairing = receiver.await(1).get(0);
        assertThat(SignedWebhookReceiver.verifies(pairing, OUT_KEY)).isTrue();
        JsonNode data = GatewayHarness.json(pairing.body()).path("data");
        assertThat(data.path("sender").asText()).isEqualTo("dave");
        Matcher code = Pattern.compile("carapace channels pair (\\S+)").matcher(data.path("text").asText());
        assertThat(code.find()).as(data.path("text").asText()).isTrue();
        assertThat(modelCalls).as("the model never saw the unknown sender").isEmpty();

        String daveKey = h.carapace.keyAdmin().create("dave", "platform", Principal.Role.MEMBER, null).secret();
        HttpResponse<String> paired = h.post("/api/channels/pair", daveKey, "{\"code\":\"" + code.group(1) + "\"}");
        assertThat(paired.statusCode()).as(paired.body()).isEqualTo(201);
        assertThat(paired.body()).contains("webhook:crm/dave", "\"user\":\"dave\"");

        assertThat(send(signed(port, "msg_dave_2", "{\"text\":\"ASK now-paired\",\"sender\":\"dave\"}")).statusCode())
                .isEqualTo(202);
        SignedWebhookReceiver.Received answer = receiver.await(2).get(1);
        assertThat(GatewayHarness.json(answer.body()).path("data").path("text").asText()).isEqualTo("ANSWER now-paired");
        assertThat(modelCalls).singleElement().asString().contains("ASK now-paired");
        assertThat(h.carapace.ledger().flush(5000)).isTrue();
        assertThat(h.carapace.store().usageLog().recent(10)).singleElement()
                .satisfies(u -> assertThat(u.user()).isEqualTo("dave"));
    }
}
