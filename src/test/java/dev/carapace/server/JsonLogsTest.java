package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.ledger.LedgerTestKit;
import dev.carapace.server.cli.Main;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code logging: {json: true}} as a user runs it: the real {@code serve} command in its own JVM. Every line a log
 * shipper reads must be one JSON object; the access line carries the request id and never the key or the prompt.
 */
class JsonLogsTest {

    @TempDir Path dir;

    @Test
    void everyLogLineIsOneJsonObjectAndTheAccessLineCarriesTheRequestId() throws Exception {
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            up.enqueue(ScriptedUpstream.openAiText("general kenobi", 12, 3));
            Path config = dir.resolve("carapace.yaml");
            Files.writeString(config, LedgerTestKit.yaml(up.openAiBaseUrl(), "10s", "{input: 3, output: 6}", "logging: {json: true}"));
            Path data = dir.resolve("data");

            StringWriter out = new StringWriter();
            assertThat(Main.run(new String[] {"keys", "create", "--config", config.toString(), "--data", data.toString(),
                    "--user", "alice", "--team", "platform"}, new PrintWriter(out, true), new PrintWriter(new StringWriter(), true)))
                    .isZero();
            Matcher m = Pattern.compile("cpk_[A-Za-z0-9_]+").matcher(out.toString());
            assertThat(m.find()).as(out.toString()).isTrue();
            String key = m.group();

            String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            ProcessBuilder pb = new ProcessBuilder(javaBin, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), Main.class.getName(), "serve", "--config", config.toString(),
                    "--data", data.toString(), "--port", "0").redirectErrorStream(true);
            pb.environment().put("UP_KEY", "secret-up-key-value");
            Process child = pb.start();
            List<String> lines = new CopyOnWriteArrayList<>();
            CompletableFuture<Integer> port = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        Matcher listening = Pattern.compile("^Carapace listening on http://[^:]+:(\\d+)").matcher(line);
                        if (listening.find()) port.complete(Integer.parseInt(listening.group(1)));
                        else lines.add(line);
                    }
                } catch (Exception ignored) {
                    // the child was stopped
                }
                port.completeExceptionally(new AssertionError("serve exited: " + String.join("\n", lines)));
            });
            try {
                HttpResponse<String> r = LedgerTestKit.post(port.get(60, TimeUnit.SECONDS), key,
                        LedgerTestKit.chatBody("m-mid", false, ""));
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                String requestId = r.headers().firstValue("x-request-id").orElseThrow();

                ObjectMapper json = new ObjectMapper();
                await().atMost(Duration.ofSeconds(10)).until(() -> lines.stream().anyMatch(l -> l.contains(requestId)));
                List<JsonNode> events = new ArrayList<>();
                for (String line : lines) {
                    assertThat(line).as("a log line").startsWith("{");
                    events.add(json.readTree(line));
                }
                JsonNode access = events.stream().filter(e -> e.path("loggerName").asText().equals("carapace.access"))
                        .findFirst().orElseThrow();
                assertThat(access.path("level").asText()).isEqualTo("INFO");
                assertThat(access.path("mdc").path("request_id").asText()).isEqualTo(requestId);
                assertThat(access.path("formattedMessage").asText()).contains("POST /v1/chat/completions 200").contains("user=alice");
                assertThat(String.join("\n", lines)).doesNotContain(key).doesNotContain(key.substring(13))
                        .doesNotContain("secret-up-key-value").doesNotContain("hello there");
            } finally {
                child.destroy();
                assertThat(child.waitFor(20, TimeUnit.SECONDS)).isTrue();
            }
        }
    }
}
