package dev.carapace.guard.audit;

import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;
import dev.carapace.store.AuditRecords;
import dev.carapace.store.AuditRecords.AuditRow;
import dev.carapace.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The audit log: guard decisions, appended to the store's hash chain by one writer thread.
 *
 * <p>{@link #record} only cleans the event and puts it on a bounded queue (about a microsecond), so a decision never
 * waits for the database. The writer takes whatever has queued up and appends it in one transaction, so a burst of
 * decisions costs one commit. When the store fails, the writer keeps the batch and retries it (with back-off) before
 * anything newer, so the order of the log is the order of {@link #record} calls.
 *
 * <p>What is guaranteed: on {@link #close} every recorded event is written before it returns (unless the store stays
 * down for the whole grace period, which is logged with the number lost). {@link #flush} waits for everything
 * recorded so far. If the process is killed, the events still queued (normally those of the last few milliseconds)
 * are lost; what was committed stays, and the chain verifies. The queue holds {@code capacity} events; when the
 * store falls that far behind, {@link #record} waits for room rather than drop an event.
 */
public final class AuditLog implements AuditSink, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AuditLog.class);

    /** Longest text kept per field, in UTF-16 units; more is cut and marked. Targets and reasons get more room. */
    static final int MAX_FIELD = 256, MAX_LONG_FIELD = 2048;
    private static final int BATCH = 512;
    private static final Duration CLOSE_GRACE = Duration.ofSeconds(10);

    private final AuditRecords records;
    private final BlockingQueue<AuditRow> queue;
    private final Thread writer;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition progress = lock.newCondition();
    /** Events accepted, and events written (or given up on at close); guarded by {@link #lock}. */
    private long accepted, done;
    private volatile boolean closing;
    /** Set when close() gave up waiting: the writer stops retrying. */
    private volatile boolean abandoned;

    /** Starts the writer thread. */
    public AuditLog(AuditRecords records, int capacity) {
        this.records = records;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.writer = Thread.ofPlatform().daemon().name("audit-writer").start(this::drain);
    }

    public AuditLog(AuditRecords records) { this(records, 16_384); }

    /** Queues {@code event} for the log. Never throws; waits only when the queue is full. */
    @Override
    public void record(AuditEvent event) {
        AuditRow row;
        try {
            row = draft(event);
        } catch (RuntimeException e) {
            log.error("audit event could not be prepared; not recorded", e);
            return;
        }
        lock.lock();
        try {
            accepted++;
        } finally {
            lock.unlock();
        }
        if (closing) {
            // Late events (a decision racing shutdown) are written at once rather than lost.
            writeNow(List.of(row));
            return;
        }
        boolean interrupted = false;
        while (!queue.offer(row)) {
            try {
                if (queue.offer(row, 100, TimeUnit.MILLISECONDS)) break;
            } catch (InterruptedException e) {
                interrupted = true;   // the event still goes in; the caller's interrupt is restored below
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Waits until every event recorded before this call is in the store, or {@code timeout} passed; true if so. */
    public boolean flush(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            long target = accepted;
            while (done < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                progress.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Checks the whole chain in the store (see {@link AuditChain#verify}). */
    public AuditChain.Verification verify(AuditChain.Anchor anchor) {
        return AuditChain.verify(records, anchor);
    }

    /** Writes what is queued, then stops the writer. Idempotent. */
    @Override
    public void close() {
        if (closing) return;
        closing = true;
        writer.interrupt();
        try {
            writer.join(CLOSE_GRACE.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (writer.isAlive()) {
            abandoned = true;
            writer.interrupt();
            log.error("audit log: the store did not take {} queued event(s) within {}s of shutdown; they are lost",
                    queue.size(), CLOSE_GRACE.toSeconds());
            return;
        }
        // An event queued while the writer was leaving.
        List<AuditRow> rest = new ArrayList<>();
        queue.drainTo(rest);
        if (!rest.isEmpty()) writeNow(rest);
    }

    private void drain() {
        List<AuditRow> batch = new ArrayList<>(BATCH);
        long backoff = 50;
        while (true) {
            if (batch.isEmpty()) {
                try {
                    AuditRow first = queue.poll(closing ? 0 : 1, TimeUnit.SECONDS);
                    if (first == null) {
                        if (closing && queue.isEmpty()) return;
                        continue;
                    }
                    batch.add(first);
                } catch (InterruptedException e) {
                    if (queue.isEmpty()) return;   // closing with nothing left
                    continue;
                }
                queue.drainTo(batch, BATCH - 1);
            }
            try {
                Thread.interrupted();   // a close() interrupt must not fail the write in progress
                records.append(batch, AuditChain::hash);
                finished(batch.size());
                batch.clear();
                backoff = 50;
            } catch (StoreException e) {
                if (abandoned) return;
                // Kept, and retried first: the log's order is the order of record().
                log.error("audit log: cannot append {} event(s) ({}); retrying in {}ms", batch.size(), e.getMessage(), backoff);
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException closingNow) {
                    // close() is waiting; keep trying within its grace period
                }
                backoff = Math.min(backoff * 2, 5_000);
            }
        }
    }

    private void writeNow(List<AuditRow> rows) {
        try {
            records.append(rows, AuditChain::hash);
        } catch (StoreException e) {
            log.error("audit log: cannot append an event during shutdown ({}); it is lost", e.getMessage());
        }
        finished(rows.size());
    }

    private void finished(int n) {
        lock.lock();
        try {
            done += n;
            progress.signalAll();
        } finally {
            lock.unlock();
        }
    }

    // ---- cleaning ---------------------------------------------------------------------------------------------------

    /** The event as a row to append: times to the millisecond, text cleaned and capped (see {@link AuditChain}). */
    static AuditRow draft(AuditEvent e) {
        return new AuditRow(0, e.time().truncatedTo(ChronoUnit.MILLIS), clean(e.principal(), MAX_FIELD),
                clean(e.agent(), MAX_FIELD), clean(e.session(), MAX_FIELD), clean(e.layer(), MAX_FIELD),
                clean(e.action(), MAX_FIELD), clean(e.target(), MAX_LONG_FIELD), clean(e.outcome(), MAX_FIELD),
                clean(e.rule(), MAX_FIELD), clean(e.reason(), MAX_LONG_FIELD), null, null);
    }

    /**
     * Replaces NUL and unpaired surrogates with U+FFFD (PostgreSQL cannot store the first, and JDBC would turn the
     * second into '?', so the stored text would no longer hash as written), then cuts at {@code max} UTF-16 units
     * without splitting a pair, marking the cut.
     */
    static String clean(String s, int max) {
        if (s == null) return null;
        StringBuilder b = null;
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            boolean bad = c == 0
                    || (Character.isHighSurrogate(c) && (i + 1 >= n || !Character.isLowSurrogate(s.charAt(i + 1))))
                    || (Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1))));
            if (bad && b == null) b = new StringBuilder(s.length()).append(s, 0, i);
            if (b != null) b.append(bad ? '\uFFFD' : c);
        }
        String out = b == null ? s : b.toString();
        if (out.length() <= max) return out;
        int cut = max - 16;
        if (Character.isLowSurrogate(out.charAt(cut))) cut--;
        return out.substring(0, cut) + "...[" + (out.length() - cut) + " more]";
    }
}
