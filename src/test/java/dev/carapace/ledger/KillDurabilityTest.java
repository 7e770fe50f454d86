package dev.carapace.ledger;

import dev.carapace.model.TokenCounter;
import dev.carapace.server.Carapace;
import dev.carapace.store.Store;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.MockResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 13, items 8 and 9: a real gateway in a child JVM serving calls with and without a budget, killed with
 * SIGKILL under load right after a call under no budget got its complete 200. The next start on the same data dir
 * must hold exactly one record for every call whose client got a complete 200, no record for a call the upstream
 * never saw, no charge counted twice, and charge each budgeted stream that was cut off about what it had streamed
 * (marked estimated), not its whole reservation.
 */
class KillDurabilityTest {

    static final int LOADERS = 4;            // per key, calling back to back
    static final int STREAMS = 4;            // streams in flight at the kill, every other one under no budget
    static final int STREAM_MAX_TOKENS = 2000;
    static final long FRAME_GAP_MILLIS = 20;
    static final Pattern TAG = Pattern.compile("\"user\":\"([a-z0-9-]+)\"");

    @TempDir Path dir;

    @Test
    void killMinusNineLosesNoServedCallAndChargesInterruptedStreamsWhatTheyStreamed() throws Exception {
        Path data = dir.resolve("data");
        Set<String> upstreamLog = ConcurrentHashMap.newKeySet();   // the tag (body "user") of every request received
        List<String> upstreamDuplicates = new CopyOnWriteArrayList<>();
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            List<String> slowStream = ScriptedUpstream.openAiTextStream(Collections.nCopies(3000, " tok"), null, null);
            up.respond(req -> {
                String body = ScriptedUpstream.body(req);
                Matcher m = TAG.matcher(body);
                if (m.find() && !upstreamLog.add(m.group(1))) upstreamDuplicates.add(m.group(1));
                if (body.contains("\"stream\":true")) return ScriptedUpstream.sse(slowStream, FRAME_GAP_MILLIS);
                MockResponse answer = ScriptedUpstream.openAiText("done", 30, 20);
                return ScriptedUpstream.delayed(answer, (long) (Math.random() * 20));
            });
            String yaml = LedgerTestKit.yaml(up.openAiBaseUrl(), "60s", "{input: 3, output: 6}", "");
            Path config = dir.resolve("carapace.yaml");
            Files.writeString(config, yaml);

            String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process child = new ProcessBuilder(javaBin, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), CarapaceChild.class.getName(), config.toString(), data.toString(), "100")
                    .redirectErrorStream(true).start();
            List<String> output = new CopyOnWriteArrayList<>();
            CompletableFuture<String> ready = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        output.add(line);
                        if (line.startsWith("READY ")) ready.complete(line);
                    }
                } catch (Exception ignored) {
                    // the child was killed
                }
                ready.completeExceptionally(new AssertionError("child exited before READY: " + String.join("\n", output)));
            });

            Map<String, String> completed = new ConcurrentHashMap<>();   // request id -> tag, for every complete 200
            Map<String, StringBuilder> streamed = new ConcurrentHashMap<>();   // stream request id -> text the client got
            AtomicBoolean killed = new AtomicBoolean();
            AtomicInteger tags = new AtomicInteger();
            CountDownLatch killNow = new CountDownLatch(1);
            AtomicBoolean armed = new AtomicBoolean();
            List<Thread> loaders = new ArrayList<>();
            try {
                String[] readyLine = ready.get(60, TimeUnit.SECONDS).split(" ");
                int port = Integer.parseInt(readyLine[1]);
                String budgeted = readyLine[2];
                String unbudgeted = readyLine[3];
                URI uri = URI.create("http://127.0.0.1:" + port + "/v1/chat/completions");

                // streams with and without a budget, read line by line; they are still streaming when the gateway dies
                AtomicInteger streamsStarted = new AtomicInteger();
                for (int i = 0; i < STREAMS; i++) {
                    String tag = "s-" + tags.incrementAndGet();
                    String streamKey = i % 2 == 0 ? budgeted : unbudgeted;
                    Thread.ofVirtual().start(() -> {
                        try {
                            HttpResponse<java.util.stream.Stream<String>> res = LedgerTestKit.HTTP.send(post(uri, streamKey,
                                    LedgerTestKit.chatBody("m-mid", true, ",\"max_tokens\":" + STREAM_MAX_TOKENS + ",\"user\":\"" + tag + "\"")),
                                    HttpResponse.BodyHandlers.ofLines());
                            StringBuilder text = new StringBuilder();
                            streamed.put(res.headers().firstValue("x-request-id").orElseThrow(), text);
                            streamsStarted.incrementAndGet();
                            res.body().forEach(line -> {
                                if (line.contains("\"content\":\" tok\"")) synchronized (text) { text.append(" tok"); }
                            });
                        } catch (Exception gone) {
                            // the gateway was killed
                        }
                    });
                }
                // non-streamed calls with and without a budget, back to back
                for (String key : List.of(budgeted, unbudgeted)) {
                    for (int i = 0; i < LOADERS; i++) {
                        loaders.add(Thread.ofVirtual().start(() -> {
                            while (!killed.get()) {
                                String tag = (key.equals(budgeted) ? "b-" : "u-") + tags.incrementAndGet();
                                try {
                                    HttpResponse<String> res = LedgerTestKit.HTTP.send(post(uri, key,
                                            LedgerTestKit.chatBody("m-mid", false, ",\"user\":\"" + tag + "\"")), HttpResponse.BodyHandlers.ofString());
                                    if (res.statusCode() == 200 && res.body().contains("\"done\"") && !killed.get()) {
                                        completed.put(res.headers().firstValue("x-request-id").orElseThrow(), tag);
                                        // the kill comes right after a call under no budget got its whole answer
                                        if (key.equals(unbudgeted) && armed.get()) killNow.countDown();
                                    }
                                } catch (Exception gone) {
                                    return;
                                }
                            }
                        }));
                    }
                }
                // let the streams run a while, under load, then kill at the next unbudgeted 200
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while ((streamsStarted.get() < STREAMS || minLength(streamed) < 90 * 4 || completed.size() < 4 * LOADERS)
                        && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(streamsStarted.get()).as("streams started").isEqualTo(STREAMS);
                armed.set(true);
                assertThat(killNow.await(30, TimeUnit.SECONDS)).isTrue();
            } finally {
                child.destroyForcibly();   // SIGKILL
                killed.set(true);
                assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
            }
            for (Thread t : loaders) t.join(10_000);
            Thread.sleep(200);   // what was in flight to the clients has arrived
            assertThat(output).as("the child logged no ledger failure").noneMatch(l -> l.contains("ERROR"));
            assertThat(upstreamDuplicates).as("no request reached the upstream twice").isEmpty();
            assertThat(completed).as("calls completed before the kill").hasSizeGreaterThanOrEqualTo(4 * LOADERS);

            // ---- the next start replays the journal and reconciles what was in flight ----
            try (Carapace c = LedgerTestKit.start(yaml, data, Clock.systemUTC())) {
                Store store = c.store();
                Map<String, Long> perRequest = store.jdbi().withHandle(h -> h.createQuery(
                                "SELECT request_id, COUNT(*) AS n FROM usage_records GROUP BY request_id")
                        .reduceRows(new java.util.HashMap<String, Long>(), (m, row) -> {
                            m.put(row.getColumn("request_id", String.class), row.getColumn("n", Long.class));
                            return m;
                        }));
                List<String> lost = completed.keySet().stream().filter(id -> !perRequest.containsKey(id)).sorted().toList();
                assertThat(lost).as("calls whose client got a complete 200 but left no record (of %d completed; %s)",
                        completed.size(), lost.stream().map(completed::get).collect(Collectors.joining(","))).isEmpty();
                assertThat(perRequest.values()).as("one record per request").allMatch(n -> n == 1);
                System.out.printf("%d calls completed with a 200 before the kill, %d requests reached the upstream, %d records%n",
                        completed.size(), upstreamLog.size(), perRequest.size());
                // every request the upstream saw has its record, those in flight at the kill too, with a budget or
                // without (regression: a call under no budget cut off by the kill left none); and every record but
                // one of a call cut off (which may have died before reaching the upstream) stands for a request it saw
                long interrupted = store.jdbi().withHandle(h -> h.createQuery(
                        "SELECT COUNT(*) FROM usage_records WHERE error_code = 'interrupted'").mapTo(Long.class).one());
                long interruptedUnbudgeted = store.jdbi().withHandle(h -> h.createQuery(
                        "SELECT COUNT(*) FROM usage_records WHERE error_code = 'interrupted' AND team = 'research'").mapTo(Long.class).one());
                System.out.printf("%d interrupted records, %d of them under no budget%n", interrupted, interruptedUnbudgeted);
                assertThat((long) perRequest.size()).as("no request the upstream saw is without its record")
                        .isGreaterThanOrEqualTo(upstreamLog.size());
                assertThat(perRequest.size() - interrupted).isLessThanOrEqualTo(upstreamLog.size());
                // nothing charged twice: the budget's window holds exactly what its records cost, nothing still held
                var window = LedgerTestKit.totalWindow(store, "team:platform", Instant.now());
                assertThat(window.reservedNanos()).isZero();
                assertThat(window.spentNanos()).isEqualTo(LedgerTestKit.sumCost(store, "platform"));
                assertThat(LedgerTestKit.records(store, "research")).as("unbudgeted calls recorded").isNotEmpty();

                long reservation = Pricing.worstCase(CrashRecoveryTest.MID,
                        PromptSize.promptBound(LedgerTestKit.parseOpenAi(LedgerTestKit.chatBody("m-mid", true, ""))), STREAM_MAX_TOKENS);
                for (var e : streamed.entrySet()) {
                    UsageRecord rec = store.usageLog().byRequestId(e.getKey()).orElseThrow(
                            () -> new AssertionError("no record for stream " + e.getKey()));
                    long clientTokens;
                    synchronized (e.getValue()) { clientTokens = TokenCounter.count(e.getValue().toString()); }
                    System.out.printf("stream %s: client got %d tokens; charged %d output tokens, %d nano-USD of %d reserved%n",
                            e.getKey(), clientTokens, rec.outputTokens(), rec.costNanos(), reservation);
                    assertThat(rec.estimated()).isTrue();
                    assertThat(rec.errorCode()).isEqualTo("interrupted");
                    // what the gateway had streamed by its last progress: at most one interval behind what the client
                    // got (10 frames of time, or 32 frames of " tok" when a starved thread passed a burst on at
                    // once), never ahead of it by more than what was in the socket; a stream under no budget is
                    // relayed unread, its output counted by characters (about four a token: one " tok" a token),
                    // and noted at its first output, then every second or 1,024 characters (50 frames of time here,
                    // or 256 of " tok" when a starved thread passed a burst on at once: a full run saw a stream
                    // noted at its first token only, its next 89 relayed within the second after)
                    long interval = rec.team().equals("platform")
                            ? Math.max(Ledger.PROGRESS_MILLIS / FRAME_GAP_MILLIS, Ledger.PROGRESS_CHARS / " tok".length())
                            : Math.max(Ledger.UNBUDGETED_PROGRESS_MILLIS / FRAME_GAP_MILLIS + 16,
                                    Ledger.UNBUDGETED_PROGRESS_CHARS / " tok".length());
                    long atLeast = Math.max(1, clientTokens - interval - 8);
                    assertThat(rec.outputTokens()).as("stream %s: client got %d tokens", e.getKey(), clientTokens)
                            .isBetween(atLeast, clientTokens + 8);
                    assertThat(rec.costNanos()).as("charged about what was streamed, not the reservation of %d", reservation)
                            .isLessThan(reservation / 4);
                    assertThat(rec.costNanos()).isEqualTo(Pricing.cost(CrashRecoveryTest.MID,
                            new dev.carapace.model.Usage(rec.inputTokens(), rec.outputTokens(), 0, 0, 0, true)));
                }
            }
        }
    }

    private static int minLength(Map<String, StringBuilder> streamed) {
        int min = Integer.MAX_VALUE;
        for (StringBuilder b : streamed.values()) synchronized (b) { min = Math.min(min, b.length()); }
        return streamed.isEmpty() ? 0 : min;
    }

    private static HttpRequest post(URI uri, String key, String body) {
        return HttpRequest.newBuilder(uri).header("content-type", "application/json").header("authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }
}
