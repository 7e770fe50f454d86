package dev.carapace.bench;

import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Many long streams at once (issue 14), run by {@code bench/streams-concurrent}: N clients each keep one streamed chat
 * completion open, read every event as it comes, and ask for the next stream on the same connection as soon as one
 * ends, so N streams stay open. The upstream ({@link PacedUpstream}) sets the pace: a role event, then D content events
 * G ms apart, then the end. The same load runs against the upstream directly and through Carapace, in one run, so the
 * direct path is the floor of the load generator and the upstream on this machine.
 *
 * <p>Per target: the N streams start spread over one stream's length (so their events do not all fall in the same
 * millisecond), run W seconds unrecorded, then S seconds recorded: streams completed in the window (per second), and
 * the gap between successive events of a stream from the first content event to the last (an event's time is when the
 * read that completed it returned). For a gateway the process's RSS is sampled every second of the window, and at its
 * end, with the N streams still open, the live heap ({@code jcmd GC.class_histogram}, after a full GC) and the heap
 * G1 had committed.
 *
 * <p>The client is one thread on a {@link Selector} with non-blocking sockets and no per-event allocation, so it
 * costs far less per event than either server; its own CPU share is printed, and the number of streams open is
 * sampled through the window, to show that it kept N open.
 *
 * <pre>ConcurrentStreamsBench --targets FILE --streams N [--pids NAME=PID,...] [--deltas 35] [--gap-ms 50]
 *     [--warm 5] [--seconds 20] [--rounds 1] [--out DIR]</pre>
 *
 * The targets file is {@link LoadGen}'s. Prints one {@code RESULT} line per target and round, tab-separated.
 */
public final class ConcurrentStreamsBench {

    private ConcurrentStreamsBench() {}

    record Target(String name, URI url, String model, Map<String, String> headers, long pid) {}

    /** What one target measured in one round. */
    record Result(String target, int n, double seconds, long completed, long errors, String lastError, Histogram gaps,
                  Histogram firstEvent, double meanOpen, int minOpen, long rssMaxKiB, long liveHeapKiB,
                  long heapCommittedKiB, double clientCpuShare, Map<String, Double> processCpu) {
        double rate() { return completed / seconds; }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        int n = Integer.parseInt(opt.getOrDefault("streams", "2000"));
        int deltas = Integer.parseInt(opt.getOrDefault("deltas", "35"));
        long gapMs = Long.parseLong(opt.getOrDefault("gap-ms", "50"));
        int warm = Integer.parseInt(opt.getOrDefault("warm", "5"));
        int seconds = Integer.parseInt(opt.getOrDefault("seconds", "20"));
        int rounds = Integer.parseInt(opt.getOrDefault("rounds", "1"));
        Path out = Path.of(opt.getOrDefault("out", "."));
        Files.createDirectories(out);
        Properties p = new Properties();
        try (var r = Files.newBufferedReader(Path.of(opt.get("targets")))) {
            p.load(r);
        }
        Map<String, Long> pids = new HashMap<>();
        if (opt.containsKey("pids")) {
            for (String kv : opt.get("pids").split(",")) pids.put(kv.split("=")[0], Long.parseLong(kv.split("=")[1]));
        }
        List<Target> targets = new ArrayList<>();
        for (String name : p.getProperty("targets").split(",")) {
            Map<String, String> headers = new HashMap<>();
            for (String k : p.stringPropertyNames()) {
                if (k.startsWith(name + ".header.")) headers.put(k.substring((name + ".header.").length()), p.getProperty(k));
            }
            targets.add(new Target(name, URI.create(p.getProperty(name + ".url")), p.getProperty(name + ".model"), headers,
                    pids.getOrDefault(name, -1L)));
        }
        System.out.printf("%d streams per target, %d content events %d ms apart, %d s warm-up, %d s window, %d round(s)%n",
                n, deltas, gapMs, warm, seconds, rounds);
        List<Result> results = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            List<Target> order = new ArrayList<>(targets);
            if (round % 2 == 1) java.util.Collections.reverse(order);
            for (Target t : order) {
                Result r = new Run(t, n, deltas, gapMs, warm, seconds, out, pids).call();
                results.add(r);
                print(r);
                Thread.sleep(2000);   // the upstream's streams of the closed connections end at their next write
            }
        }
        summary(results, n);
        System.exit(0);
    }

    static void print(Result r) {
        System.out.printf(Locale.ROOT, "%s: %,d streams completed in %.1f s = %.1f/s, %d errors%s; open: mean %.0f, min %d;"
                        + " gap p50 %.2f ms, p99 %.2f ms, max %.1f ms (%,d gaps); first event p50 %.2f ms, p99 %.2f ms;"
                        + " client CPU %.0f%% of a core; processes' CPU (cores) %s%s%n",
                r.target, r.completed, r.seconds, r.rate(), r.errors, r.lastError == null ? "" : " (e.g. " + r.lastError + ")",
                r.meanOpen, r.minOpen, ms(r.gaps, 50), ms(r.gaps, 99), r.gaps.getMaxValue() / 1000.0, r.gaps.getTotalCount(),
                ms(r.firstEvent, 50), ms(r.firstEvent, 99), 100 * r.clientCpuShare, cpuText(r),
                r.rssMaxKiB < 0 ? "" : String.format(Locale.ROOT, "; RSS max %,d KiB, live heap %,d KiB, heap committed %,d KiB",
                        r.rssMaxKiB, r.liveHeapKiB, r.heapCommittedKiB));
        System.out.printf(Locale.ROOT, "RESULT\t%s\t%d\t%.1f\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%d\t%d\t%.0f%n", r.target, r.n,
                r.rate(), r.errors, ms(r.gaps, 50), ms(r.gaps, 99), ms(r.firstEvent, 50), ms(r.firstEvent, 99), r.rssMaxKiB,
                r.liveHeapKiB, r.heapCommittedKiB, r.meanOpen);
    }

    static String cpuText(Result r) {
        StringBuilder sb = new StringBuilder();
        r.processCpu.forEach((k, v) -> sb.append(String.format(Locale.ROOT, "%s %.2f (%.1f ms per stream) ", k, v,
                r.completed == 0 ? Double.NaN : v * r.seconds * 1000 / r.completed)));
        return sb.toString().strip();
    }

    /** Each gateway against direct, over the rounds (gaps merged, rates summed). */
    static void summary(List<Result> results, int n) {
        Map<String, Result> merged = new java.util.LinkedHashMap<>();
        for (Result r : results) {
            merged.merge(r.target, r, (a, b) -> {
                Histogram g = a.gaps.copy();
                g.add(b.gaps);
                Histogram f = a.firstEvent.copy();
                f.add(b.firstEvent);
                return new Result(a.target, n, a.seconds + b.seconds, a.completed + b.completed, a.errors + b.errors,
                        b.lastError != null ? b.lastError : a.lastError, g, f, Math.min(a.meanOpen, b.meanOpen),
                        Math.min(a.minOpen, b.minOpen), Math.max(a.rssMaxKiB, b.rssMaxKiB),
                        Math.max(a.liveHeapKiB, b.liveHeapKiB), Math.max(a.heapCommittedKiB, b.heapCommittedKiB),
                        Math.max(a.clientCpuShare, b.clientCpuShare), a.processCpu);
            });
        }
        Result direct = merged.get("direct");
        if (direct == null) return;
        for (Result r : merged.values()) {
            if (r == direct) continue;
            double ratio = r.rate() / direct.rate();
            double p50 = ms(r.gaps, 50) - ms(direct.gaps, 50);
            double p99 = ms(r.gaps, 99) - ms(direct.gaps, 99);
            System.out.printf(Locale.ROOT, "SUMMARY N=%d %s: rate %.1f/s vs direct %.1f/s = %.1f%%; added gap p50 %+.2f ms,"
                            + " p99 %+.2f ms; RSS max %,d KiB (%.0f MB), live heap %,d KiB, heap committed %,d KiB; targets"
                            + " (>= 95%%, p99 < 5 ms, RSS < 500 MB): %s%n",
                    n, r.target, r.rate(), direct.rate(), 100 * ratio, p50, p99, r.rssMaxKiB, r.rssMaxKiB * 1024 / 1e6,
                    r.liveHeapKiB, r.heapCommittedKiB,
                    ratio >= 0.95 && p99 < 5 && r.rssMaxKiB * 1024 < 500_000_000L ? "MET" : "not met");
        }
    }

    static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1000.0;
    }

    /** One target, one round: the selector loop. */
    static final class Run {
        private final Target target;
        private final int n;
        private final int deltas;
        private final long gapNanos;
        private final int warm;
        private final int seconds;
        private final Path out;
        private final Map<String, Long> pids;
        private final byte[] request;
        private final InetSocketAddress address;
        private final Histogram gaps = new Histogram(1, 60_000_000L, 3);      // µs
        private final Histogram firstEvent = new Histogram(1, 60_000_000L, 3); // µs
        private boolean recording;
        private long completed;
        private long errors;
        private String lastError;
        private int open;   // streams between their response head and their end

        Run(Target target, int n, int deltas, long gapMs, int warm, int seconds, Path out, Map<String, Long> pids) {
            this.pids = pids;
            this.target = target;
            this.n = n;
            this.deltas = deltas;
            this.gapNanos = gapMs * 1_000_000L;
            this.warm = warm;
            this.seconds = seconds;
            this.out = out;
            this.request = StreamsBench.Holder.request(new StreamsBench.Target(target.name, target.url, target.model,
                    target.headers, target.pid));
            this.address = new InetSocketAddress(target.url.getHost(), target.url.getPort());
        }

        Result call() throws IOException, InterruptedException {
            var threads = ManagementFactory.getThreadMXBean();
            try (Selector selector = Selector.open()) {
                ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
                long start = System.nanoTime();
                long spread = (deltas + 1) * gapNanos;   // one stream's length: the starts are spread over it
                int started = 0;
                long windowStart = start + spread + warm * 1_000_000_000L;
                long windowEnd = windowStart + seconds * 1_000_000_000L;
                long nextSample = windowStart;
                long openSum = 0;
                int samples = 0;
                int minOpen = Integer.MAX_VALUE;
                long rssMax = -1;
                long cpuAtWindow = 0;
                Map<String, Long> ticksAtWindow = new HashMap<>();
                long[] machineAtWindow = null;
                List<Client> clients = new ArrayList<>(n);
                while (true) {
                    long now = System.nanoTime();
                    while (started < n && now >= start + spread * started / n) {
                        Client c = new Client();
                        clients.add(c);
                        c.connect(selector, now);
                        started++;
                    }
                    if (!recording && now >= windowStart) {
                        recording = true;
                        cpuAtWindow = threads.getCurrentThreadCpuTime();
                        for (var e : pids.entrySet()) ticksAtWindow.put(e.getKey(), cpuTicks(e.getValue()));
                        machineAtWindow = machineTicks();
                    }
                    if (recording && now >= nextSample) {
                        openSum += open;
                        samples++;
                        minOpen = Math.min(minOpen, open);
                        if (target.pid > 0) rssMax = Math.max(rssMax, StreamsBench.status(target.pid, "VmRSS"));
                        nextSample += 1_000_000_000L;
                    }
                    if (now >= windowEnd) break;
                    long wake = Math.min(windowEnd, recording ? nextSample : windowStart);
                    if (started < n) wake = Math.min(wake, start + spread * started / n);
                    long waitMs = Math.max(1, (wake - now) / 1_000_000L);
                    selector.select(waitMs);
                    long readAt = System.nanoTime();
                    var keys = selector.selectedKeys();
                    for (SelectionKey k : keys) ((Client) k.attachment()).ready(k, buf, readAt);
                    keys.clear();
                }
                double cpu = (threads.getCurrentThreadCpuTime() - cpuAtWindow) / 1e9 / seconds;
                Map<String, Double> processCpu = new java.util.TreeMap<>();
                long[] machine = machineTicks();
                processCpu.put("machine-busy", (machine[0] - machineAtWindow[0]) / 100.0 / seconds);
                processCpu.put("machine-idle", (machine[1] - machineAtWindow[1]) / 100.0 / seconds);
                for (var e : ticksAtWindow.entrySet()) {
                    processCpu.put(e.getKey(), (cpuTicks(pids.get(e.getKey())) - e.getValue()) / 100.0 / seconds);
                }
                long live = -1;
                long committed = -1;
                if (target.pid > 0) {
                    // With the N streams still open: what the gateway keeps alive for them, after a full GC.
                    StreamsBench.Target st = new StreamsBench.Target(target.name, target.url, target.model, target.headers,
                            target.pid);
                    committed = heapCommitted(StreamsBench.jcmd(st, null, "GC.heap_info"));
                    Map<String, Long> nmt = StreamsBench.nativeMemory(st);
                    if (!nmt.isEmpty()) {
                        System.out.printf("%s: committed memory by JVM category with %d open (NMT, KiB): %s%n", target.name, n,
                                nmt);
                    }
                    live = StreamsBench.histogram(st, out, "concurrent-" + n).bytes() >> 10;
                }
                for (Client c : clients) c.close();
                return new Result(target.name, n, seconds, completed, errors, lastError, gaps, firstEvent,
                        samples == 0 ? 0 : openSum / (double) samples, minOpen == Integer.MAX_VALUE ? 0 : minOpen, rssMax, live,
                        committed, cpu, processCpu);
            }
        }

        /** User + system CPU of a process, in clock ticks (1/100 s). */
        static long cpuTicks(long pid) throws IOException {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        }

        /** The machine's busy and idle CPU time so far, in clock ticks, from the first line of /proc/stat. */
        static long[] machineTicks() throws IOException {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            long idle = 0;
            for (int i = 1; i < f.length && i <= 8; i++) {
                long v = Long.parseLong(f[i]);
                if (i == 4 || i == 5) idle += v; else busy += v;
            }
            return new long[] {busy, idle};
        }

        /** "garbage-first heap   total reserved 6291456K, committed 262144K, used 120000K" -> committed KiB. */
        static long heapCommitted(String heapInfo) {
            var m = java.util.regex.Pattern.compile("committed (\\d+)K").matcher(heapInfo);
            return m.find() ? Long.parseLong(m.group(1)) : -1;
        }

        private enum State { HEAD, SIZE, SIZE_LF, DATA, DATA_CR, DATA_LF, TRAILER }

        /** One connection: its streams one after another, parsed as they arrive. */
        final class Client {
            private SocketChannel ch;
            private SelectionKey key;
            private final ByteBuffer req = ByteBuffer.wrap(request);
            private final byte[] head = new byte[8192];
            private int headLen;
            private State state;
            private long chunkLeft;
            private int trailerLineLen;
            private byte prev;
            private int events;        // events completed in this stream
            private boolean inStream;  // counted in open
            private long sentAt;
            private long lastEventAt;

            void connect(Selector selector, long now) throws IOException {
                ch = SocketChannel.open();
                ch.configureBlocking(false);
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                key = ch.register(selector, SelectionKey.OP_CONNECT, this);
                if (ch.connect(address)) connected(now);
            }

            private void connected(long now) throws IOException {
                send(now);
            }

            private void send(long now) throws IOException {
                req.clear();
                ch.write(req);
                sentAt = now;
                state = State.HEAD;
                headLen = 0;
                events = 0;
                prev = 0;
                key.interestOps(req.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
            }

            void ready(SelectionKey k, ByteBuffer buf, long now) {
                try {
                    if (!k.isValid()) return;
                    if (k.isConnectable()) {
                        ch.finishConnect();
                        connected(now);
                        return;
                    }
                    if (k.isWritable()) {
                        ch.write(req);
                        if (!req.hasRemaining()) key.interestOps(SelectionKey.OP_READ);
                        return;
                    }
                    if (k.isReadable()) {
                        while (true) {
                            buf.clear();
                            int r = ch.read(buf);
                            now = System.nanoTime();
                            if (r < 0) throw new IOException("closed by the server (" + state + ", " + events + " events)");
                            if (r == 0) return;
                            buf.flip();
                            if (parse(buf, now)) return;   // a new stream was asked for
                            if (r < buf.capacity()) return;
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    fail(e, k.selector(), now);
                }
            }

            /** Parses what was read; true when the stream ended and the next was requested. */
            private boolean parse(ByteBuffer b, long now) throws IOException {
                while (b.hasRemaining()) {
                    switch (state) {
                        case HEAD -> {
                            byte c = b.get();
                            if (headLen == head.length) throw new IOException("response head too long");
                            head[headLen++] = c;
                            if (headLen >= 4 && c == '\n' && head[headLen - 2] == '\r' && head[headLen - 3] == '\n') {
                                String h = new String(head, 0, headLen, StandardCharsets.ISO_8859_1);
                                if (!h.startsWith("HTTP/1.1 200")) throw new IOException("status " + h.lines().findFirst().orElse(""));
                                if (!h.toLowerCase(Locale.ROOT).contains("transfer-encoding: chunked")) {
                                    throw new IOException("not chunked: " + h.replace("\r\n", " | "));
                                }
                                open++;
                                inStream = true;
                                state = State.SIZE;
                                chunkLeft = 0;
                            }
                        }
                        case SIZE -> {
                            byte c = b.get();
                            int d = Character.digit(c, 16);
                            if (d >= 0) {
                                chunkLeft = chunkLeft * 16 + d;
                            } else if (c == '\r') {
                                state = State.SIZE_LF;
                            } else if (c != ';' && c != ' ') {
                                throw new IOException("bad chunk size byte " + c);
                            }
                        }
                        case SIZE_LF -> {
                            if (b.get() != '\n') throw new IOException("bad chunk size line");
                            if (chunkLeft == 0) {
                                state = State.TRAILER;
                                trailerLineLen = 0;
                            } else {
                                state = State.DATA;
                            }
                        }
                        case DATA -> {
                            int take = (int) Math.min(chunkLeft, b.remaining());
                            for (int i = 0; i < take; i++) {
                                byte c = b.get();
                                if (c == '\n' && prev == '\n') event(now);
                                prev = c;
                            }
                            chunkLeft -= take;
                            if (chunkLeft == 0) state = State.DATA_CR;
                        }
                        case DATA_CR -> {
                            if (b.get() != '\r') throw new IOException("no CRLF after a chunk");
                            state = State.DATA_LF;
                        }
                        case DATA_LF -> {
                            if (b.get() != '\n') throw new IOException("no CRLF after a chunk");
                            state = State.SIZE;
                            chunkLeft = 0;
                        }
                        case TRAILER -> {
                            byte c = b.get();
                            if (c == '\n') {
                                if (trailerLineLen == 0) {
                                    ended(now);
                                    if (b.hasRemaining()) throw new IOException("bytes after the response");
                                    send(now);
                                    return true;
                                }
                                trailerLineLen = 0;
                            } else if (c != '\r') {
                                trailerLineLen++;
                            }
                        }
                    }
                }
                return false;
            }

            private void event(long now) {
                if (recording) {
                    if (events == 0) {
                        firstEvent.recordValue(Math.max(1, (now - sentAt) / 1000));
                    } else if (events <= deltas) {
                        gaps.recordValue(Math.max(1, (now - lastEventAt) / 1000));
                    }
                }
                lastEventAt = now;
                events++;
                prev = 0;
            }

            private void ended(long now) throws IOException {
                open--;
                inStream = false;
                if (events < deltas + 1) throw new IOException("stream ended after " + events + " events");
                if (recording) completed++;
            }

            private void fail(Exception e, Selector selector, long now) {
                if (recording) {
                    errors++;
                    lastError = e.toString();
                }
                if (inStream) open--;
                inStream = false;
                close();
                state = null;
                try {
                    connect(selector, now);
                } catch (IOException again) {
                    errors++;
                    lastError = again.toString();
                }
            }

            void close() {
                try {
                    if (ch != null) ch.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        }
    }
}
