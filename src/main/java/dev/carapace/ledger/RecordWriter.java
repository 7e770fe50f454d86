package dev.carapace.ledger;

import dev.carapace.store.StoreException;
import dev.carapace.store.UsageLog;
import dev.carapace.store.UsageLog.UsageRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Writes the records of calls that hold no budget. They are queued and written in batches by one background
 * thread, so the request path pays for a queue offer, not a database write; {@link #flush} and {@link #close} write
 * whatever is queued. A failed batch is retried with backoff rather than dropped. (Calls under a budget are written
 * with their charge, durably, before the response completes.)
 *
 * <p>The thread lets records gather for {@value #GATHER_MILLIS} ms once the first one arrives: at one connection,
 * waking it for every record made each call about 50 µs slower, as the writer competed with the call for the CPUs.
 */
final class RecordWriter implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RecordWriter.class);
    private static final int BATCH = 500;
    static final long GATHER_MILLIS = 10;

    private final UsageLog usageLog;
    private final BlockingQueue<UsageRecord> queue = new LinkedBlockingQueue<>();
    private final AtomicLong queued = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    /** Callers of {@link #flush} waiting: the writer does not let records gather for them. */
    private final AtomicInteger flushing = new AtomicInteger();
    private final Thread writer;
    private volatile boolean closing;

    RecordWriter(UsageLog usageLog) {
        this.usageLog = usageLog;
        this.writer = Thread.ofPlatform().daemon().name("usage-writer").start(this::run);
    }

    void add(UsageRecord record) {
        queue.add(record);
        queued.incrementAndGet();
    }

    /** Waits until every record queued so far is written; false on timeout. For tests and orderly shutdown. */
    public boolean flush(long timeoutMillis) {
        long target = queued.get();
        long deadline = System.currentTimeMillis() + timeoutMillis;
        flushing.incrementAndGet();
        LockSupport.unpark(writer);
        try {
            while (written.get() < target) {
                if (System.currentTimeMillis() > deadline) return false;
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        } finally {
            flushing.decrementAndGet();
        }
    }

    private void run() {
        List<UsageRecord> batch = new ArrayList<>(BATCH);
        long backoff = 100;
        while (!(closing && queue.isEmpty() && batch.isEmpty())) {
            try {
                if (batch.isEmpty()) {
                    UsageRecord first = queue.poll(200, TimeUnit.MILLISECONDS);
                    if (first == null) continue;
                    batch.add(first);
                    if (!closing && flushing.get() == 0) LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(GATHER_MILLIS));
                    queue.drainTo(batch, BATCH - 1);
                }
                insert(batch);
                written.addAndGet(batch.size());
                batch.clear();
                backoff = 100;
            } catch (InterruptedException e) {
                if (closing) continue;
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                log.error("writing {} usage records failed; retrying in {} ms", batch.size(), backoff, e);
                if (closing && backoff > 5_000) {
                    log.error("giving up on {} usage records at shutdown", batch.size());
                    return;
                }
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ie) {
                    if (!closing) return;
                }
                backoff = Math.min(backoff * 2, 10_000);
            }
        }
    }

    /**
     * Writes a batch. A batch that collides with records already stored (a commit whose acknowledgement was lost,
     * then retried) is written record by record, skipping the ones that are already there, so one duplicate can
     * neither block the writer nor cost the other records.
     */
    private void insert(List<UsageRecord> batch) {
        try {
            usageLog.insertBatch(batch);
        } catch (StoreException e) {
            if (e.reason() != StoreException.Reason.DUPLICATE) throw e;
            for (UsageRecord r : batch) {
                try {
                    usageLog.insertBatch(List.of(r));
                } catch (StoreException dup) {
                    if (dup.reason() != StoreException.Reason.DUPLICATE) throw dup;
                    log.warn("usage record {} is already stored; skipped", r.requestId());
                }
            }
        }
    }

    @Override
    public void close() {
        closing = true;
        LockSupport.unpark(writer);
        try {
            writer.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
