package dev.carapace.ledger;

import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.Price;
import dev.carapace.model.TokenCounter;
import dev.carapace.model.Usage;
import dev.carapace.server.Carapace;
import dev.carapace.store.LedgerTables;
import dev.carapace.store.Store;
import dev.carapace.store.UsageLog.UsageRecord;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.io.InputStreamReader;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A gateway killed with SIGKILL while calls hold reservations: the next start on the same SQLite data dir settles
 * each of them once, at its estimate, with one record flagged estimated / interrupted, and a second start changes
 * nothing.
 */
class CrashRecoveryTest {

    static final Price MID = new Price(new BigDecimal("3"), new BigDecimal("6"), new BigDecimal("3"));
    static final Price ULTRA = new Price(BigDecimal.valueOf(150), BigDecimal.valueOf(150), BigDecimal.valueOf(150));

    @TempDir Path dir;

    /**
     * An OpenAI-like upstream: requests whose body contains "quick" are answered at once; streams get their first
     * frame (with the text "partial", or, when the body contains "silent", the role alone) and then silence; every
     * other call gets no answer at all — until {@link #close}.
     */
    static final class StallingUpstream implements AutoCloseable {
        private final HttpServer server;
        private final CountDownLatch release = new CountDownLatch(1);
        private final AtomicInteger requests = new AtomicInteger();

        StallingUpstream() throws IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            server.createContext("/", exchange -> {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                requests.incrementAndGet();
                try {
                    if (body.contains("quick")) {
                        byte[] answer = QUICK.getBytes(StandardCharsets.UTF_8);
                        exchange.getResponseHeaders().add("content-type", "application/json");
                        exchange.sendResponseHeaders(200, answer.length);
                        exchange.getResponseBody().write(answer);
                    } else if (body.contains("\"stream\":true")) {
                        exchange.getResponseHeaders().add("content-type", "text/event-stream");
                        exchange.sendResponseHeaders(200, 0);
                        String delta = body.contains("silent") ? "{\"role\":\"assistant\"}" : "{\"role\":\"assistant\",\"content\":\"partial\"}";
                        exchange.getResponseBody().write(("data: " + ScriptedUpstream.chunk(delta, null) + "\n\n").getBytes(StandardCharsets.UTF_8));
                        exchange.getResponseBody().flush();
                        release.await();
                    } else {
                        release.await();
                    }
                } catch (InterruptedException | IOException gone) {
                    // released or the gateway went away
                } finally {
                    exchange.close();
                }
            });
            server.start();
        }

        static final String QUICK = """
                {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"up-model",
                 "choices":[{"index":0,"message":{"role":"assistant","content":"done"},"finish_reason":"stop"}],
                 "usage":{"prompt_tokens":30,"completion_tokens":20,"total_tokens":50}}""";

        String openAiBaseUrl() { return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1"; }

        int requestCount() { return requests.get(); }

        @Override
        public void close() {
            release.countDown();
            server.stop(0);
        }
    }

    record Row(String requestId, String state, long nanos, long tokens) {}

    static List<Row> reservations(Store store) {
        return store.jdbi().withHandle(h -> h.createQuery("SELECT request_id, state, nanos, tokens FROM reservations ORDER BY request_id")
                .map((rs, ctx) -> new Row(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4))).list());
    }

    static long usageCount(Store store) { return store.usageLog().count(); }

    @Test
    void reservationsOfAKilledGatewayAreSettledOnceAtTheirEstimate() throws Exception {
        Path data = dir.resolve("data");
        try (StallingUpstream up = new StallingUpstream()) {
            String yaml = LedgerTestKit.yaml(up.openAiBaseUrl(), "60s", "{input: 3, output: 6}", "");
            Path config = dir.resolve("carapace.yaml");
            Files.writeString(config, yaml);

            // ---- a gateway in another JVM, killed while five calls are in flight ----
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
            long[] expectedEstimates;
            long streamedPrompt;
            long midPrompt;
            try {
                String[] readyLine = ready.get(30, TimeUnit.SECONDS).split(" ");
                int port = Integer.parseInt(readyLine[1]);
                String key = readyLine[2];

                String quickBody = LedgerTestKit.chatBody("m-mid", false, ",\"user\":\"quick\"");
                HttpResponse<String> quick = LedgerTestKit.post(port, key, quickBody);
                assertThat(quick.statusCode()).as(quick.body()).isEqualTo(200);
                // what m-mid's one completed call used against its bound (30 of it, 20 out) guides its estimates
                long quickBound = PromptSize.promptBound(LedgerTestKit.parseOpenAi(quickBody));
                midPrompt = Math.min(51, (long) Math.ceil(51 * (30.0 / quickBound)));

                List<String> stalled = List.of(
                        LedgerTestKit.chatBody("m-mid", false, ""),
                        LedgerTestKit.chatBody("m-mid", false, ",\"max_tokens\":100"),
                        LedgerTestKit.chatBody("m-ultra", false, ",\"max_tokens\":7"),
                        LedgerTestKit.chatBody("m-mid", true, ",\"max_tokens\":300"),
                        LedgerTestKit.chatBody("m-mid", true, ",\"max_tokens\":300,\"user\":\"silent\""));
                // a call whose output is unknown is charged its prompt and an output as long as its model's answers
                // so far (m-mid's: 20 tokens; m-ultra has had none, so its reservation: its bound and max_tokens); a
                // stream what it streamed (here one word, and its prompt by the tokenizer); a stream with no output
                // yet its prompt alone
                streamedPrompt = PromptSize.promptEstimate(LedgerTestKit.parseOpenAi(stalled.get(3)),
                        PromptSize.MESSAGE_TOKENS, PromptSize.OPENAI_FACTOR).tokens();
                expectedEstimates = new long[] {
                        Pricing.cost(MID, Usage.of(midPrompt, 20)), Pricing.cost(MID, Usage.of(midPrompt, 20)),
                        Pricing.worstCase(ULTRA, 51, 7),
                        Pricing.cost(MID, Usage.of(streamedPrompt, TokenCounter.count("partial"))),
                        Pricing.cost(MID, Usage.of(midPrompt, 0))};
                assertThat(expectedEstimates[0]).as("well under its reservation").isLessThan(Pricing.worstCase(MID, 51, 4096) / 10);
                assertThat(streamedPrompt).isBetween(1L, 50L);
                for (String body : stalled) {
                    LedgerTestKit.HTTP.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                            .header("content-type", "application/json").header("authorization", "Bearer " + key)
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> up.requestCount() == 6);
                // the reservations are durable (journaled) before the upstream is called, and in the tables, where
                // another process sees them, once the gateway folded them, milliseconds later: five are open
                await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                    try (Store peek = Store.open("jdbc:sqlite:" + data.resolve("carapace.db"), null, null, 1)) {
                        assertThat(reservations(peek)).filteredOn(r -> r.state().equals("open")).hasSize(5);
                        // and the stream that got a word has its first progress note (noted at its first output)
                        long noted = peek.jdbi().withHandle(h -> h.createQuery(
                                "SELECT COUNT(*) FROM reservations WHERE progress_nanos IS NOT NULL").mapTo(Long.class).one());
                        assertThat(noted).isEqualTo(1);
                    }
                });
            } finally {
                child.destroyForcibly();
                assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
            }
            assertThat(output).as("the child logged no ledger failure").noneMatch(l -> l.contains("ERROR"));

            // ---- the next start reconciles them ----
            long quickCost = Pricing.cost(MID, Usage.of(30, 20));
            long expectedSpent = quickCost;
            for (long e : expectedEstimates) expectedSpent += e;
            LedgerTables.WindowRow firstWindow;
            List<UsageRecord> firstRecords;
            try (Carapace c = LedgerTestKit.start(yaml, data, Clock.systemUTC())) {
                Store store = c.store();
                List<Row> rows = reservations(store);
                assertThat(rows).hasSize(6);
                assertThat(rows).extracting(Row::state).containsOnly("settled", "reconciled");
                assertThat(rows).filteredOn(r -> r.state().equals("settled")).hasSize(1);
                List<Row> reconciled = rows.stream().filter(r -> r.state().equals("reconciled")).toList();
                List<UsageRecord> charged = new ArrayList<>();
                for (Row r : reconciled) {
                    long records = store.jdbi().withHandle(h -> h.createQuery("SELECT COUNT(*) FROM usage_records WHERE request_id = :id")
                            .bind("id", r.requestId()).mapTo(Long.class).one());
                    assertThat(records).as("one record for " + r.requestId()).isEqualTo(1);
                    UsageRecord rec = store.usageLog().byRequestId(r.requestId()).orElseThrow();
                    charged.add(rec);
                    assertThat(rec.estimated()).isTrue();
                    assertThat(rec.errorCode()).isEqualTo("interrupted");
                    assertThat(rec.inputTokens()).isEqualTo(rec.model().equals("m-ultra") ? 51
                            : rec.stream() && rec.outputTokens() > 0 ? streamedPrompt : midPrompt);
                    assertThat(rec.costNanos()).isEqualTo(Pricing.cost(rec.model().equals("m-mid") ? MID : ULTRA,
                            Usage.of(rec.inputTokens(), rec.outputTokens())));
                    assertThat(rec.costNanos()).as("never more than was reserved").isLessThanOrEqualTo(r.nanos());
                    assertThat(rec.team()).isEqualTo("platform");
                    assertThat(rec.user()).isEqualTo("alice");
                }
                assertThat(charged).extracting(UsageRecord::costNanos).containsExactlyInAnyOrder(expectedEstimates[0],
                        expectedEstimates[1], expectedEstimates[2], expectedEstimates[3], expectedEstimates[4]);

                firstWindow = LedgerTestKit.totalWindow(store, "team:platform", Instant.now());
                assertThat(firstWindow.reservedNanos()).isZero();
                assertThat(firstWindow.reservedTokens()).isZero();
                assertThat(firstWindow.spentNanos()).isEqualTo(expectedSpent);
                assertThat(firstWindow.spentTokens()).isEqualTo(50 + charged.stream().mapToLong(rec -> rec.inputTokens() + rec.outputTokens()).sum());
                assertThat(LedgerTestKit.records(store, "platform")).filteredOn(UsageRecord::stream)
                        .extracting(UsageRecord::outputTokens).containsExactlyInAnyOrder((long) TokenCounter.count("partial"), 0L);
                assertThat(LedgerTestKit.records(store, "platform")).filteredOn(rec -> !rec.stream() && rec.estimated())
                        .extracting(UsageRecord::outputTokens).containsExactlyInAnyOrder(20L, 20L, 7L);   // m-mid's answers ran 20
                assertThat(LedgerTestKit.records(store, "platform")).filteredOn(rec -> "m-ultra".equals(rec.model())).singleElement()
                        .satisfies(rec -> assertThat(rec.tier()).isEqualTo("ultra"));
                assertThat(usageCount(store)).isEqualTo(6);
                assertThat(LedgerTestKit.sumCost(store, "platform")).isEqualTo(expectedSpent);
                assertThat(c.ledger().reconcile(Duration.ZERO)).as("nothing left to reconcile").isZero();
                firstRecords = LedgerTestKit.records(store, "platform");
            }

            // ---- and a second start changes nothing ----
            try (Carapace c = LedgerTestKit.start(yaml, data, Clock.systemUTC())) {
                assertThat(LedgerTestKit.totalWindow(c.store(), "team:platform", Instant.now())).isEqualTo(firstWindow);
                assertThat(LedgerTestKit.records(c.store(), "platform")).isEqualTo(firstRecords);
                assertThat(LedgerTestKit.reservationStates(c.store())).isEqualTo(Map.of("reconciled", 5L, "settled", 1L));
                assertThat(usageCount(c.store())).isEqualTo(6);
            }
        }
    }

    @Test
    void settleAndReconcileAreIdempotent() {
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("i.db"), null, null, 4)) {
            LedgerBook book = LedgerBook.of(store);
            LedgerTables.WindowKey k = new LedgerTables.WindowKey("team:platform", 0, "*");
            List<LedgerTables.Charge> charges = List.of(new LedgerTables.Charge(k, 1_000L, null));
            UsageRecord ctx = new UsageRecord("req-1", Instant.now(), "acme", "platform", "alice", "cpk", "openai", "m", "mid", null,
                    10, 0, 0, 20, 0, true, false, 0, null, 0, null, null, 600);
            LedgerTables.Reservation r = new LedgerTables.Reservation("res-1", Instant.now(), 600, 30, List.of(k), ctx);
            assertThat(book.reserve(r, "gateway-x", charges)).isEmpty();
            // a second reservation that would pass the limit is refused and holds nothing
            LedgerTables.Reservation r2 = new LedgerTables.Reservation("res-2", Instant.now(), 401, 1, List.of(k),
                    new UsageRecord("req-2", Instant.now(), "acme", "platform", "alice", "cpk", "openai", "m", "mid", null,
                            1, 0, 0, 0, 0, true, false, 0, null, 0, null, null, 401));
            assertThat(book.reserve(r2, "gateway-x", charges)).contains(k);
            assertThat(book.window(k).orElseThrow().reservedNanos()).isEqualTo(600);

            UsageRecord real = new UsageRecord("req-1", Instant.now(), "acme", "platform", "alice", "cpk", "openai", "m", "mid", "d",
                    5, 0, 0, 7, 0, false, false, 200, null, 1, null, null, 250);
            assertThat(book.settle("res-1", 250, 12, real)).hasSize(1);
            assertThat(book.settle("res-1", 250, 12, real)).as("settling twice does nothing").isEmpty();
            assertThat(book.reconcile(r, ctx)).as("reconciling a settled reservation does nothing").isEmpty();
            assertThat(book.openReservations()).isEmpty();
            LedgerTables.WindowRow w = book.window(k).orElseThrow();
            assertThat(w).isEqualTo(new LedgerTables.WindowRow(k, 250, 0, 12, 0));
            assertThat(store.usageLog().count()).isEqualTo(1);
            assertThat(store.usageLog().byRequestId("req-1").orElseThrow().costNanos()).isEqualTo(250);
            // the room freed by the cheaper settle is usable again
            assertThat(book.reserve(new LedgerTables.Reservation("res-3", Instant.now(), 750, 1, List.of(k),
                    new UsageRecord("req-3", Instant.now(), "acme", "platform", "alice", "cpk", "openai", "m", "mid", null,
                            1, 0, 0, 0, 0, true, false, 0, null, 0, null, null, 750)), "gateway-x", charges)).isEmpty();
            assertThat(book.reserve(new LedgerTables.Reservation("res-4", Instant.now(), 1, 1, List.of(k),
                    new UsageRecord("req-4", Instant.now(), "acme", "platform", "alice", "cpk", "openai", "m", "mid", null,
                            1, 0, 0, 0, 0, true, false, 0, null, 0, null, null, 1)), "gateway-x", charges)).contains(k);
        }
    }

    @Test
    void concurrentSettleAndReconcileOfOneReservationCountItOnce() throws Exception {
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("c.db"), null, null, 8)) {
            LedgerBook book = LedgerBook.of(store);
            LedgerTables.WindowKey k = new LedgerTables.WindowKey("team:platform", 0, "*");
            List<LedgerTables.Charge> charges = List.of(new LedgerTables.Charge(k, null, null));
            List<LedgerTables.Reservation> rs = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                UsageRecord ctx = new UsageRecord("req-" + i, Instant.now(), "acme", "platform", "alice", "cpk", "openai", "m", "mid",
                        null, 10, 0, 0, 20, 0, true, false, 0, null, 0, null, null, 100);
                LedgerTables.Reservation r = new LedgerTables.Reservation("res-" + i, Instant.now(), 100, 30, List.of(k), ctx);
                assertThat(book.reserve(r, "gateway-x", charges)).isEmpty();
                rs.add(r);
            }
            List<CompletableFuture<?>> all = new ArrayList<>();
            try (var pool = java.util.concurrent.Executors.newFixedThreadPool(16)) {
                for (LedgerTables.Reservation r : rs) {
                    UsageRecord real = new UsageRecord(r.context().requestId(), Instant.now(), "acme", "platform", "alice", "cpk",
                            "openai", "m", "mid", "d", 1, 0, 0, 1, 0, false, false, 200, null, 1, null, null, 7);
                    all.add(CompletableFuture.runAsync(() -> book.settle(r.id(), 7, 2, real), pool));
                    all.add(CompletableFuture.runAsync(() -> book.reconcile(r, r.context()), pool));
                    all.add(CompletableFuture.runAsync(() -> book.settle(r.id(), 7, 2, real), pool));
                }
                CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            }
            LedgerTables.WindowRow w = book.window(k).orElseThrow();
            assertThat(w.reservedNanos()).isZero();
            assertThat(w.reservedTokens()).isZero();
            assertThat(store.usageLog().count()).isEqualTo(50);
            long recordsCost = store.jdbi().withHandle(h -> h.createQuery("SELECT SUM(cost_nanos) FROM usage_records").mapTo(Long.class).one());
            assertThat(w.spentNanos()).isEqualTo(recordsCost);
        }
    }
}
