package dev.carapace.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Memory per open stream (issue 13), run by {@code bench/streams}: holds N streamed chat completions open at once
 * through each gateway (in front of {@link SlowUpstream}, whose streams last as long as the client stays), and
 * measures the gateway process's live heap and RSS with 0 and with N streams open.
 *
 * <p>Per target: W streams are opened and closed first (classes loaded, pools filled); then the baseline is taken;
 * then N streams are opened (at most 128 connecting at a time) and held until each has its first event; after 2 s
 * the figures with N open are taken; then every stream is closed by the client and the figures are taken once more.
 * The live heap is the total of {@code jcmd PID GC.class_histogram} (which runs a full GC first), so garbage does not
 * count; the histograms are kept, and the classes whose bytes grew most are printed per stream. RSS is {@code VmRSS}
 * from {@code /proc/PID/status}.
 *
 * <pre>StreamsBench --targets FILE --pids NAME=PID,... --streams N [--warm W] [--out DIR]</pre>
 *
 * The targets file is {@link LoadGen}'s: {@code targets=}, then per target {@code NAME.url}, {@code NAME.model},
 * {@code NAME.header.HEADER=VALUE}.
 */
public final class StreamsBench {

    private StreamsBench() {}

    record Target(String name, URI url, String model, Map<String, String> headers, long pid) {}

    /** A class histogram: bytes and instances per class, and the total. */
    record Histo(Map<String, long[]> classes, long bytes) {}

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        int n = Integer.parseInt(opt.getOrDefault("streams", "2000"));
        int warm = Integer.parseInt(opt.getOrDefault("warm", String.valueOf(Math.min(200, n))));
        Path out = Path.of(opt.getOrDefault("out", "."));
        Files.createDirectories(out);
        Properties p = new Properties();
        try (var r = Files.newBufferedReader(Path.of(opt.get("targets")))) {
            p.load(r);
        }
        Map<String, Long> pids = new HashMap<>();
        for (String kv : opt.get("pids").split(",")) pids.put(kv.split("=")[0], Long.parseLong(kv.split("=")[1]));
        List<Target> targets = new ArrayList<>();
        for (String name : p.getProperty("targets").split(",")) {
            if (!pids.containsKey(name)) continue;
            Map<String, String> headers = new HashMap<>();
            for (String k : p.stringPropertyNames()) {
                if (k.startsWith(name + ".header.")) headers.put(k.substring((name + ".header.").length()), p.getProperty(k));
            }
            targets.add(new Target(name, URI.create(p.getProperty(name + ".url")), p.getProperty(name + ".model"), headers,
                    pids.get(name)));
        }
        System.out.printf("streams %d per target (warm-up %d)%n", n, warm);
        for (Target t : targets) measure(t, n, warm, out);
        System.exit(0);
    }

    private static void measure(Target t, int n, int warm, Path out) throws Exception {
        Holder w = Holder.open(t, warm);
        w.close();
        Thread.sleep(3000);
        Histo h0 = histogram(t, out, "0");
        long rss0 = status(t.pid, "VmRSS");
        Map<String, Long> nmt0 = nativeMemory(t);
        long t0 = System.nanoTime();
        Holder h = Holder.open(t, n);
        double openSeconds = (System.nanoTime() - t0) / 1e9;
        Thread.sleep(2000);
        long rssN = status(t.pid, "VmRSS");
        Histo hN = histogram(t, out, String.valueOf(n));
        long rssNgc = status(t.pid, "VmRSS");
        Map<String, Long> nmtN = nativeMemory(t);
        jcmd(t, out.resolve("threads-" + t.name + ".txt"), "Thread.dump_to_file", "-overwrite",
                out.resolve("threads-" + t.name + ".txt").toAbsolutePath().toString());
        int live = h.alive();
        h.close();
        Thread.sleep(3000);
        Histo hAfter = histogram(t, out, "after");
        long rssAfter = status(t.pid, "VmRSS");
        System.out.printf("%s: %d of %d streams open (%d failed) in %.1f s, %d still open at the measure%n", t.name, h.opened(),
                n, h.failed.get(), openSeconds, live);
        System.out.printf("%s: live heap %,d KiB with 0 open, %,d KiB with %d open, %,d KiB after they closed%n", t.name,
                h0.bytes >> 10, hN.bytes >> 10, n, hAfter.bytes >> 10);
        System.out.printf("%s: RSS %,d KiB with 0 open, %,d KiB with %d open (%,d KiB after the GC), %,d KiB after they closed%n",
                t.name, rss0, rssN, n, rssNgc, rssAfter);
        int open = Math.max(1, h.opened());
        System.out.printf("%s: PER STREAM live heap %,d bytes, RSS %,d bytes%n", t.name, (hN.bytes - h0.bytes) / open,
                (rssN - rss0) * 1024 / open);
        if (!nmt0.isEmpty() && !nmtN.isEmpty()) {
            StringBuilder sb = new StringBuilder();
            for (var e : nmtN.entrySet()) {
                long d = (e.getValue() - nmt0.getOrDefault(e.getKey(), 0L)) * 1024 / open;
                if (Math.abs(d) >= 512) sb.append(String.format(" %s %,d;", e.getKey(), d));
            }
            System.out.printf("%s: per stream, committed native memory by JVM category (NMT), bytes:%s%n", t.name, sb);
        }
        System.out.printf("%s: per stream, by class (live bytes with %d open minus with 0, / %d):%n", t.name, open, open);
        List<Map.Entry<String, Long>> grew = new ArrayList<>();
        for (var e : hN.classes.entrySet()) {
            long before = h0.classes.getOrDefault(e.getKey(), new long[2])[1];
            grew.add(Map.entry(e.getKey(), e.getValue()[1] - before));
        }
        grew.sort(Comparator.comparingLong(e -> -e.getValue()));
        for (var e : grew.subList(0, Math.min(25, grew.size()))) {
            long[] c = hN.classes.get(e.getKey());
            long i0 = h0.classes.getOrDefault(e.getKey(), new long[2])[0];
            System.out.printf("  %8.1f bytes %6.2f objects  %s%n", e.getValue() / (double) open, (c[0] - i0) / (double) open,
                    e.getKey());
        }
    }

    /** The live heap of the target process, by class, after a full GC; the text is kept in {@code out}. */
    static Histo histogram(Target t, Path out, String stage) throws IOException, InterruptedException {
        String text = jcmd(t, null, "GC.class_histogram");
        Files.writeString(out.resolve("histo-" + t.name + "-" + stage + ".txt"), text);
        Map<String, long[]> classes = new HashMap<>();
        long total = -1;
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[0].endsWith(":")) {
                classes.merge(f[3], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])},
                        (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
            } else if (f.length == 3 && f[0].equals("Total")) {
                total = Long.parseLong(f[2]);
            }
        }
        if (total < 0) throw new IOException("no histogram from jcmd " + t.pid + ": " + text);
        return new Histo(classes, total);
    }

    /**
     * Committed KiB per category from {@code jcmd PID VM.native_memory summary}; empty unless the process runs with
     * {@code -XX:NativeMemoryTracking=summary}.
     */
    static Map<String, Long> nativeMemory(Target t) throws IOException, InterruptedException {
        Map<String, Long> m = new java.util.TreeMap<>();
        var line = java.util.regex.Pattern.compile("^-\\s+(.+?) \\(reserved=\\d+KB, committed=(\\d+)KB\\)");
        for (String l : jcmd(t, null, "VM.native_memory", "summary").split("\n")) {
            var matcher = line.matcher(l.trim());
            if (matcher.find()) m.put(matcher.group(1).trim(), Long.parseLong(matcher.group(2)));
        }
        return m;
    }

    /** Runs {@code jcmd PID COMMAND...}, keeping its output in {@code keep} (if not null). */
    static String jcmd(Target t, Path keep, String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                String.valueOf(t.pid)));
        cmd.addAll(List.of(command));
        Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        proc.waitFor();
        if (keep != null && !Files.exists(keep)) Files.writeString(keep, text);
        return text;
    }

    /** A /proc/PID/status figure in KiB. */
    static long status(long pid, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        return -1;
    }

    /** N client streams, each on its own socket and virtual thread, reading whatever comes until closed. */
    static final class Holder {
        final ConcurrentLinkedQueue<Socket> sockets = new ConcurrentLinkedQueue<>();
        final AtomicInteger opened = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        final AtomicInteger alive = new AtomicInteger();
        volatile String lastError;

        int opened() { return opened.get(); }

        int alive() { return alive.get(); }

        static Holder open(Target t, int n) throws InterruptedException {
            Holder h = new Holder();
            byte[] request = request(t);
            Semaphore connecting = new Semaphore(128);
            CountDownLatch first = new CountDownLatch(n);
            for (int i = 0; i < n; i++) {
                connecting.acquire();
                Thread.ofVirtual().start(() -> h.run(t, request, connecting, first));
            }
            if (!first.await(120, TimeUnit.SECONDS)) System.out.printf("%s: timed out opening streams%n", t.name);
            if (h.failed.get() > 0) System.out.printf("%s: %d streams failed, e.g. %s%n", t.name, h.failed.get(), h.lastError);
            return h;
        }

        private void run(Target t, byte[] request, Semaphore connecting, CountDownLatch first) {
            boolean released = false;
            try (Socket s = new Socket()) {
                sockets.add(s);
                s.connect(new InetSocketAddress(t.url.getHost(), t.url.getPort()), 10_000);
                s.setTcpNoDelay(true);
                OutputStream o = s.getOutputStream();
                o.write(request);
                o.flush();
                InputStream in = s.getInputStream();
                byte[] buf = new byte[1024];
                StringBuilder head = new StringBuilder();
                while (true) {
                    int r = in.read(buf);
                    if (r < 0) throw new IOException("closed before the first event: " + head);
                    head.append(new String(buf, 0, r, StandardCharsets.ISO_8859_1));
                    if (!head.toString().startsWith("HTTP/1.1 200")) {
                        if (head.indexOf("\r\n") > 0) throw new IOException("status " + head.substring(0, head.indexOf("\r\n")));
                        continue;
                    }
                    if (head.indexOf("data:") >= 0) break;
                }
                opened.incrementAndGet();
                alive.incrementAndGet();
                connecting.release();
                first.countDown();
                released = true;
                try {
                    while (in.read(buf) >= 0) { /* the stream's events, dropped */ }
                } finally {
                    alive.decrementAndGet();
                }
            } catch (IOException e) {
                if (!released) {
                    failed.incrementAndGet();
                    lastError = e.toString();
                }
            } finally {
                if (!released) {
                    connecting.release();
                    first.countDown();
                }
            }
        }

        void close() {
            for (Socket s; (s = sockets.poll()) != null; ) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        }

        static byte[] request(Target t) {
            String body = "{\"model\":\"" + t.model + "\",\"stream\":true,\"max_tokens\":64,\"messages\":["
                    + "{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},"
                    + "{\"role\":\"user\",\"content\":\"Say hello.\"}]}";
            StringBuilder sb = new StringBuilder("POST " + t.url.getRawPath() + " HTTP/1.1\r\nHost: " + t.url.getHost() + ":"
                    + t.url.getPort() + "\r\ncontent-type: application/json\r\naccept: text/event-stream\r\n");
            t.headers.forEach((k, v) -> sb.append(k).append(": ").append(v).append("\r\n"));
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            sb.append("content-length: ").append(b.length).append("\r\n\r\n").append(body);
            return sb.toString().getBytes(StandardCharsets.UTF_8);
        }
    }
}
