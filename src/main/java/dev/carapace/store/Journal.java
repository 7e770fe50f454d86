package dev.carapace.store;

import dev.carapace.store.UsageLog.UsageRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The ledger's journal for a SQLite file: an append-only file next to the database ({@code <file>-ledger}) that
 * makes budget decisions durable, and the connection that folds them into the tables. The decisions are made by
 * {@code dev.carapace.ledger.book.MemoryReservations}, which appends each one here under its own lock. This class
 * keeps their order, the folder and the checkpoints; the frames on disk are {@link JournalFile}'s, the entries
 * {@link JournalEntry}'s, and what an entry does to the tables {@link JournalFold}'s. It lives in the store as the SQLite store's write
 * path: replayed when the store opens, before anything reads the tables (the gateway, or a CLI command after a
 * crash), folded with SQL under the store's write lock, and folded before every read of the store.
 *
 * <p>Why a file: a call must be durable twice, its reservation before the upstream call (under no budget one that
 * holds no window, so a crash still leaves it a record), its charge and spend record before the response (issue 13:
 * written in the background, such records were lost to a {@code kill -9}); a stream also notes its progress as it
 * goes, so a crash charges what it streamed. Written into the tables, that was two transactions over five tables. Even one
 * row in a SQLite table per decision is a commit of six lock calls and two writes, 15 µs in a loop and 40–50 µs for
 * a thread that was just waiting on the network. An append here is a copy into a mapping of the file
 * ({@link JournalFile}). It is durable the same way: it survives the process being killed, and neither is synced to
 * disk at once (WAL with {@code synchronous=NORMAL}).
 * The file is emptied only once everything it holds is folded and a complete checkpoint has synced the database to
 * disk.
 *
 * <p>A background thread folds the entries in order into reservations, budget_windows, usage_records and
 * spend_daily (and the usage records of calls under no budget, and streams' progress), at most every {@value #GATHER_MILLIS} ms, and records the last one folded in {@code ledger_journal}
 * in the same transaction: the next start after a crash folds exactly the entries that were not folded
 * ({@link #open}), so none is lost or counted twice. Appending does not wait for a fold (the fold uses SQLite, the
 * append only the file) unless the folder falls {@value #MAX_UNFOLDED} entries behind; then the append folds
 * before it writes, so a failing fold fails the call before its decision is in the file, never after. Every statement is prepared once on the fold's own connection, which never checkpoints the WAL itself (SQLite
 * does that inside whichever commit passes 1,000 pages); the background writers checkpoint on another connection.
 *
 * <p>One process owns the journal: the first to open the store locks the file. Any other ({@code carapace budget}
 * while a gateway serves) gets no journal from {@link #open} and reads the tables, which have every decision
 * at most some 200 ms after it is made.
 */
public final class Journal implements AutoCloseable {

    static final Logger log = LoggerFactory.getLogger(Journal.class);
    /**
     * How long entries gather before a fold: one wakeup of the folder per this many ms, however busy. A fold's commit
     * costs about as much as a few dozen row inserts (this machine: 120 records a commit cost 2.3 µs each for the
     * commit, 600 cost 1.4 µs), so a busy gateway folds in large batches; nothing in this process waits for it (a
     * read folds first), and another process sees the tables this much behind at most. Longer batches also mean
     * fewer calls in flight across a batch's end: such a call's reservation is written as a row and then claimed,
     * where one begun and ended in a batch is written once, as its record. Under {@code wrk -c64} about one call in
     * eight spanned 50 ms batches; 200 ms batches of up to 4,096 took some 6 µs of CPU off each call (BENCHMARKS.md,
     * session 18).
     */
    static final long GATHER_MILLIS = 200;
    /** Entries per fold transaction: room for a busy gateway's {@link #GATHER_MILLIS} of calls (two entries each). */
    static final int BATCH = 4096;
    /** How often the background writers copy the WAL into the database file. */
    static final long CHECKPOINT_MILLIS = 250;
    /** Past this many unfolded entries (some MB of memory), an append folds first: the folder is behind or failing. */
    static final long MAX_UNFOLDED = 16_384;
    /** Once everything in it is folded, the file is emptied when it has grown past this. */
    static final long TRUNCATE_BYTES = 1 << 20;
    /**
     * Past this size, the file is rewritten with only the entries not yet synced to disk in the tables: while calls
     * keep coming (or a stream notes its progress) there is never a moment when all of it is, and it grew without
     * end (and a start after a crash read all of it).
     */
    static final long COMPACT_BYTES = 16 << 20;

    /** An entry and its number in the file. */
    record Stored(long seq, JournalEntry entry) {}

    /** An entry on its way into the file; {@code done} and {@code failure} are written and read under the append lock. */
    private static final class Queued {
        final JournalEntry entry;
        final ByteBuffer frame;
        boolean done;
        StoreException failure;

        Queued(JournalEntry entry, ByteBuffer frame) {
            this.entry = entry;
            this.frame = frame;
        }
    }

    // ---- the file: appends under appendLock ----
    private final JournalFile file;
    private final ReentrantLock appendLock = new ReentrantLock();
    /** Encoded frames waiting for {@link #appendLock}; whoever takes it writes them all. */
    private final ConcurrentLinkedQueue<Queued> queued = new ConcurrentLinkedQueue<>();
    /** Appended, not yet folded, in seq order. */
    private final ConcurrentLinkedQueue<Stored> pending = new ConcurrentLinkedQueue<>();
    private volatile long appendedSeq, foldedSeq;

    // ---- the tables: folds under the store's write lock ----
    private final DataSource sqlite;
    private final Connection connection;
    private final ReentrantLock writeLock;
    private final PreparedStatement begin, commit, rollback, markFolded;
    /** What an entry does to the tables, on this connection. */
    private final JournalFold tables;
    /** Checkpoints the WAL for the background writers; opened on first use, guarded by itself. */
    private Connection checkpointer;
    private volatile long lastCheckpoint = System.nanoTime();
    /** Entries up to this seq are folded into tables that a complete checkpoint has put on disk. */
    private volatile long syncedSeq;

    /**
     * A place the file may be cut: every entry before byte {@code offset} has a seq below {@code seq}. Good only
     * while the file is as it was ({@link JournalFile#generation}): a compaction, an emptying or a cut moves its bytes.
     */
    private record Cut(long seq, long offset, long generation) {}

    /**
     * Under {@link #appendLock}: {@code candidate} was taken at the end of the file some time ago; once every entry
     * before it is synced it becomes {@code safe}, from which a compaction keeps the file.
     */
    private Cut candidate, safe;

    private final AtomicBoolean folderIdle = new AtomicBoolean();
    private volatile Thread folder;
    private volatile boolean closed;

    private Journal(JournalFile file, DataSource sqlite, Connection connection, ReentrantLock writeLock)
            throws SQLException {
        this.file = file;
        this.sqlite = sqlite;
        this.connection = connection;
        this.writeLock = writeLock;
        try (var s = connection.createStatement()) {
            s.execute("PRAGMA wal_autocheckpoint = 0");   // see the class comment
        }
        // Transactions are spelled out: the connection stays in auto-commit.
        begin = connection.prepareStatement("BEGIN IMMEDIATE");
        commit = connection.prepareStatement("COMMIT");
        rollback = connection.prepareStatement("ROLLBACK");
        markFolded = connection.prepareStatement("UPDATE ledger_journal SET folded_seq = ?");
        tables = new JournalFold(connection);
    }

    /** The journal of a SQLite database file. */
    static Path pathFor(Path database) { return database.resolveSibling(database.getFileName() + "-ledger"); }

    /**
     * Takes the journal of a migrated SQLite file and folds what it still holds (the entries of a process that was
     * killed), before anything reads the ledger.
     *
     * @return null if another process, or another store in this one, owns it
     */
    static Journal open(Path path, DataSource sqlite, ReentrantLock writeLock) {
        JournalFile file = null;
        Connection c = null;
        try {
            file = JournalFile.open(path);
            if (file == null) return null;
            c = sqlite.getConnection();
            Journal j = new Journal(file, sqlite, c, writeLock);
            j.replay();
            return j;
        } catch (IOException | SQLException | RuntimeException e) {
            try {
                if (c != null) c.close();
                // As it is: closed, it would be cut to what this process read of it, and an open that failed to
                // read or fold it read nothing (a failed start emptied the journal, losing what it held).
                if (file != null) file.abandon();
            } catch (IOException | SQLException ignored) {
                // already failing
            }
            throw e instanceof StoreException se ? se : StoreException.of("open ledger journal " + path.getFileName(), e);
        }
    }

    /** Folds the entries the file holds past the last one folded, then empties it. */
    private void replay() throws IOException, SQLException {
        long folded;
        try (var st = connection.createStatement(); ResultSet rs = st.executeQuery("SELECT folded_seq FROM ledger_journal")) {
            rs.next();
            folded = rs.getLong(1);
        }
        long[] last = {folded};
        JournalFile.Recovered found = file.recover((seq, entry) -> {
            last[0] = Math.max(last[0], seq);
            if (seq > folded) pending.add(new Stored(seq, JournalEntry.decode(entry)));
        });
        long torn = found.tornBytes();
        if (torn > 0) log.warn("the ledger journal ends with {} bytes that fail their check (a write torn by a crash); ignored", torn);
        if (!pending.isEmpty()) log.warn("folding {} ledger journal entries left by a gateway that stopped", pending.size());
        appendedSeq = last[0];
        foldedSeq = pending.isEmpty() ? last[0] : folded;
        foldAll();
        // Emptied only once what it held is on disk in the database; else only a torn tail is cut off, since an
        // entry appended after one that fails its check would never be replayed.
        file.truncate(checkpoint() ? 0 : found.validEnd());
    }

    /**
     * Makes {@code e} durable: when this returns, it is in the file. Callers append in the order of their decisions
     * (under their own lock), which is the order of the fold.
     */
    public void append(JournalEntry e) {
        // Backpressure, before anything is written: a folder that fails or falls far behind makes the caller fold
        // (or fail) here, so a failure never comes after an entry is in the file, where the caller's decision and
        // the journal would part ways.
        if (appendedSeq - foldedSeq > MAX_UNFOLDED) foldAll();
        // Encoded before the lock. Under load, appends from callers that do not share a lock (usage records) queue up
        // behind one write: whoever holds the lock writes every frame queued so far, in queue order, so a caller's
        // frame is in the file when it gets the lock, or by its own write.
        Queued q = new Queued(e, e.encode());
        queued.add(q);
        appendLock.lock();
        try {
            if (!q.done) writeQueued();
        } finally {
            appendLock.unlock();
        }
        if (q.failure != null) throw q.failure;
        Thread f = folder;
        if (f == null) startFolder();
        else if (folderIdle.get() && folderIdle.compareAndSet(true, false)) LockSupport.unpark(f);   // only an idle folder is woken
    }

    /** Numbers and writes every queued frame, in queue order; under {@link #appendLock}. */
    private void writeQueued() {
        List<Queued> batch = new ArrayList<>();
        for (Queued q; (q = queued.poll()) != null; ) batch.add(q);
        try {
            checkOpen("journal " + batch.getFirst().entry.kind());
            ByteBuffer[] frames = new ByteBuffer[batch.size()];
            for (int i = 0; i < frames.length; i++) frames[i] = batch.get(i).frame;
            long first = appendedSeq + 1;
            file.write(frames, first);
            for (int i = 0; i < frames.length; i++) pending.add(new Stored(first + i, batch.get(i).entry));
            appendedSeq = first + frames.length - 1;
        } catch (IOException | RuntimeException ex) {
            // Every frame of the batch fails with the write: none of them is counted as in the file.
            for (Queued q : batch) {
                q.failure = ex instanceof StoreException se ? se : new StoreException(StoreException.Reason.UNAVAILABLE,
                        "journal " + q.entry.kind() + " failed: " + ex.getClass().getSimpleName(), ex);
            }
        } finally {
            for (Queued q : batch) q.done = true;
        }
    }

    /** Writes usage records and their rollups in one transaction, all or none (calls without a budget). */
    void insertRecords(List<UsageRecord> records) {
        writeLock.lock();
        try {
            checkOpen("insert usage records");
            inTransaction("insert usage records", () -> tables.insertRecords(records));
        } finally {
            writeLock.unlock();
        }
        maybeCheckpoint();
    }

    /** Folds what was appended so far, if anything: a read after this sees every decision made before it. */
    void catchUp() {
        if (appendedSeq != foldedSeq) foldAll();
    }

    /**
     * Folds everything appended so far, and not what is appended meanwhile: a folder that kept going until the file
     * was folded to its end would, under load, commit whatever arrived during its last transaction, a few entries
     * each time (under strace, 708 commits for 6,539 calls, nearly one WAL page written per call), where gathering them
     * {@value #GATHER_MILLIS} ms makes about 20 commits a second (31 for 5,044 calls, 0.13 pages per call).
     */
    public void foldAll() {
        long target = appendedSeq;
        while (foldedSeq < target && foldBatch() > 0) {
            // the write lock is let go between batches, so other writers get their turn
        }
    }

    private int foldBatch() {
        writeLock.lock();
        try {
            checkOpen("fold ledger journal");
            List<Stored> batch = new ArrayList<>();
            for (Stored s : pending) {
                batch.add(s);
                if (batch.size() == BATCH) break;
            }
            if (batch.isEmpty()) return 0;
            long last = batch.get(batch.size() - 1).seq();
            inTransaction("fold ledger journal", () -> {
                tables.fold(batch);
                markFolded.setLong(1, last);
                markFolded.executeUpdate();
            });
            for (int i = 0; i < batch.size(); i++) pending.poll();
            foldedSeq = last;
            return batch.size();
        } finally {
            writeLock.unlock();
        }
    }

    private interface Work {
        void run() throws SQLException;
    }

    private void inTransaction(String operation, Work work) {
        try {
            begin.execute();
            try {
                work.run();
                commit.execute();
            } catch (SQLException | RuntimeException e) {
                try {
                    rollback.execute();
                } catch (SQLException ignored) {
                    // the transaction is gone either way
                }
                throw e;
            }
        } catch (SQLException e) {
            throw StoreException.of(operation, e);
        }
    }

    private void checkOpen(String operation) {
        if (closed) throw new StoreException(StoreException.Reason.UNAVAILABLE, operation + " failed: the store is closed", null);
    }

    // ---- the folder ----

    private void startFolder() {
        appendLock.lock();
        try {
            if (folder == null && !closed) folder = Thread.ofPlatform().daemon().name("ledger-journal").start(this::run);
        } finally {
            appendLock.unlock();
        }
    }

    private void run() {
        long backoff = 100;
        while (!closed) {
            if (appendedSeq == foldedSeq) {
                // Idle until an append wakes it. It publishes that first, then looks again: no append is missed.
                folderIdle.set(true);
                if (appendedSeq == foldedSeq && !closed) LockSupport.park(this);
                folderIdle.set(false);
                continue;
            }
            try {
                Thread.sleep(GATHER_MILLIS);   // let entries gather: a busy gateway folds in batches, not entry by entry
                foldAll();
                maybeCheckpoint();
                shrink();
                backoff = 100;
            } catch (InterruptedException e) {
                if (!closed) Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                if (closed) return;
                log.error("folding the ledger journal failed; its entries are kept and retried in {} ms", backoff, e);
                LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(backoff));
                backoff = Math.min(backoff * 2, 10_000);
            }
        }
    }

    /**
     * Empties the file once it has grown and everything in it is folded and synced to disk by a checkpoint (no
     * append can come in meanwhile); past {@link #COMPACT_BYTES}, keeps only what follows the last place before which
     * everything was (about two folds' worth of entries). Until the checkpoint, a power loss could take the folded
     * transactions from the WAL ({@code synchronous=NORMAL}), and the entries must still be there to fold them again.
     */
    private void shrink() {
        JournalFile.Compaction compaction = null;
        appendLock.lock();
        try {
            if (closed) return;
            if (file.bytes() >= TRUNCATE_BYTES && syncedSeq >= appendedSeq) {
                file.truncate(0);
                candidate = safe = null;
                return;
            }
            // A place in a file that has changed since is no place in this one: kept, a compaction cut the new file
            // mid-frame, and its replay stopped there (a full test run caught it).
            if (candidate != null && candidate.generation() != file.generation()) candidate = null;
            if (safe != null && safe.generation() != file.generation()) safe = null;
            if (candidate != null && syncedSeq >= candidate.seq() - 1) {
                safe = candidate;
                candidate = null;
            }
            if (safe != null && file.bytes() >= COMPACT_BYTES) {
                compaction = file.beginCompaction(safe.offset());
                safe = candidate = null;
            } else if (candidate == null) {
                candidate = new Cut(appendedSeq + 1, file.bytes(), file.generation());
            }
        } catch (IOException e) {
            candidate = safe = null;
            log.warn("emptying the ledger journal failed; it keeps growing until the next try", e);
        } finally {
            appendLock.unlock();
        }
        if (compaction != null) compact(compaction);
    }

    /**
     * Copies the file's kept frames and syncs them while calls go on appending, then, under the append lock, what
     * they appended meanwhile, and puts the copy in the file's place.
     */
    private void compact(JournalFile.Compaction compaction) {
        try {
            compaction.copy();
        } catch (IOException e) {
            log.warn("compacting the ledger journal failed; it keeps growing until the next try", e);
            return;
        }
        boolean done = false;
        appendLock.lock();
        try {
            if (closed) {
                compaction.discard();
                return;
            }
            done = file.finishCompaction(compaction);
            candidate = new Cut(appendedSeq + 1, file.bytes(), file.generation());
        } catch (IOException e) {
            candidate = safe = null;
            log.warn("compacting the ledger journal failed; it keeps growing until the next try", e);
        } finally {
            appendLock.unlock();
        }
        if (done) file.syncDirectory();
    }

    /** {@link #checkpoint}, at most every {@value #CHECKPOINT_MILLIS} ms. */
    private void maybeCheckpoint() {
        long now = System.nanoTime();
        if (closed || now - lastCheckpoint < TimeUnit.MILLISECONDS.toNanos(CHECKPOINT_MILLIS)) return;
        lastCheckpoint = now;
        checkpoint();
    }

    /**
     * Copies the WAL into the database file and syncs it, on a connection of its own. Passive: it never waits for,
     * nor blocks, a writer, so it may stop short (a reader holds an old snapshot).
     *
     * @return true if it copied everything: what was folded before it began is then on disk
     */
    private boolean checkpoint() {
        long folded = foldedSeq;
        synchronized (this) {
            try {
                if (checkpointer == null) checkpointer = sqlite.getConnection();
                try (var s = checkpointer.createStatement(); ResultSet rs = s.executeQuery("PRAGMA wal_checkpoint(PASSIVE)")) {
                    // (busy, frames in the WAL, frames copied)
                    boolean complete = rs.next() && rs.getInt(1) == 0 && rs.getInt(2) == rs.getInt(3);
                    if (complete) syncedSeq = Math.max(syncedSeq, folded);
                    return complete;
                }
            } catch (SQLException e) {
                log.warn("checkpointing the WAL failed; the next fold tries again", e);
                return false;
            }
        }
    }

    /** Folds what is left, empties the file, stops the folder and closes. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        Thread f;
        appendLock.lock();
        try {
            if (closed) return;
            try {
                foldAll();
                if (checkpoint()) file.truncate(0);
            } catch (RuntimeException | IOException e) {
                log.error("folding the ledger journal at close failed; the next start folds it", e);
            }
            closed = true;
            f = folder;
        } finally {
            appendLock.unlock();
        }
        if (f != null) {
            f.interrupt();
            try {
                f.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        writeLock.lock();
        try {
            connection.close();
        } catch (SQLException e) {
            log.warn("closing the ledger journal's connection failed", e);
        } finally {
            writeLock.unlock();
        }
        synchronized (this) {
            try {
                if (checkpointer != null) checkpointer.close();
            } catch (SQLException e) {
                log.warn("closing the checkpoint connection failed", e);
            }
        }
        try {
            file.close();
        } catch (IOException e) {
            log.warn("closing the ledger journal failed", e);
        }
    }
}
