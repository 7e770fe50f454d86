package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.store.ChildProcesses;
import dev.carapace.testing.ScriptedUpstream;
import dev.carapace.testing.SignedWebhookReceiver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 18: the webhook channel under {@code kill -9}. A gateway in a child JVM acknowledges {@link #N} signed
 * messages with 202 and is killed right after the last, while every run it started is waiting for the model. The
 * next start on the same data dir answers every acknowledged message exactly once: one answer per message at the
 * receiver (its {@code webhook-id} the same on any resend), each from one run, and one model call per message after
 * the restart. A message whose run had its model call out at the kill has that run resumed (the call is made again:
 * its answer never reached the dead gateway); no message starts a second run.
 */
class WebhookKillTest {

    static final int N = 20;
    static final Pattern TAG = Pattern.compile("ASK (k-\\d+)");

    @TempDir Path dir;

    /** The gateway that is killed: the config in {@code args[0]}, the data dir {@code args[1]}; says its port. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Carapace c = Carapace.start(ConfigLoader.load(Files.readString(Path.of(args[0])), "kill.yaml"),
                    Path.of(args[1]), Map.of("A_KEY", "secret-a")::get, Clock.systemUTC(), 0);
            ChildProcesses.sayAndBlock("READY " + c.port());
        }
    }

    static String yaml(String upstream, String extra) {
        return """
                org: acme
                providers:
                  a: {kind: openai, base_url: %s, api_key_env: A_KEY, read_timeout: 30s}
                models:
                  m-solo:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 4096
                    price: {input: 3, output: 6}
                    deployments: [{provider: a, model: up-model}]
                teams:
                  platform: {}
                %s""".formatted(upstream, extra);
    }

    @Test
    void everyAcknowledgedMessageIsAnsweredOnceAfterKillMinus9() throws Exception {
        Map<String, AtomicInteger> callsBefore = new ConcurrentHashMap<>();
        Map<String, AtomicInteger> callsAfter = new ConcurrentHashMap<>();
        AtomicBoolean restarted = new AtomicBoolean();
        AtomicInteger calls = new AtomicInteger();
        CountDownLatch killed = new CountDownLatch(1);
        try (ScriptedUpstream up = new ScriptedUpstream(); SignedWebhookReceiver receiver = new SignedWebhookReceiver()) {
            up.respond(req -> {
                Matcher m = TAG.matcher(ScriptedUpstream.body(req));
                String tag = m.find() ? m.group(1) : "?";
                int n = calls.incrementAndGet();
                if (!restarted.get()) {
                    callsBefore.computeIfAbsent(tag, t -> new AtomicInteger()).incrementAndGet();
                    try {
                        killed.await(20, TimeUnit.SECONDS);   // the child's runs wait for the model until it dies
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                } else {
                    callsAfter.computeIfAbsent(tag, t -> new AtomicInteger()).incrementAndGet();
                }
                return ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("ANSWER " + tag + " call " + n),
                        40, 6), 0);
            });
            Path ws = Files.createDirectories(dir.resolve("ws"));
            Files.writeString(ws.resolve("AGENTS.md"), "You answer the CRM.");
            String yaml = yaml(up.openAiBaseUrl(), WebhookEndToEndTest.extraYaml(dir, ws, receiver.port()));
            Path config = Files.writeString(dir.resolve("kill.yaml"), yaml);
            Path data = dir.resolve("data");

            Process child = ChildProcesses.start(Child.class, config.toString(), data.toString());
            List<String> acknowledged = new ArrayList<>();
            try {
                int port = Integer.parseInt(ChildProcesses.awaitLine(child, "READY ").substring(6));
                HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                for (int i = 0; i < N; i++) {
                    String id = "msg_kill_" + i;
                    HttpResponse<String> r = http.send(WebhookEndToEndTest.signed(port, id,
                            "{\"text\":\"ASK k-" + i + "\",\"conversation\":\"c-" + i + "\"}"), HttpResponse.BodyHandlers.ofString());
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
                    acknowledged.add(id);
                }
            } finally {
                ChildProcesses.kill(child);   // SIGKILL, right after the last 202
            }
            restarted.set(true);
            killed.countDown();
            assertThat(receiver.received()).as("nothing was answered before the kill").isEmpty();

            try (Carapace c = Carapace.start(ConfigLoader.load(yaml, "kill.yaml"), data, Map.of("A_KEY", "secret-a")::get,
                    Clock.systemUTC(), 0)) {
                await().atMost(Duration.ofSeconds(10)).until(() -> receiver.received().stream()
                        .map(WebhookKillTest::inReplyTo).collect(Collectors.toSet()).size() == N);
                await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
                        .until(() -> callsAfter.values().stream().mapToInt(AtomicInteger::get).sum() == N);

                List<SignedWebhookReceiver.Received> got = receiver.received();
                Map<String, Set<String>> textsByMessage = new ConcurrentHashMap<>();
                Map<String, Set<String>> idsByMessage = new ConcurrentHashMap<>();
                for (SignedWebhookReceiver.Received r : got) {
                    assertThat(SignedWebhookReceiver.verifies(r, WebhookEndToEndTest.OUT_KEY)).isTrue();
                    JsonNode d = GatewayHarness.json(r.body()).path("data");
                    textsByMessage.computeIfAbsent(d.path("in_reply_to").asText(), k -> new HashSet<>()).add(d.path("text").asText());
                    idsByMessage.computeIfAbsent(d.path("in_reply_to").asText(), k -> new HashSet<>()).add(r.id());
                }
                assertThat(textsByMessage.keySet()).as("every acknowledged message answered").containsExactlyInAnyOrderElementsOf(acknowledged);
                assertThat(idsByMessage.values()).as("one webhook-id per answer, however often sent").allMatch(s -> s.size() == 1);
                assertThat(textsByMessage.values()).as("one run's answer per message").allMatch(s -> s.size() == 1);
                for (int i = 0; i < N; i++) {
                    String tag = "k-" + i;
                    assertThat(textsByMessage.get("msg_kill_" + i)).singleElement().asString().startsWith("ANSWER " + tag + " call ");
                    assertThat(callsAfter.get(tag)).as(tag + ": one model call after the restart").hasValue(1);
                    AtomicInteger before = callsBefore.get(tag);
                    assertThat(before == null ? 0 : before.get()).as(tag + ": at most one before the kill").isLessThanOrEqualTo(1);
                }
                System.out.printf("kill -9 after %d x 202: %d model calls were out at the kill (resumed), %d answers "
                        + "received for %d messages%n", N, callsBefore.size(), got.size(), N);

                String admin = c.keyAdmin().create("root", "platform", Principal.Role.ADMIN, null).secret();
                java.net.http.HttpRequest messages = java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                        "http://127.0.0.1:" + c.port() + "/api/channels/messages?channel=crm&limit=100"))
                        .header("authorization", "Bearer " + admin).build();
                await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                    JsonNode list = GatewayHarness.json(HttpClient.newHttpClient().send(messages,
                            HttpResponse.BodyHandlers.ofString()).body()).path("data");
                    assertThat(list).hasSize(N).allSatisfy(m -> assertThat(m.path("state").asText()).isEqualTo("answered"));
                });
            }
        }
    }

    static String inReplyTo(SignedWebhookReceiver.Received r) {
        return GatewayHarness.json(r.body()).path("data").path("in_reply_to").asText();
    }
}
