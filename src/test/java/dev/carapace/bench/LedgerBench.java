package dev.carapace.bench;

import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.store.LedgerTables.Charge;
import dev.carapace.store.LedgerTables.Reservation;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.LedgerTables;
import dev.carapace.store.Store;
import dev.carapace.store.UsageLog.UsageRecord;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * What a budgeted call costs in the store: {@code LedgerBook.reserve} then {@code settle}, as {@code Ledger.routed}
 * and {@code completed} call them, against a real SQLite file. Sequential latency (p50/p90/p99 of each); then the
 * same for a call under no budget ({@code LedgerBook.record}) and for a stream's progress entry; then the rate and
 * CPU per call of {@code THREADS} virtual threads calling together, with a budget and without.
 *
 * <pre>
 * mvn -q -o dependency:build-classpath -Dmdep.outputFile=cp.txt
 * java --enable-native-access=ALL-UNNAMED -cp target/test-classes:target/classes:$(cat cp.txt) \
 *     dev.carapace.bench.LedgerBench [ITERATIONS] [THREADS] [SECONDS]
 * </pre>
 *
 * <p>It calls back to back, so the journal's folder holds the write lock for a larger share of the time than behind
 * a real upstream, and waits for that lock weigh more in these figures than in a gateway.
 */
public final class LedgerBench {

    private static final AtomicLong SEQ = new AtomicLong();
    /** {@code -Dpause=MICROS}: a pause before each reserve and each settle (default 300; 0 calls back to back). */
    private static final long PAUSE_NANOS = Long.getLong("pause", 300) * 1000;
    /** Between one thread's calls under no budget: 64 threads then call about 10,000 times a second, as under wrk. */
    private static final long UNBUDGETED_PAUSE_NANOS = 5_000_000;

    private LedgerBench() {}

    public static void main(String[] args) throws Exception {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        Path dir = Files.createTempDirectory("ledger-bench");
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("bench.db"), null, null, 4)) {
            LedgerBook book = LedgerBook.of(store);
            WindowKey window = new WindowKey("team:bench", 0, "*");
            List<Charge> charges = List.of(new Charge(window, Long.MAX_VALUE / 8, null));

            call(book, charges, window, Math.min(iterations, 5_000), null, null);   // warm-up
            long[] reserve = new long[iterations];
            long[] settle = new long[iterations];
            call(book, charges, window, iterations, reserve, settle);
            System.out.printf("sequential, %d calls: reserve %s | settle %s | both p50 %.1f us%n", iterations,
                    percentiles(reserve), percentiles(settle), median(sum(reserve, settle)) / 1e3);

            // A call under no budget: its record alone, durable before the response (issue 13); and a budgeted
            // stream's progress, which it notes every Ledger.PROGRESS_MILLIS of streaming.
            long[] record = new long[iterations];
            long[] progress = new long[iterations];
            unbudgeted(book, charges, window, iterations, record, progress);
            System.out.printf("sequential, %d calls: record (no budget) %s | progress %s%n", iterations,
                    percentiles(record), percentiles(progress));

            // Concurrent: virtual threads, as the gateway serves requests; CPU per call is the whole process's.
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            AtomicLong done = new AtomicLong();
            long cpu0 = os.getProcessCpuTime();
            long end = System.nanoTime() + seconds * 1_000_000_000L;
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                workers.add(Thread.ofVirtual().start(() -> {
                    while (System.nanoTime() < end) {
                        callBackToBack(book, charges, window);
                        done.incrementAndGet();
                    }
                }));
            }
            for (Thread w : workers) w.join();
            LedgerBook.of(store).openReservations();   // folds what is left, so its cost is counted
            System.out.printf("%d virtual threads: %,d calls/s, %.0f us of CPU per call%n", threads, done.get() / seconds,
                    (os.getProcessCpuTime() - cpu0) / 1e3 / done.get());

            // The same for calls under no budget (each one usage record, as every call of bench/run's gateway),
            // paced as a gateway's calls are: what recording costs the process, its fold into SQLite included.
            done.set(0);
            cpu0 = os.getProcessCpuTime();
            long end2 = System.nanoTime() + seconds * 1_000_000_000L;
            workers.clear();
            for (int t = 0; t < threads; t++) {
                workers.add(Thread.ofVirtual().start(() -> {
                    while (System.nanoTime() < end2) {
                        String request = "req-" + Long.toString(SEQ.incrementAndGet(), 36);
                        book.record(new UsageRecord(request, Instant.now(), "acme", "bench", "bench", "cpk_bench", "openai",
                                "m-mid", "mid", "up/up-model", 30, 0, 0, 20, 0, false, false, 200, null, 420, null, null, 210_000));
                        done.incrementAndGet();
                        LockSupport.parkNanos(UNBUDGETED_PAUSE_NANOS);
                    }
                }));
            }
            for (Thread w : workers) w.join();
            LedgerBook.of(store).openReservations();
            System.out.printf("%d virtual threads, no budget: %,d calls/s, %.1f us of CPU per call%n", threads,
                    done.get() / seconds, (os.getProcessCpuTime() - cpu0) / 1e3 / done.get());
        }
    }

    private static void call(LedgerBook book, List<Charge> charges, WindowKey window, int n, long[] reserve, long[] settle) {
        for (int i = 0; i < n; i++) {
            // Ids as the gateway makes them: in order (HttpApi's request ids, Ledger's reservation ids).
            String request = "req-" + Long.toString(SEQ.incrementAndGet(), 36);
            Instant now = Instant.now();
            UsageRecord context = new UsageRecord(request, now, "acme", "bench", "bench", "cpk_bench", "openai", "m-mid",
                    "mid", null, 51, 0, 0, 4096, 0, true, false, 0, null, 0, null, null, 24_729_000);
            Reservation r = new Reservation("res-" + Long.toString(SEQ.incrementAndGet(), 36), now, 24_729_000, 4147,
                    List.of(window), context);
            UsageRecord real = new UsageRecord(request, now, "acme", "bench", "bench", "cpk_bench", "openai", "m-mid", "mid",
                    "up/up-model", 30, 0, 0, 20, 0, false, false, 200, null, 420, null, null, 210_000);
            // A pause before each step stands for the upstream call: a gateway's thread comes to the ledger cold.
            if (PAUSE_NANOS > 0) LockSupport.parkNanos(PAUSE_NANOS);
            long t0 = System.nanoTime();
            if (book.reserve(r, "bench", charges).isPresent()) throw new IllegalStateException("refused");
            long t1 = System.nanoTime();
            if (PAUSE_NANOS > 0) LockSupport.parkNanos(PAUSE_NANOS);
            long t2 = System.nanoTime();
            book.settle(r.id(), 210_000, 50, real);
            long t3 = System.nanoTime();
            if (reserve != null) {
                reserve[i] = t1 - t0;
                settle[i] = t3 - t2;
            }
        }
    }

    private static void unbudgeted(LedgerBook book, List<Charge> charges, WindowKey window, int n, long[] record, long[] progress) {
        for (int i = 0; i < n; i++) {
            String request = "req-" + Long.toString(SEQ.incrementAndGet(), 36);
            Instant now = Instant.now();
            UsageRecord real = new UsageRecord(request, now, "acme", "bench", "bench", "cpk_bench", "openai", "m-mid", "mid",
                    "up/up-model", 30, 0, 0, 20, 0, false, false, 200, null, 420, null, null, 210_000);
            if (PAUSE_NANOS > 0) LockSupport.parkNanos(PAUSE_NANOS);
            long t0 = System.nanoTime();
            book.record(real);
            record[i] = System.nanoTime() - t0;
            Reservation r = new Reservation("res-" + Long.toString(SEQ.incrementAndGet(), 36), now, 24_729_000, 4147,
                    List.of(window), real);
            if (book.reserve(r, "bench", charges).isPresent()) throw new IllegalStateException("refused");
            if (PAUSE_NANOS > 0) LockSupport.parkNanos(PAUSE_NANOS);
            long t1 = System.nanoTime();
            book.progress(r.id(), new LedgerTables.Progress(120_000, 30, 5));
            progress[i] = System.nanoTime() - t1;
            book.settle(r.id(), 210_000, 50, real);
        }
    }

    private static void callBackToBack(LedgerBook book, List<Charge> charges, WindowKey window) {
        String request = "req-" + Long.toString(SEQ.incrementAndGet(), 36);
        Instant now = Instant.now();
        UsageRecord record = new UsageRecord(request, now, "acme", "bench", "bench", "cpk_bench", "openai", "m-mid", "mid",
                "up/up-model", 30, 0, 0, 20, 0, false, false, 200, null, 420, null, null, 210_000);
        Reservation r = new Reservation("res-" + Long.toString(SEQ.incrementAndGet(), 36), now, 24_729_000, 4147,
                List.of(window), record);
        if (book.reserve(r, "bench", charges).isPresent()) throw new IllegalStateException("refused");
        book.settle(r.id(), 210_000, 50, record);
    }

    private static long[] sum(long[] a, long[] b) {
        long[] s = new long[a.length];
        for (int i = 0; i < a.length; i++) s[i] = a[i] + b[i];
        return s;
    }

    private static long median(long[] t) {
        long[] s = t.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static String percentiles(long[] t) {
        long[] s = t.clone();
        Arrays.sort(s);
        return String.format("p50 %.1f us, p90 %.1f, p99 %.1f", s[s.length / 2] / 1e3, s[s.length * 9 / 10] / 1e3,
                s[s.length * 99 / 100] / 1e3);
    }
}
