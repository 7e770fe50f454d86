package dev.carapace.bench;

import com.sun.net.httpserver.HttpServer;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Inbound webhook channel messages through a real gateway ({@code ./carapace serve}, started by this harness):
 * Standard Webhooks-signed {@code POST /hooks/crm} requests, each a message from a bound sender in a conversation of
 * its own, so each starts an agent run. Measured: requests acknowledged (202, stored durably) per second through the
 * HTTP front door, and the latency from the POST's start to the agent's first model call arriving at the scripted
 * upstream (which runs in this process, so both ends read the same clock), p50/p99; sequential (one message at a
 * time, the next sent once the previous one's model call arrived) and with C concurrent callers sending back to back.
 * The agent's answers go back through the egress proxy to a receiver here that answers 204. Then the front door
 * alone: the same requests to a channel {@code intake} whose sender is bound to no one ({@code unknown_senders:
 * ignore}), so each is verified, parsed and stored, and no run starts.
 *
 * <p>{@code ChannelsBench ROOT WORKDIR SEQUENTIAL CONCURRENT_REQUESTS CONCURRENCY}
 */
public final class ChannelsBench {

    static final String IN_KEY = "whsec_" + Base64.getEncoder().encodeToString("channels-bench-inbound-key!!".getBytes());
    static final Pattern TAG = Pattern.compile("ASK (m-\\d+)");

    /** When each message's first model call arrived (nanoTime), by its tag. */
    static final Map<String, Long> arrived = new ConcurrentHashMap<>();
    static final Map<String, CompletableFuture<Long>> waiting = new ConcurrentHashMap<>();
    static final AtomicInteger modelCalls = new AtomicInteger();
    static final AtomicInteger delivered = new AtomicInteger();

    private ChannelsBench() {}

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        Path work = Files.createDirectories(Path.of(args[1]));
        int sequential = Integer.parseInt(args[2]);
        int concurrentRequests = Integer.parseInt(args[3]);
        int concurrency = Integer.parseInt(args[4]);

        HttpServer upstream = upstream();
        HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 1024);
        receiver.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        receiver.createContext("/hook", x -> {
            x.getRequestBody().readAllBytes();
            delivered.incrementAndGet();
            x.sendResponseHeaders(204, -1);
            x.close();
        });
        receiver.start();

        Path config = config(work, upstream.getAddress().getPort(), receiver.getAddress().getPort());
        ProcessBuilder serve = new ProcessBuilder(root.resolve("carapace").toString(), "serve", "--config", config.toString(),
                "--data", work.resolve("data").toString(), "--port", "0").redirectErrorStream(true);
        serve.environment().put("BENCH_UP_KEY", "bench");
        Process gateway = serve.start();
        try {
            int port = awaitPort(gateway, work.resolve("gateway.log"));
            URI hook = URI.create("http://127.0.0.1:" + port + "/hooks/crm");
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .executor(Executors.newVirtualThreadPerTaskExecutor()).build();
            AtomicInteger next = new AtomicInteger();

            // warm-up: the JIT, the store, the first run's set-up
            run("warm-up (not counted)", http, hook, next, Math.min(200, sequential), 1, true);
            run("sequential", http, hook, next, sequential, 1, true);
            run("concurrent (" + concurrency + ")", http, hook, next, concurrentRequests, concurrency, false);
            URI intake = URI.create("http://127.0.0.1:" + port + "/hooks/intake");
            run("accept only, sequential", http, intake, next, sequential, 1, false);
            run("accept only (" + concurrency + ")", http, intake, next, concurrentRequests, concurrency, false);
            System.out.printf("# model calls %d, answers delivered %d%n", modelCalls.get(), delivered.get());
        } finally {
            gateway.destroy();
            gateway.waitFor(20, TimeUnit.SECONDS);
            gateway.destroyForcibly();
            upstream.stop(0);
            receiver.stop(0);
        }
    }

    /** An OpenAI chat endpoint: notes when each message's first call arrives, answers a short SSE stream. */
    static HttpServer upstream() throws Exception {
        byte[] sse = ("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up\",\"choices\":"
                + "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"noted\"},\"finish_reason\":null}]}\n\n"
                + "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up\",\"choices\":"
                + "[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":40,"
                + "\"completion_tokens\":1,\"total_tokens\":41}}\n\ndata: [DONE]\n\n").getBytes(StandardCharsets.UTF_8);
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 1024);
        s.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        s.createContext("/v1/chat/completions", x -> {
            long now = System.nanoTime();
            String body = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            modelCalls.incrementAndGet();
            Matcher m = TAG.matcher(body);
            if (m.find() && arrived.putIfAbsent(m.group(1), now) == null) {
                CompletableFuture<Long> f = waiting.remove(m.group(1));
                if (f != null) f.complete(now);
            }
            x.getResponseHeaders().add("content-type", "text/event-stream");
            x.sendResponseHeaders(200, sse.length);
            try (OutputStream out = x.getResponseBody()) {
                out.write(sse);
            }
        });
        s.start();
        return s;
    }

    static Path config(Path work, int upstreamPort, int receiverPort) throws Exception {
        Path ws = Files.createDirectories(work.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "You note what the CRM says.");
        Path in = Files.writeString(work.resolve("crm_in.key"), IN_KEY);
        Path policy = Files.writeString(work.resolve("crm-policy.yaml"), """
                network_policies:
                  crm_answers:
                    endpoints:
                      - {host: 127.0.0.1, port: %d, allowed_ips: [127.0.0.1/32], protocol: rest, access: full}
                """.formatted(receiverPort));
        return Files.writeString(work.resolve("carapace.yaml"), """
                org: acme
                server: {host: 127.0.0.1}
                providers:
                  up: {kind: openai, base_url: http://127.0.0.1:%d/v1, api_key_env: BENCH_UP_KEY}
                models:
                  m:
                    tier: mid
                    context_window: 128000
                    max_output_tokens: 1000
                    price: {input: 3, output: 6}
                    deployments: [{provider: up, model: up-model}]
                teams:
                  support: {}
                tools: {web_fetch: proxy}
                guard:
                  policies:
                    crm: {file: %s, agents: ["channel:crm"]}
                secrets:
                  crm_in: file:%s
                agents:
                  helpdesk:
                    workspace: %s
                    model: m
                    tools: [read]
                    owner: {team: support}
                channels:
                  crm:
                    kind: webhook
                    agent: helpdesk
                    unknown_senders: refuse
                    webhook:
                      secrets: [crm_in]
                      deliver_to: http://127.0.0.1:%d/hook
                  intake:
                    kind: webhook
                    agent: helpdesk
                    unknown_senders: ignore
                    webhook:
                      secrets: [crm_in]
                identities:
                  - {sender: "webhook:crm/default", team: support, user: crm}
                """.formatted(upstreamPort, policy, in, ws, receiverPort));
    }

    static int awaitPort(Process gateway, Path log) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(gateway.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        Pattern listening = Pattern.compile("Carapace listening on http://[^:]+:(\\d+)");
        for (String line; (line = out.readLine()) != null; ) {
            seen.append(line).append('\n');
            Matcher m = listening.matcher(line);
            if (m.find()) {
                Thread.ofVirtual().start(() -> {   // keep draining the log so the gateway never blocks on it
                    try {
                        for (String l; (l = out.readLine()) != null; ) Files.writeString(log, l + "\n",
                                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
                    } catch (Exception ignored) {
                        // the gateway stopped
                    }
                });
                return Integer.parseInt(m.group(1));
            }
        }
        throw new IllegalStateException("the gateway exited:\n" + seen);
    }

    /**
     * {@code n} messages from {@code callers} callers. With {@code oneAtATime} each caller waits for its message's
     * model call before sending the next.
     */
    static void run(String name, HttpClient http, URI hook, AtomicInteger next, int n, int callers, boolean oneAtATime)
            throws Exception {
        long[] acked = new long[n];
        long[] toModel = new long[n];
        long[] sentAt = new long[n];
        String[] tags = new String[n];
        AtomicInteger taken = new AtomicInteger();
        AtomicLong failures = new AtomicLong();
        long start = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < callers; c++) {
            threads.add(Thread.ofVirtual().start(() -> {
                for (int i; (i = taken.getAndIncrement()) < n; ) {
                    String tag = "m-" + next.incrementAndGet();
                    tags[i] = tag;
                    CompletableFuture<Long> model = new CompletableFuture<>();
                    waiting.put(tag, model);
                    String body = "{\"text\":\"ASK " + tag + " the invoice is wrong\",\"conversation\":\"" + tag + "\"}";
                    long ts = Instant.now().getEpochSecond();
                    String id = "msg_" + tag;
                    HttpRequest r = HttpRequest.newBuilder(hook).header("content-type", "application/json")
                            .header("webhook-id", id).header("webhook-timestamp", Long.toString(ts))
                            .header("webhook-signature", sign(id, ts, body))
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build();
                    long t0 = System.nanoTime();
                    sentAt[i] = t0;
                    try {
                        HttpResponse<String> res = http.send(r, HttpResponse.BodyHandlers.ofString());
                        acked[i] = System.nanoTime() - t0;
                        if (res.statusCode() != 202) {
                            failures.incrementAndGet();
                            System.err.println("not 202: " + res.statusCode() + " " + res.body());
                            continue;
                        }
                        if (oneAtATime) model.get(30, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        failures.incrementAndGet();
                        System.err.println("failed: " + e);
                    }
                }
            }));
        }
        for (Thread t : threads) t.join();
        long ackedAll = System.nanoTime() - start;
        if (hook.getPath().endsWith("/intake")) {   // an unbound sender, unknown_senders: ignore: stored, never run
            System.out.printf("%-28s %6d msgs  %8.0f acked/s  ack p50 %7.2f ms  p99 %7.2f ms%s%n", name, n,
                    n / (ackedAll / 1e9), pct(acked, 50), pct(acked, 99),
                    failures.get() == 0 ? "" : "  FAILURES " + failures.get());
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        for (int i = 0; i < n; i++) {
            while (arrived.get(tags[i]) == null && System.nanoTime() < deadline) Thread.sleep(5);
            Long at = arrived.get(tags[i]);
            toModel[i] = at == null ? -1 : at - sentAt[i];
        }
        long allModel = Arrays.stream(tags).mapToLong(t -> arrived.getOrDefault(t, 0L)).max().orElse(0) - start;
        long missing = Arrays.stream(toModel).filter(v -> v < 0).count();
        System.out.printf("%-28s %6d msgs  %8.0f acked/s  ack p50 %7.2f ms  p99 %7.2f ms | POST->model call p50 %7.2f ms  "
                        + "p99 %8.2f ms  max %8.2f ms | all model calls in %.2f s (%.0f/s)%s%n",
                name, n, n / (ackedAll / 1e9), pct(acked, 50), pct(acked, 99), pct(toModel, 50), pct(toModel, 99),
                pct(toModel, 100), allModel / 1e9, n / (allModel / 1e9),
                failures.get() + missing == 0 ? "" : "  FAILURES " + failures.get() + ", no model call " + missing);
    }

    static double pct(long[] nanos, int p) {
        long[] v = Arrays.stream(nanos).filter(x -> x >= 0).sorted().toArray();
        if (v.length == 0) return Double.NaN;
        int i = Math.min(v.length - 1, (int) Math.ceil(p / 100.0 * v.length) - 1);
        return v[Math.max(0, i)] / 1e6;
    }

    /** Standard Webhooks v1, from the spec. */
    static String sign(String id, long ts, String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(Base64.getDecoder().decode(IN_KEY.substring(6)), "HmacSHA256"));
            return "v1," + Base64.getEncoder().encodeToString(mac.doFinal((id + "." + ts + "." + body)
                    .getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
