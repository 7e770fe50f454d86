package dev.carapace.bench;

import dev.carapace.config.CarapaceConfig;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.server.Carapace;
import dev.carapace.server.http.HttpServer;
import dev.carapace.server.http.Routes;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code POST /v1/responses} against {@code POST /v1/chat/completions} on the same Chat Completions upstream
 * ({@link BenchUpstream}), through one Carapace: what the Responses API's translation (parsing its items, rendering
 * its typed events and response object) adds to a call. Sequential requests on one connection each, in alternating
 * blocks so that both paths share the machine's moments; prints p50, p90 and p99 latency (time to the whole answer)
 * per path, streamed and not. Everything in one process on 127.0.0.1.
 *
 * <p>{@code bench/jmh} is for microbenchmarks; this one runs as a plain main on the test classpath:
 * {@code java -cp target/classes:target/test-classes:$(cat target/cp.txt) dev.carapace.bench.ResponsesBench [REQUESTS]}
 */
public final class ResponsesBench {

    private ResponsesBench() {}

    public static void main(String[] args) throws Exception {
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 4000;
        int block = 200;
        HttpServer upstream = BenchUpstream.start(0, new Routes().post("/v1/chat/completions", BenchUpstream::chat));
        Path data = Files.createTempDirectory("responses-bench");
        CarapaceConfig config = ConfigLoader.load("""
                org: bench
                providers:
                  up: {kind: openai, base_url: "http://127.0.0.1:%d/v1"}
                models:
                  m: {tier: mid, context_window: 128000, max_output_tokens: 4096, price: {input: 1, output: 1},
                      deployments: [{provider: up, model: bench-upstream}]}
                teams:
                  bench: {}
                responses: {store: false}
                """.formatted(upstream.port()), "bench.yaml");
        try (Carapace carapace = Carapace.start(config, data, name -> null, Clock.systemUTC(), 0)) {
            String key = carapace.keyAdmin().create("bench", "bench", Principal.Role.MEMBER, null).secret();
            String base = "http://127.0.0.1:" + carapace.port();
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            Map<String, HttpRequest> paths = new LinkedHashMap<>();
            for (boolean stream : new boolean[] {false, true}) {
                paths.put("chat" + (stream ? " stream" : ""), post(base + "/v1/chat/completions", key, """
                        {"model":"m","stream":%s,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]}"""
                        .formatted(stream)));
                paths.put("responses" + (stream ? " stream" : ""), post(base + "/v1/responses", key, """
                        {"model":"m","stream":%s,"instructions":"be brief","input":[{"role":"user","content":[{"type":"input_text","text":"hello there"}]}]}"""
                        .formatted(stream)));
            }
            Map<String, long[]> times = new LinkedHashMap<>();
            for (String p : paths.keySet()) times.put(p, new long[requests]);
            // warm-up: every path, until the JIT has seen them all
            for (int i = 0; i < 2000; i++) for (HttpRequest r : paths.values()) send(http, r);
            for (int done = 0; done < requests; done += block) {
                for (Map.Entry<String, HttpRequest> p : paths.entrySet()) {
                    long[] t = times.get(p.getKey());
                    for (int i = done; i < Math.min(requests, done + block); i++) {
                        long t0 = System.nanoTime();
                        send(http, p.getValue());
                        t[i] = System.nanoTime() - t0;
                    }
                }
            }
            System.out.printf("%-18s %10s %10s %10s%n", "path", "p50 ms", "p90 ms", "p99 ms");
            for (Map.Entry<String, long[]> e : times.entrySet()) {
                long[] t = e.getValue().clone();
                Arrays.sort(t);
                System.out.printf("%-18s %10.3f %10.3f %10.3f%n", e.getKey(), ms(t, 0.50), ms(t, 0.90), ms(t, 0.99));
            }
        } finally {
            upstream.close();
        }
    }

    private static HttpRequest post(String url, String key, String body) {
        return HttpRequest.newBuilder(URI.create(url)).header("content-type", "application/json")
                .header("authorization", "Bearer " + key).POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static void send(HttpClient http, HttpRequest r) throws Exception {
        HttpResponse<byte[]> resp = http.send(r, HttpResponse.BodyHandlers.ofByteArray());
        if (resp.statusCode() != 200) throw new IllegalStateException(r.uri() + ": " + resp.statusCode() + " " + new String(resp.body()));
    }

    private static double ms(long[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) (q * sorted.length))] / 1e6;
    }
}
