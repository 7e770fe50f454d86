package dev.carapace.bench;

import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.Reader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The benchmark's load generator: JDK {@link HttpClient} over HTTP/1.1 with keep-alive, one client (so one
 * connection pool) per target. Every target gets the same request and is measured the same way, so differences
 * between targets are what the gateway in between adds.
 *
 * <pre>
 * LoadGen check  --targets FILE
 * LoadGen warmup --targets FILE --seconds S --concurrency C
 * LoadGen seq    --targets FILE --mode nonstream|stream --requests N --block B --out FILE
 * LoadGen conc   --targets FILE --mode nonstream|stream --seconds S --concurrency C --rounds R --out FILE
 * LoadGen all    --targets FILE --out FILE [all of the above options] [--rss-pids NAME=PID,...] [--meta FILE]
 * </pre>
 *
 * <p>{@code seq} sends N requests per target over one connection, in blocks of B that alternate between the
 * targets (rotating which goes first), so slow drifts of a noisy machine hit every target alike. A block also ends
 * after S seconds (block-seconds), so a much slower target gets fewer requests instead of stretching the run. {@code conc}
 * runs C virtual-thread clients per target for S seconds per round; rounds alternate the targets likewise.
 * Non-streamed requests are timed to the end of the body; streamed ones to the first byte of the body (TTFB)
 * and to its end. Results are appended to the TSV file, one line per (phase, mode, target, metric), in
 * microseconds. {@code all} runs check, warmup, both sequential and both concurrent phases in one JVM, and notes
 * the resident memory of the given processes after start and after warmup.
 *
 * <p>The targets file is a properties file: {@code targets=direct,carapace}, then per target {@code NAME.url}
 * (the chat completions URL), {@code NAME.model}, and any number of {@code NAME.header.HEADER=VALUE}.
 */
public final class LoadGen {

    static final String TSV_HEADER = "phase\tmode\ttarget\tmetric\tconcurrency\tcount\terrors\tseconds\tp50_us\tp90_us\tp99_us\tp999_us\tmax_us\tmean_us";
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

    record Target(String name, HttpClient client, HttpRequest nonStream, HttpRequest stream) {
        HttpRequest request(boolean streamed) { return streamed ? stream : nonStream; }
    }

    /** Latency histograms of one target in one phase, plus an error count. */
    static final class Stats {
        final Histogram latency = histogram();   // non-stream: whole answer; stream: first byte
        final Histogram total = histogram();     // stream only: whole answer
        long errors;
        String lastError;

        static Histogram histogram() { return new Histogram(100, Duration.ofSeconds(60).toNanos(), 3); }

        void add(Stats o) {
            latency.add(o.latency);
            total.add(o.total);
            errors += o.errors;
            if (o.lastError != null) lastError = o.lastError;
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) usage();
        Map<String, String> opt = options(args);
        List<Target> targets = targets(Path.of(required(opt, "targets")));
        int concurrency = intOpt(opt, "concurrency", 64);
        switch (args[0]) {
            case "check" -> System.exit(check(targets) ? 0 : 1);
            case "warmup" -> warmup(targets, seconds(opt, "seconds", 5), concurrency);
            case "seq" -> seq(targets, streamed(opt), intOpt(opt, "requests", 20_000), intOpt(opt, "block", 1_000),
                    seconds(opt, "block-seconds", 2), seconds(opt, "max-seconds", 120), Path.of(required(opt, "out")));
            case "conc" -> conc(targets, streamed(opt), seconds(opt, "seconds", 5), concurrency,
                    intOpt(opt, "rounds", 2), Path.of(required(opt, "out")));
            case "all" -> {
                // Everything in one JVM, so that the client's own code is as warm for the last phase as for the first.
                Path out = Path.of(required(opt, "out"));
                Map<String, Long> pids = pids(opt.getOrDefault("rss-pids", ""));
                Path meta = opt.containsKey("meta") ? Path.of(opt.get("meta")) : null;
                if (!check(targets)) System.exit(1);
                rss(pids, "start", meta);
                phase("warmup");
                warmup(targets, seconds(opt, "warmup-seconds", 8), concurrency);
                rss(pids, "warm", meta);
                for (boolean streamed : new boolean[] {false, true}) {
                    phase("sequential " + mode(streamed));
                    seq(targets, streamed, intOpt(opt, "requests", 20_000), intOpt(opt, "block", 1_000),
                            seconds(opt, "block-seconds", 2), seconds(opt, "max-seconds", 120), out);
                }
                for (boolean streamed : new boolean[] {false, true}) {
                    phase("concurrent " + mode(streamed) + ", " + concurrency + " clients");
                    conc(targets, streamed, seconds(opt, "seconds", 5), concurrency, intOpt(opt, "rounds", 2), out);
                }
            }
            default -> usage();
        }
        System.exit(0);
    }

    private static void phase(String name) {
        System.out.println("== " + name);
    }

    /** Appends {@code rss.NAME.STAGE=KiB} and {@code hwm.NAME.STAGE=KiB} for each process to the meta file. */
    static void rss(Map<String, Long> pids, String stage, Path meta) throws IOException {
        if (meta == null || pids.isEmpty()) return;
        StringBuilder sb = new StringBuilder();
        for (var e : pids.entrySet()) {
            Path status = Path.of("/proc", Long.toString(e.getValue()), "status");
            if (!Files.exists(status)) continue;
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmRSS:") || line.startsWith("VmHWM:")) {
                    String kib = line.substring(6).strip().split("\\s+")[0];
                    sb.append(line.startsWith("VmRSS:") ? "rss." : "hwm.").append(e.getKey()).append('.').append(stage)
                            .append('=').append(kib).append('\n');
                }
            }
        }
        Files.writeString(meta, sb, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    private static Map<String, Long> pids(String spec) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String p : spec.split(",")) {
            if (p.isBlank()) continue;
            String[] kv = p.split("=", 2);
            m.put(kv[0].strip(), Long.parseLong(kv[1].strip()));
        }
        return m;
    }

    // ---- commands ----

    /** One request of each kind per target, with the answer checked; false if any target answers wrongly. */
    static boolean check(List<Target> targets) {
        boolean ok = true;
        String expected = String.join("", BenchUpstream.TEXT_DELTAS);
        for (Target t : targets) {
            for (boolean streamed : new boolean[] {false, true}) {
                String what = t.name() + (streamed ? " stream" : " non-stream");
                try {
                    HttpResponse<byte[]> r = t.client().send(t.request(streamed), HttpResponse.BodyHandlers.ofByteArray());
                    String body = new String(r.body(), StandardCharsets.UTF_8);
                    boolean good = r.statusCode() == 200 && (streamed
                            ? body.contains("[DONE]") && body.contains("upstream.") && body.contains("\"usage\"")
                            : body.contains(expected) && body.contains("\"usage\""));
                    System.out.printf("check %-22s %d %s%n", what, r.statusCode(), good ? "ok" : "UNEXPECTED ANSWER");
                    if (!good) {
                        System.out.println("  body: " + clip(body, 800));
                        ok = false;
                    }
                } catch (Exception e) {
                    System.out.printf("check %-22s FAILED: %s%n", what, e);
                    ok = false;
                }
            }
        }
        return ok;
    }

    /** Concurrent load on every target in both modes, unrecorded: JIT compilation, connection pools, caches. */
    static void warmup(List<Target> targets, Duration each, int concurrency) throws InterruptedException {
        for (Target t : targets) {
            for (boolean streamed : new boolean[] {false, true}) {
                Stats s = runConcurrent(t, streamed, concurrency, each);
                System.out.printf("warmup %-10s %-9s %8d requests, %d errors%s%n", t.name(), mode(streamed),
                        s.latency.getTotalCount(), s.errors, s.lastError == null ? "" : " (last: " + s.lastError + ")");
            }
            // and a little at one connection, the way the sequential phase runs
            for (boolean streamed : new boolean[] {false, true}) {
                Stats s = new Stats();
                long end = System.nanoTime() + each.toNanos() / 4;
                while (System.nanoTime() < end) once(t, streamed, s);
            }
        }
    }

    static void seq(List<Target> targets, boolean streamed, int requests, int block, Duration blockTime, Duration maxTime,
                    Path out) throws IOException {
        Map<String, Stats> stats = new LinkedHashMap<>();
        Map<String, Long> nanos = new HashMap<>();
        targets.forEach(t -> stats.put(t.name(), new Stats()));
        int rounds = Math.max(1, (requests + block - 1) / block);
        long deadline = System.nanoTime() + maxTime.toNanos();
        for (int round = 0; round < rounds; round++) {
            if (round > 0 && System.nanoTime() > deadline) {
                System.out.println("  (time limit: stopped after " + round + " of " + rounds + " rounds)");
                break;
            }
            for (int i = 0; i < targets.size(); i++) {
                Target t = targets.get((round + i) % targets.size());
                Stats s = stats.get(t.name());
                long t0 = System.nanoTime();
                long stop = t0 + blockTime.toNanos();
                for (int n = 0; n < block && (n == 0 || System.nanoTime() < stop); n++) once(t, streamed, s);
                nanos.merge(t.name(), System.nanoTime() - t0, Long::sum);
            }
        }
        try (PrintStream tsv = tsv(out)) {
            for (Target t : targets) {
                Stats s = stats.get(t.name());
                double sec = nanos.get(t.name()) / 1e9;
                report(tsv, "seq", streamed, t.name(), streamed ? "ttfb" : "latency", 1, s.latency, s.errors, sec);
                if (streamed) report(tsv, "seq", streamed, t.name(), "total", 1, s.total, s.errors, sec);
                if (s.lastError != null) System.out.println("  " + t.name() + " last error: " + s.lastError);
            }
        }
    }

    static void conc(List<Target> targets, boolean streamed, Duration each, int concurrency, int rounds, Path out)
            throws InterruptedException, IOException {
        Map<String, Stats> stats = new LinkedHashMap<>();
        Map<String, Long> nanos = new HashMap<>();
        targets.forEach(t -> stats.put(t.name(), new Stats()));
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < targets.size(); i++) {
                Target t = targets.get((round + i) % targets.size());
                runConcurrent(t, streamed, concurrency, Duration.ofMillis(500));   // ramp up, unrecorded
                long t0 = System.nanoTime();
                stats.get(t.name()).add(runConcurrent(t, streamed, concurrency, each));
                nanos.merge(t.name(), System.nanoTime() - t0, Long::sum);
            }
        }
        try (PrintStream tsv = tsv(out)) {
            for (Target t : targets) {
                Stats s = stats.get(t.name());
                double sec = nanos.get(t.name()) / 1e9;
                report(tsv, "conc", streamed, t.name(), streamed ? "ttfb" : "latency", concurrency, s.latency, s.errors, sec);
                if (streamed) report(tsv, "conc", streamed, t.name(), "total", concurrency, s.total, s.errors, sec);
                if (s.lastError != null) System.out.println("  " + t.name() + " last error: " + s.lastError);
            }
        }
    }

    // ---- measuring ----

    /** {@code concurrency} virtual threads sending back to back for {@code duration}; their stats merged. */
    static Stats runConcurrent(Target t, boolean streamed, int concurrency, Duration duration) throws InterruptedException {
        long end = System.nanoTime() + duration.toNanos();
        List<Stats> perThread = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < concurrency; i++) {
            Stats s = new Stats();
            perThread.add(s);
            threads.add(Thread.ofVirtual().name("load-" + i).start(() -> {
                while (System.nanoTime() < end) once(t, streamed, s);
            }));
        }
        for (Thread th : threads) th.join();
        Stats all = new Stats();
        perThread.forEach(all::add);
        return all;
    }

    private static final AtomicLong ERRORS_PRINTED = new AtomicLong();

    /** One request, timed; a failure counts as an error and is not timed. */
    static void once(Target t, boolean streamed, Stats s) {
        try {
            if (!streamed) {
                long t0 = System.nanoTime();
                HttpResponse<byte[]> r = t.client().send(t.nonStream(), HttpResponse.BodyHandlers.ofByteArray());
                long t1 = System.nanoTime();
                if (r.statusCode() != 200 || r.body().length == 0) {
                    error(s, "status " + r.statusCode() + ": " + clip(new String(r.body(), StandardCharsets.UTF_8), 200));
                    return;
                }
                s.latency.recordValue(t1 - t0);
                return;
            }
            long t0 = System.nanoTime();
            HttpResponse<InputStream> r = t.client().send(t.stream(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                int first = in.read();
                long t1 = System.nanoTime();
                byte[] rest = in.readAllBytes();
                long t2 = System.nanoTime();
                if (r.statusCode() != 200 || first == -1 || !endsWithDone(rest)) {
                    error(s, "status " + r.statusCode() + ": " + clip((char) first + new String(rest, StandardCharsets.UTF_8), 200));
                    return;
                }
                s.latency.recordValue(t1 - t0);
                s.total.recordValue(t2 - t0);
            }
        } catch (IOException e) {
            error(s, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error(s, "interrupted");
        }
    }

    private static void error(Stats s, String what) {
        s.errors++;
        s.lastError = what;
        if (ERRORS_PRINTED.incrementAndGet() <= 5) System.err.println("request failed: " + what);
    }

    /** The OpenAI stream ends with {@code data: [DONE]} and a blank line. */
    static boolean endsWithDone(byte[] body) {
        String tail = new String(body, Math.max(0, body.length - 32), Math.min(32, body.length), StandardCharsets.UTF_8);
        return tail.strip().endsWith("[DONE]");
    }

    // ---- output ----

    private static PrintStream tsv(Path out) throws IOException {
        boolean fresh = !Files.exists(out) || Files.size(out) == 0;
        PrintStream p = new PrintStream(Files.newOutputStream(out, StandardOpenOption.CREATE, StandardOpenOption.APPEND),
                true, StandardCharsets.UTF_8);
        if (fresh) p.println(TSV_HEADER);
        return p;
    }

    private static void report(PrintStream tsv, String phase, boolean streamed, String target, String metric,
                               int concurrency, Histogram h, long errors, double seconds) {
        String line = String.join("\t", phase, mode(streamed), target, metric, Integer.toString(concurrency),
                Long.toString(h.getTotalCount()), Long.toString(errors), fmt(seconds),
                us(h.getValueAtPercentile(50)), us(h.getValueAtPercentile(90)), us(h.getValueAtPercentile(99)),
                us(h.getValueAtPercentile(99.9)), us(h.getMaxValue()), fmt(h.getMean() / 1000));
        tsv.println(line);
        System.out.printf(Locale.ROOT, "%-4s %-9s %-9s %-7s c=%-3d n=%-7d err=%-3d %7.0f req/s  p50 %8.1f us  p90 %8.1f us  p99 %8.1f us  max %9.1f us%n",
                phase, mode(streamed), target, metric, concurrency, h.getTotalCount(), errors, h.getTotalCount() / seconds,
                h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(90) / 1000.0,
                h.getValueAtPercentile(99) / 1000.0, h.getMaxValue() / 1000.0);
    }

    private static String us(long nanos) { return fmt(nanos / 1000.0); }

    private static String fmt(double v) { return String.format(Locale.ROOT, "%.3f", v); }

    static String mode(boolean streamed) { return streamed ? "stream" : "nonstream"; }

    // ---- setup ----

    static List<Target> targets(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        List<Target> list = new ArrayList<>();
        for (String name : p.getProperty("targets", "").split(",")) {
            name = name.strip();
            if (name.isEmpty()) continue;
            URI uri = URI.create(p.getProperty(name + ".url"));
            String model = p.getProperty(name + ".model", "bench");
            List<String> headers = new ArrayList<>(List.of("content-type", "application/json"));
            String prefix = name + ".header.";
            for (String k : p.stringPropertyNames()) {
                if (k.startsWith(prefix)) {
                    headers.add(k.substring(prefix.length()));
                    headers.add(p.getProperty(k));
                }
            }
            String[] h = headers.toArray(String[]::new);
            // The same small chat request on every path; only the model name differs (the gateways map theirs).
            String nonStream = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
                    + "{\"role\":\"user\",\"content\":\"Say hello to the benchmark.\"}],\"max_tokens\":64}";
            String stream = nonStream.substring(0, nonStream.length() - 1)
                    + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5)).build();
            list.add(new Target(name, client, request(uri, h, nonStream), request(uri, h, stream)));
        }
        if (list.isEmpty()) throw new IllegalArgumentException(file + ": no targets");
        return list;
    }

    private static HttpRequest request(URI uri, String[] headers, String body) {
        return HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).headers(headers)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) usage();
            m.put(args[i].substring(2), args[++i]);
        }
        return m;
    }

    private static String required(Map<String, String> opt, String key) {
        String v = opt.get(key);
        if (v == null) usage();
        return v;
    }

    private static int intOpt(Map<String, String> opt, String key, int def) {
        return opt.containsKey(key) ? Integer.parseInt(opt.get(key)) : def;
    }

    private static Duration seconds(Map<String, String> opt, String key, double def) {
        double s = opt.containsKey(key) ? Double.parseDouble(opt.get(key)) : def;
        return Duration.ofMillis((long) (s * 1000));
    }

    private static boolean streamed(Map<String, String> opt) {
        String m = opt.getOrDefault("mode", "nonstream");
        if (!m.equals("stream") && !m.equals("nonstream")) usage();
        return m.equals("stream");
    }

    private static String clip(String s, int n) { return s.length() <= n ? s : s.substring(0, n) + "..."; }

    private static void usage() {
        System.err.println("""
                usage: LoadGen check  --targets FILE
                       LoadGen warmup --targets FILE [--seconds S] [--concurrency C]
                       LoadGen seq    --targets FILE --mode nonstream|stream [--requests N] [--block B] [--block-seconds S] [--max-seconds S] --out FILE
                       LoadGen conc   --targets FILE --mode nonstream|stream [--seconds S] [--concurrency C] [--rounds R] --out FILE
                       LoadGen all    --targets FILE --out FILE [--warmup-seconds S] [--requests N] [--block B] [--block-seconds S] [--max-seconds S]
                                      [--seconds S] [--concurrency C] [--rounds R] [--rss-pids NAME=PID,...] [--meta FILE]""");
        System.exit(2);
    }
}
