package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.ledger.CarapaceChild;
import dev.carapace.model.Provider;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.MockResponse;
import mockwebserver3.MockResponseBody;
import okio.BufferedSink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 13, item 12: out of file descriptors, the gateway must refuse the excess cleanly, blame no deployment for
 * it, and accept and answer again once the load is gone. A real gateway runs in a child JVM under
 * {@code ulimit -n 256}; the test opens more streams (held open by the upstream) and idle connections than its
 * descriptors allow.
 */
class OpenFilesExhaustionTest {

    static final int NOFILE = 256;
    static final int STREAMS = 200;
    static final int IDLE = 120;
    static final ObjectMapper JSON = new ObjectMapper();
    static final String NOT_ACCEPTED = "not accepted", CLOSED_UNANSWERED = "closed unanswered";

    @TempDir Path dir;

    /**
     * Caps set far above what the descriptors allow (an operator's mistake, or a limit lowered under a running
     * config): the kernel refuses descriptors for real, on both sides, and the gateway still comes back.
     */
    @Test
    void pastItsDescriptorsTheGatewayRefusesCleanlyBlamesNoDeploymentAndResumes() throws Exception {
        Report r = run("server: {max_connections: 5000, max_upstream_connections: 5000, metrics_token_env: METRICS_TOKEN}");
        assertThat(r.log).as("the kernel really ran out of descriptors").anyMatch(l -> l.contains("Too many open files"));
        // Which side meets the limit first, accepting or connecting upstream, is the kernel's timing: a call refused
        // for its upstream connection gets 503 too_many_open_files (checked with every refusal below), one that was
        // not accepted waits; UpstreamConnectionsTest pins the mapping itself.
        r.assertCleanAndResumed();
    }

    /**
     * The client cap derived from the limit, and an upstream cap below it: the excess waits to be accepted or is
     * refused with 503 before the kernel refuses a descriptor.
     */
    @Test
    void withTheCapsTheExcessIsRefusedBeforeTheKernelRefusesADescriptor() throws Exception {
        Report r = run("server: {max_upstream_connections: 8, metrics_token_env: METRICS_TOKEN}");
        assertThat(r.refused).as("past the upstream cap, streams were refused with 503").isNotEmpty();
        assertThat(r.refused).allSatisfy(b -> assertThat(b).contains(Provider.CONNECTIONS_EXHAUSTED));
        assertThat(r.log).as("the caps kept the kernel from refusing a descriptor")
                .noneMatch(l -> l.contains("Too many open files"));
        r.assertCleanAndResumed();
    }

    /** What one run saw. */
    static final class Report {
        final List<String> log;
        final int streaming;
        final List<String> refused;
        final Map<String, Integer> finals;
        final List<String> unexpected;
        final int healthz;
        final int chat;
        final String metrics;
        /** Chat calls the test sent that got an answer, streams included. */
        final int answered;

        Report(List<String> log, int streaming, List<String> refused, Map<String, Integer> finals,
               List<String> unexpected, int healthz, int chat, String metrics, int answered) {
            this.answered = answered;
            this.log = log;
            this.streaming = streaming;
            this.refused = refused;
            this.finals = finals;
            this.unexpected = unexpected;
            this.healthz = healthz;
            this.chat = chat;
            this.metrics = metrics;
        }

        void assertCleanAndResumed() throws IOException {
            assertThat(unexpected).as("every stream either streamed, was refused with a 503 of the API's shape, or"
                    + " waited to be accepted").isEmpty();
            assertThat(streaming).as("streams were served up to the limit, held open at once").isPositive();
            assertThat(streaming).as("not all streams fit").isLessThan(STREAMS);
            for (String body : refused) {
                JsonNode error = JSON.readTree(body).path("error");
                assertThat(error.path("code").asText()).as(body)
                        .isIn(Provider.CONNECTIONS_EXHAUSTED, Provider.OUT_OF_DESCRIPTORS);
                assertThat(error.path("message").asText()).isNotBlank();
            }
            assertThat(finals.keySet()).as("no call hung: each one ended")
                    .isSubsetOf("complete", "refused", NOT_ACCEPTED, CLOSED_UNANSWERED);
            // Past the client cap (or out of descriptors) connections wait in the listen queue, unaccepted; once it
            // overflows, the kernel may reset one that never was accepted, and its client sees it closed before any
            // answer: not accepted. None of those reached a route: every request that did is in the access log,
            // answered 200 or 503, and its client got that answer.
            List<String> statuses = log.stream().filter(l -> l.contains("carapace.access") && l.contains("POST /v1/chat/completions"))
                    .map(l -> l.split("POST /v1/chat/completions ")[1].split(" ")[0]).toList();
            assertThat(statuses).as("what the gateway answered").containsOnly("200", "503").hasSize(answered);
            assertThat(healthz).as("/healthz after the load").isEqualTo(200);
            assertThat(chat).as("a chat call after the load").isEqualTo(200);
            assertThat(metrics.lines().filter(l -> l.startsWith("carapace_deployment_cooldowns_total")
                    && !l.endsWith(" 0.0")).toList()).as("no deployment cooled down").isEmpty();
            assertThat(log).noneMatch(l -> l.contains("cooling down"));
        }
    }

    private Report run(String serverSection) throws Exception {
        // held streams wait on the latch of their time: open for the warm-up, closed during the load
        AtomicReference<CountDownLatch> release = new AtomicReference<>(new CountDownLatch(0));
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            List<String> frames = ScriptedUpstream.openAiTextStream(List.of("held", " open", " done"), 5, 3);
            up.respond(req -> ScriptedUpstream.body(req).contains("hold")
                    ? new MockResponse.Builder().code(200).addHeader("content-type", "text/event-stream")
                            .body(new HeldSse(frames, release.get())).build()
                    : ScriptedUpstream.openAiText("fine", 5, 1));
            Path config = dir.resolve("carapace.yaml");
            Files.writeString(config, """
                    org: acme
                    %s
                    providers:
                      up: {kind: openai, base_url: %s, api_key_env: UP_KEY, read_timeout: 60s}
                      up2: {kind: openai, base_url: %s, api_key_env: UP_KEY, read_timeout: 60s}
                    models:
                      m-mid:
                        tier: mid
                        context_window: 128000
                        max_output_tokens: 4096
                        price: {input: 3, output: 6}
                        deployments: [{provider: up, model: up-model}, {provider: up2, model: up-model}]
                    teams:
                      platform: {}
                      research: {}
                    routing: {max_attempts: 2, failure_threshold: 1, cooldown: 60s}
                    """.formatted(serverSection, up.openAiBaseUrl(), up.openAiBaseUrl()));

            String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process child = new ProcessBuilder("bash", "-c", "ulimit -n " + NOFILE + " && exec \"$@\"", "bash",
                    javaBin, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    CarapaceChild.class.getName(), config.toString(), dir.resolve("data").toString(), "100")
                    .redirectErrorStream(true).start();
            List<String> log = new CopyOnWriteArrayList<>();
            CompletableFuture<String> ready = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        log.add(line);
                        if (line.startsWith("READY ")) ready.complete(line);
                    }
                } catch (IOException ignored) {
                    // the child is gone
                }
                ready.completeExceptionally(new AssertionError("child exited before READY: " + String.join("\n", log)));
            });
            List<Socket> idle = Collections.synchronizedList(new ArrayList<>());
            try {
                String[] readyLine = ready.get(60, TimeUnit.SECONDS).split(" ");
                long tReady = System.nanoTime();
                int port = Integer.parseInt(readyLine[1]);
                String key = readyLine[3];   // bob, team research: no budget
                assertThat(post(port, key, chatBody(false, "hello"), 5_000).status).isEqualTo(200);
                // a stream too, so that its classes are loaded: from the test's class folders each class is a file to
                // open, which fails out of descriptors (a packaged jar is opened once)
                Answer warm = post(port, key, chatBody(true, "hold"), 5_000);
                assertThat(warm.status).isEqualTo(200);
                assertThat(warm.body).contains("[DONE]");
                release.set(new CountDownLatch(1));
                long baseline = openFiles(child);

                // the load: streams held open upstream, and connections that never send a byte
                Map<Integer, String> outcome = new ConcurrentHashMap<>();   // stream -> what it got first
                Map<Integer, String> last = new ConcurrentHashMap<>();      // stream -> how it ended
                List<String> refused = new CopyOnWriteArrayList<>();
                List<String> unexpected = new CopyOnWriteArrayList<>();
                List<Thread> streams = new ArrayList<>();
                for (int i = 0; i < STREAMS; i++) {
                    int n = i;
                    streams.add(Thread.ofVirtual().start(() -> stream(port, key, n, outcome, last, refused, unexpected)));
                }
                Thread.sleep(1_000);
                for (int i = 0; i < IDLE; i++) {
                    Thread.ofVirtual().start(() -> {
                        try {
                            Socket s = new Socket();
                            idle.add(s);
                            s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
                        } catch (IOException notAccepted) {
                            // the backlog was full: that is not accepting
                        }
                    });
                }
                // let it settle at the limit: until the first answers stop coming for a while
                long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
                for (int seen = -1, still = 0; System.nanoTime() < settle && still < 10; Thread.sleep(100)) {
                    still = outcome.size() == seen ? still + 1 : 0;
                    seen = outcome.size();
                }
                long atLoad = openFiles(child);
                long tLoad = System.nanoTime();
                int streaming = (int) outcome.values().stream().filter("streaming"::equals).count();
                int pending = STREAMS - outcome.size();

                // the load goes away
                synchronized (idle) {
                    for (Socket s : idle) s.close();
                }
                release.get().countDown();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                for (Thread t : streams) {
                    long left = deadline - System.nanoTime();
                    if (left > 0) t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                }
                long tEnded = System.nanoTime();
                Map<String, Integer> finals = new HashMap<>();
                for (int i = 0; i < STREAMS; i++) finals.merge(last.getOrDefault(i, "hung"), 1, Integer::sum);

                int answered = 2 + (int) last.values().stream().filter(v -> v.equals("complete") || v.equals("refused")).count();
                int healthz = 0, chat = 0;
                String metrics = "";
                long again = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (System.nanoTime() < again) {
                    try {
                        healthz = get(port, "/healthz").status;
                        chat = post(port, key, chatBody(false, "hello again"), 10_000).status;
                        answered++;
                        metrics = exchange(port, "GET", "/metrics", CarapaceChild.METRICS_TOKEN, null, 3_000).body;
                        if (healthz == 200 && chat == 200) break;
                    } catch (IOException notYet) {
                        // not accepting yet
                    }
                    Thread.sleep(200);
                }
                Map<String, Long> firsts = outcome.values().stream().collect(Collectors.groupingBy(v -> v, Collectors.counting()));
                System.out.printf("OpenFilesExhaustionTest [%s]: descriptors %d idle, %d at load (limit %d); first"
                        + " answers %s, %d not answered at load; ends %s; 'Too many open files' logged %d times;"
                        + " load %d ms, all ended %d ms after it, answering again %d ms after that%n",
                        serverSection, baseline, atLoad, NOFILE, firsts, pending, finals,
                        log.stream().filter(l -> l.contains("Too many open files")).count(),
                        TimeUnit.NANOSECONDS.toMillis(tLoad - tReady), TimeUnit.NANOSECONDS.toMillis(tEnded - tLoad),
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - tEnded));
                // the child's log, for when an assertion fails
                Files.write(Path.of("target", "OpenFilesExhaustionTest-" + serverSection.hashCode() + ".log"), log);
                return new Report(List.copyOf(log), streaming, List.copyOf(refused), finals,
                        List.copyOf(unexpected), healthz, chat, metrics, answered);
            } finally {
                release.get().countDown();
                synchronized (idle) {
                    for (Socket s : idle) s.close();
                }
                child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * One streamed call held open upstream. {@code outcome} gets what it saw first (streaming, refused, or an
     * unexpected answer); {@code last} how it ended once the load was gone.
     */
    private static void stream(int port, String key, int n, Map<Integer, String> outcome, Map<Integer, String> last,
                               List<String> refused, List<String> unexpected) {
        try (Socket s = new Socket()) {
            try {
                s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            } catch (IOException e) {
                last.put(n, NOT_ACCEPTED);
                return;
            }
            s.setSoTimeout(20_000);
            BufferedInputStream in = new BufferedInputStream(s.getInputStream());
            Head head;
            try {
                send(s, "POST", "/v1/chat/completions", key, chatBody(true, "hold " + n));
                head = head(in);
            } catch (SocketTimeoutException e) {
                last.put(n, "no answer in 20 s");
                unexpected.add("stream " + n + " had no answer in 20 s");
                return;
            } catch (IOException e) {
                last.put(n, CLOSED_UNANSWERED);     // closed before any byte of an answer: see assertCleanAndResumed
                return;
            }
            String body = head.status == 200 ? null : body(in, head);
            if (head.status == 503) {
                refused.add(body);
                outcome.put(n, "refused");
                last.put(n, "refused");
                return;
            }
            if (head.status != 200) {
                unexpected.add(head.status + " " + body);
                outcome.put(n, "status " + head.status);
                last.put(n, "status " + head.status);
                return;
            }
            StringBuilder all = new StringBuilder();
            for (String c; (c = chunk(in)) != null; ) {
                all.append(c);
                if (all.indexOf("held") >= 0) outcome.putIfAbsent(n, "streaming");
            }
            last.put(n, all.indexOf("[DONE]") >= 0 ? "complete" : "cut");
            if (all.indexOf("[DONE]") < 0) unexpected.add("stream " + n + " ended short: " + all);
        } catch (IOException e) {
            last.put(n, "cut");
            unexpected.add("stream " + n + " cut: " + e);
        }
    }

    private static String chatBody(boolean stream, String text) {
        return "{\"model\":\"m-mid\",\"stream\":" + stream + ",\"max_tokens\":50,\"messages\":[{\"role\":\"user\","
                + "\"content\":\"" + text + "\"}]}";
    }

    private static long openFiles(Process child) {
        try (var fds = Files.list(Path.of("/proc", String.valueOf(child.pid()), "fd"))) {
            return fds.count();
        } catch (IOException e) {
            return -1;
        }
    }

    record Head(int status, Map<String, String> headers) {}

    record Answer(int status, String body) {}

    private static Answer get(int port, String path) throws IOException {
        return exchange(port, "GET", path, null, null, 3_000);
    }

    private static Answer post(int port, String key, String body, int timeoutMillis) throws IOException {
        return exchange(port, "POST", "/v1/chat/completions", key, body, timeoutMillis);
    }

    private static Answer exchange(int port, String method, String path, String key, String body, int timeoutMillis)
            throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), timeoutMillis);
            s.setSoTimeout(timeoutMillis);
            send(s, method, path, key, body);
            BufferedInputStream in = new BufferedInputStream(s.getInputStream());
            Head head = head(in);
            return new Answer(head.status, body(in, head));
        }
    }

    private static void send(Socket s, String method, String path, String key, String body) throws IOException {
        byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder(method + " " + path + " HTTP/1.1\r\nhost: 127.0.0.1\r\n");
        if (key != null) h.append("authorization: Bearer ").append(key).append("\r\n");
        if (body != null) h.append("content-type: application/json\r\ncontent-length: ").append(b.length).append("\r\n");
        h.append("\r\n");
        OutputStream out = s.getOutputStream();
        out.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
        out.write(b);
        out.flush();
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) throw new IOException("the connection closed");
            if (c != '\r') line.write(c);
        }
        return line.toString(StandardCharsets.ISO_8859_1);
    }

    private static Head head(InputStream in) throws IOException {
        String status = line(in);
        Map<String, String> headers = new HashMap<>();
        for (String l; !(l = line(in)).isEmpty(); ) {
            int colon = l.indexOf(':');
            headers.put(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
        }
        return new Head(Integer.parseInt(status.substring(9, 12)), headers);
    }

    private static String body(InputStream in, Head head) throws IOException {
        if ("chunked".equalsIgnoreCase(head.headers.get("transfer-encoding"))) {
            StringBuilder all = new StringBuilder();
            for (String c; (c = chunk(in)) != null; ) all.append(c);
            return all.toString();
        }
        String length = head.headers.get("content-length");
        return length == null ? new String(in.readAllBytes(), StandardCharsets.UTF_8)
                : new String(in.readNBytes(Integer.parseInt(length)), StandardCharsets.UTF_8);
    }

    /**
     * The next chunk of a chunked body; null after the last one. The CRLF that ends a chunk's data is read with the
     * next chunk: a server may send it only then, and waiting for it would hold back the chunk.
     */
    private static String chunk(InputStream in) throws IOException {
        String sizeLine = line(in);
        if (sizeLine.isEmpty()) sizeLine = line(in);
        int size = Integer.parseInt(sizeLine.split(";")[0].trim(), 16);
        if (size == 0) {
            while (!line(in).isEmpty()) { /* trailers */ }
            return null;
        }
        return new String(in.readNBytes(size), StandardCharsets.UTF_8);
    }

    /** An SSE answer whose first frame goes out at once and the rest only once {@code release} opens. */
    private record HeldSse(List<String> frames, CountDownLatch release) implements MockResponseBody {
        @Override
        public long getContentLength() { return -1; }

        @Override
        public void writeTo(BufferedSink sink) throws IOException {
            sink.writeUtf8(frames.get(0) + frames.get(1));   // the role, then "held"
            sink.flush();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            for (String f : frames.subList(2, frames.size())) sink.writeUtf8(f);
            sink.flush();
        }
    }
}
