package dev.carapace.store;

import dev.carapace.store.LedgerBook.Reservation;
import dev.carapace.store.LedgerBook.WindowKey;
import dev.carapace.store.UsageLog.UsageRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * The ledger's journal for a SQLite file: an append-only file next to the database ({@code <file>-ledger}) that
 * makes budget decisions durable, and the connection that folds them into the tables.
 *
 * <p>Why a file: a budgeted call must be durable twice, its reservation before the upstream call, its charge and
 * spend record before the response; a call under no budget once, its record before the response (issue 13: written
 * in the background, such records were lost to a {@code kill -9}); a budgeted stream also notes its progress every
 * few hundred ms, so a crash charges what it streamed. Written into the tables, that was two transactions over five tables. Even one
 * row in a SQLite table per decision is a commit of six lock calls and two writes, 15 µs in a loop and 40–50 µs for
 * a thread that was just waiting on the network. One {@code write} here is 2–7 µs. It is durable the same way: it
 * survives the process being killed, and neither is synced to disk at once (WAL with {@code synchronous=NORMAL}).
 * Each entry carries its length and CRC-32C, so a tail torn by a power loss fails its check and ends the replay; a
 * write that fails (disk full) is cut back off the file, so nothing ever follows a torn entry. The file is emptied
 * only once everything it holds is folded and a complete checkpoint has synced the database to disk.
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
 * a few milliseconds after it is made.
 */
final class Journal implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Journal.class);
    /** How long entries gather before a fold: one wakeup of the folder per this many ms, however busy. */
    static final long GATHER_MILLIS = 10;
    /** Entries per fold transaction. */
    static final int BATCH = 256;
    /** How often the background writers copy the WAL into the database file. */
    static final long CHECKPOINT_MILLIS = 250;
    /** Past this many unfolded entries (some MB of memory), an append folds first: the folder is behind or failing. */
    static final long MAX_UNFOLDED = 16_384;
    /** Once everything in it is folded, the file is emptied when it has grown past this. */
    static final long TRUNCATE_BYTES = 1 << 20;

    /**
     * One entry: a reservation made ({@code reserve}: {@code nanos} and {@code tokens} are held on {@code windows};
     * {@code record} is its context, the estimate), one ended ({@code settled} or {@code reconciled}: they are
     * charged, and {@code record} is the call's usage record), a call under no budget ({@code record}: only its usage
     * record), or an open reservation's progress ({@code progress}: what its stream has produced so far, an estimate
     * of {@code nanos}, and in {@code record} only the input and output tokens, which a crash charges instead of the
     * whole reservation).
     *
     * @param at a reservation's creation time; the record's own time otherwise
     */
    record Entry(String kind, String reservationId, String owner, String windows, long nanos, long tokens, Instant at,
                 UsageRecord record) {

        static Entry reserve(Reservation r, String owner) {
            return new Entry("reserve", r.id(), owner, WindowKey.encode(r.windows()), r.nanos(), r.tokens(), r.createdAt(), r.context());
        }

        static Entry end(String state, String reservationId, long nanos, long tokens, UsageRecord record) {
            return new Entry(state, reservationId, null, null, nanos, tokens, record.at(), record);
        }

        static Entry record(UsageRecord record) {
            return new Entry("record", null, null, null, record.costNanos(), 0, record.at(), record);
        }

        static Entry progress(String reservationId, LedgerBook.Progress p) {
            return new Entry("progress", reservationId, null, null, p.nanos(), p.inputTokens() + p.outputTokens(), Instant.EPOCH,
                    new UsageRecord("", Instant.EPOCH, null, null, null, null, null, null, null, null, p.inputTokens(), 0, 0,
                            p.outputTokens(), 0, true, true, 0, null, 0, null));
        }

        boolean ends() { return kind.equals("settled") || kind.equals("reconciled"); }
    }

    private record Stored(long seq, Entry entry) {}

    // ---- the file: appends under appendLock ----
    private final FileChannel file;
    private final FileLock owner;
    private final ReentrantLock appendLock = new ReentrantLock();
    private long fileBytes;
    /** Set when a failed write could not be undone: no entry may follow it. */
    private StoreException broken;
    /** Appended, not yet folded, in seq order. */
    private final ConcurrentLinkedQueue<Stored> pending = new ConcurrentLinkedQueue<>();
    private volatile long appendedSeq, foldedSeq;

    // ---- the tables: folds under the store's write lock ----
    private final DataSource sqlite;
    private final Connection connection;
    private final ReentrantLock writeLock;
    private final PreparedStatement begin, commit, rollback, markFolded;
    private final PreparedStatement insertReservation, claim, addToWindow, insertRecord, insertRecordOnce, rollup, progress;
    /** Checkpoints the WAL for the background writers; opened on first use, guarded by itself. */
    private Connection checkpointer;
    private volatile long lastCheckpoint = System.nanoTime();
    /** Entries up to this seq are folded into tables that a complete checkpoint has put on disk. */
    private volatile long syncedSeq;

    private final AtomicBoolean folderIdle = new AtomicBoolean();
    private volatile Thread folder;
    private volatile boolean closed;

    private Journal(FileChannel file, FileLock owner, DataSource sqlite, Connection connection, ReentrantLock writeLock)
            throws SQLException {
        this.file = file;
        this.owner = owner;
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
        insertReservation = connection.prepareStatement(SqlReservations.INSERT_RESERVATION + " ON CONFLICT (id) DO NOTHING");
        claim = connection.prepareStatement(SqlReservations.CLAIM);
        addToWindow = connection.prepareStatement("""
                INSERT INTO budget_windows (budget_id, window_start, tier, spent_nanos, reserved_nanos, spent_tokens, reserved_tokens)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (budget_id, window_start, tier) DO UPDATE SET spent_nanos = spent_nanos + excluded.spent_nanos,
                    reserved_nanos = reserved_nanos + excluded.reserved_nanos, spent_tokens = spent_tokens + excluded.spent_tokens,
                    reserved_tokens = reserved_tokens + excluded.reserved_tokens""");
        insertRecord = connection.prepareStatement(UsageLog.INSERT);
        insertRecordOnce = connection.prepareStatement(UsageLog.INSERT + " ON CONFLICT (request_id) DO NOTHING");
        rollup = connection.prepareStatement(UsageLog.ROLLUP);
        progress = connection.prepareStatement(SqlReservations.PROGRESS);
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
        FileChannel file = null;
        Connection c = null;
        try {
            file = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = file.tryLock();
            } catch (OverlappingFileLockException sameProcess) {
                lock = null;
            }
            if (lock == null) {
                file.close();
                return null;
            }
            c = sqlite.getConnection();
            Journal j = new Journal(file, lock, sqlite, c, writeLock);
            j.replay();
            return j;
        } catch (IOException | SQLException | RuntimeException e) {
            try {
                if (c != null) c.close();
                if (file != null) file.close();
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
        ByteBuffer all = ByteBuffer.allocate(Math.toIntExact(file.size()));
        while (all.hasRemaining() && file.read(all, all.position()) > 0) {
            // read to the end
        }
        all.flip();
        long last = folded;
        int torn = 0;
        long validEnd = 0;
        while (all.remaining() >= 8) {
            int length = all.getInt();
            int crc = all.getInt();
            if (length < 0 || length > all.remaining()) {
                torn = all.remaining() + 8;
                break;
            }
            byte[] payload = new byte[length];
            all.get(payload);
            CRC32C check = new CRC32C();
            check.update(payload);
            if ((int) check.getValue() != crc) {
                torn = all.remaining() + length + 8;
                break;
            }
            ByteBuffer p = ByteBuffer.wrap(payload);
            long seq = p.getLong();
            last = Math.max(last, seq);
            if (seq > folded) pending.add(new Stored(seq, decode(p)));
            validEnd = all.position();
        }
        if (torn > 0) log.warn("the ledger journal ends with {} bytes that fail their check (a write torn by a crash); ignored", torn);
        if (!pending.isEmpty()) log.warn("folding {} ledger journal entries left by a gateway that stopped", pending.size());
        appendedSeq = last;
        foldedSeq = pending.isEmpty() ? last : folded;
        foldAll();
        // Emptied only once what it held is on disk in the database; else only a torn tail is cut off, since an
        // entry appended after one that fails its check would never be replayed.
        fileBytes = checkpoint() ? 0 : validEnd;
        file.truncate(fileBytes);
        file.position(fileBytes);
    }

    /**
     * Makes {@code e} durable: when this returns, it is in the file. Callers append in the order of their decisions
     * (under their own lock), which is the order of the fold.
     */
    void append(Entry e) {
        // Backpressure, before anything is written: a folder that fails or falls far behind makes the caller fold
        // (or fail) here, so a failure never comes after an entry is in the file, where the caller's decision and
        // the journal would part ways.
        if (appendedSeq - foldedSeq > MAX_UNFOLDED) foldAll();
        // Encoded before the lock, which then only numbers, checksums and writes it: callers wait for each other only
        // that long.
        ByteBuffer b = encode(e);
        appendLock.lock();
        try {
            checkOpen("journal " + e.kind());
            if (broken != null) throw broken;
            long seq = appendedSeq + 1;
            b.putLong(FRAME_HEAD, seq);
            CRC32C crc = new CRC32C();
            crc.update(b.array(), FRAME_HEAD, b.limit() - FRAME_HEAD);
            b.putInt(4, (int) crc.getValue());
            try {
                while (b.hasRemaining()) file.write(b);
            } catch (IOException ex) {
                cutBack(ex);
                throw ex;
            }
            fileBytes += b.limit();
            pending.add(new Stored(seq, e));
            appendedSeq = seq;
        } catch (IOException ex) {
            throw new StoreException(StoreException.Reason.UNAVAILABLE, "journal " + e.kind() + " failed: " + ex.getClass().getSimpleName(), ex);
        } finally {
            appendLock.unlock();
        }
        Thread f = folder;
        if (f == null) startFolder();
        else if (folderIdle.get() && folderIdle.compareAndSet(true, false)) LockSupport.unpark(f);   // only an idle folder is woken
    }

    /**
     * After a failed write (disk full), removes whatever part of the entry reached the file: replay stops at the
     * first entry that fails its check, so a torn entry followed by good ones would lose the good ones. If even that
     * fails, the journal takes no more entries (calls under a budget fail) rather than write after garbage.
     */
    private void cutBack(IOException cause) {
        try {
            file.truncate(fileBytes);
            file.position(fileBytes);
        } catch (IOException ex) {
            broken = new StoreException(StoreException.Reason.UNAVAILABLE,
                    "the ledger journal cannot be written (" + cause.getClass().getSimpleName() + "); restart the gateway", cause);
            log.error("the ledger journal could not be cut back after a failed write; it takes no more entries", ex);
        }
    }

    /** Writes usage records and their rollups in one transaction, all or none (calls without a budget). */
    void insertRecords(List<UsageRecord> records) {
        writeLock.lock();
        try {
            checkOpen("insert usage records");
            inTransaction("insert usage records", () -> insert(records, insertRecord));
        } finally {
            writeLock.unlock();
        }
        maybeCheckpoint();
    }

    /** Folds what was appended so far, if anything: a read after this sees every decision made before it. */
    void catchUp() {
        if (appendedSeq != foldedSeq) foldAll();
    }

    /** Folds everything appended so far. */
    void foldAll() {
        while (foldBatch() > 0) {
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
                fold(batch);
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

    private void fold(List<Stored> batch) throws SQLException {
        // A call usually reserves and settles within one batch: its reservation is then written once, ended.
        Set<String> reserved = new HashSet<>();
        Map<String, Entry> endOf = new HashMap<>();
        for (Stored s : batch) {
            Entry e = s.entry();
            if (e.kind().equals("reserve")) reserved.add(e.reservationId());
            else if (e.ends() && reserved.contains(e.reservationId())) endOf.putIfAbsent(e.reservationId(), e);
        }
        List<UsageRecord> records = new ArrayList<>();
        for (Stored s : batch) {
            Entry e = s.entry();
            switch (e.kind()) {
                case "reserve" -> {
                    Entry end = endOf.get(e.reservationId());
                    if (reserveEnded(e, end)) {
                        if (end != null) records.add(end.record());
                    } else {
                        endOf.remove(e.reservationId());   // not made here after all: its settlement applies on its own
                    }
                }
                case "record" -> records.add(e.record());
                case "progress" -> progress(e);
                default -> {
                    if (endOf.get(e.reservationId()) != e && end(e)) records.add(e.record());
                }
            }
        }
        // A request id already stored keeps its record: one bad entry must not wedge the journal.
        insert(records, insertRecordOnce);
    }

    /** A stream's progress, on its reservation if still open (an ended one has its real charge). */
    private void progress(Entry e) throws SQLException {
        progress.setLong(1, e.nanos());
        progress.setLong(2, e.record().inputTokens());
        progress.setLong(3, e.record().outputTokens());
        progress.setString(4, e.reservationId());
        progress.executeUpdate();
    }

    /**
     * A reservation: its row, open, and its amounts held on its windows; or, when {@code end} (its settlement in
     * the same batch) is given, its row already ended and only the charge added. False if it was folded before.
     */
    private boolean reserveEnded(Entry e, Entry end) throws SQLException {
        Reservation r = new Reservation(e.reservationId(), e.at(), e.nanos(), e.tokens(), WindowKey.decode(e.windows()), e.record());
        SqlReservations.bindReservation(insertReservation, r, e.owner(), end == null ? "open" : end.kind());
        if (insertReservation.executeUpdate() == 0) return false;   // hold nothing twice
        for (WindowKey k : r.windows()) {
            if (end == null) addToWindow(k, 0, e.nanos(), 0, e.tokens());
            else addToWindow(k, end.nanos(), 0, end.tokens(), 0);
        }
        return true;
    }

    /** A settlement: the held amounts leave reserved, the charge joins spent. False if the reservation was not open. */
    private boolean end(Entry e) throws SQLException {
        long heldNanos, heldTokens;
        String windows;
        claim.setString(1, e.kind());
        claim.setString(2, e.reservationId());
        try (ResultSet rs = claim.executeQuery()) {
            if (!rs.next()) return false;
            heldNanos = rs.getLong(1);
            heldTokens = rs.getLong(2);
            windows = rs.getString(3);
        }
        // The windows come from the reservation's row: a budget's new period may have moved them since.
        for (WindowKey k : WindowKey.decode(windows)) addToWindow(k, e.nanos(), -heldNanos, e.tokens(), -heldTokens);
        return true;
    }

    private void addToWindow(WindowKey k, long spentNanos, long reservedNanos, long spentTokens, long reservedTokens)
            throws SQLException {
        addToWindow.setString(1, k.budgetId());
        addToWindow.setLong(2, k.windowStart());
        addToWindow.setString(3, k.tier());
        addToWindow.setLong(4, spentNanos);
        addToWindow.setLong(5, reservedNanos);
        addToWindow.setLong(6, spentTokens);
        addToWindow.setLong(7, reservedTokens);
        addToWindow.executeUpdate();
    }

    private void insert(List<UsageRecord> records, PreparedStatement insert) throws SQLException {
        List<UsageRecord> inserted = new ArrayList<>(records.size());
        for (UsageRecord r : records) {
            UsageLog.bind(insert, 1, r);
            if (insert.executeUpdate() == 1) inserted.add(r);
        }
        for (var s : UsageLog.rollups(inserted).entrySet()) {
            UsageLog.bindRollup(rollup, s.getKey(), s.getValue());
            rollup.executeUpdate();
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

    // ---- the entry format: seq, then the fields in order; strings as UTF-8 with their length (-1: null) ----

    /** An entry's frame: its payload's length and CRC-32C (of the payload), then the payload, which starts with the seq. */
    private static final int FRAME_HEAD = 8;

    /**
     * The frame of {@code e}, with room for its seq and checksum, which {@link #append} fills in: length, CRC, seq,
     * kind, reservation id, owner, windows, nanos, tokens, time, then the usage record's fields (only its tokens for
     * {@code progress}, which every stream writes every few hundred ms). Strings are a length (-1 for null) and UTF-8.
     */
    private static ByteBuffer encode(Entry e) {
        UsageRecord r = e.record();
        boolean progress = e.kind().equals("progress");
        byte[][] strings = progress
                ? new byte[][] {utf8(e.kind()), utf8(e.reservationId()), utf8(e.owner()), utf8(e.windows())}
                : new byte[][] {utf8(e.kind()), utf8(e.reservationId()), utf8(e.owner()), utf8(e.windows()),
                        utf8(r.requestId()), utf8(r.org()), utf8(r.team()), utf8(r.user()), utf8(r.keyPrefix()),
                        utf8(r.api()), utf8(r.model()), utf8(r.tier()), utf8(r.deployment()), utf8(r.errorCode()),
                        utf8(r.agent()), utf8(r.privacyDecision()), utf8(r.privacyClasses())};
        int size = FRAME_HEAD + 8 + 3 * 8 + (progress ? 2 * 8 : 8 * 8 + 4 + 2 + 8);
        for (byte[] b : strings) size += 4 + (b == null ? 0 : b.length);
        ByteBuffer out = ByteBuffer.allocate(size);
        out.putInt(size - FRAME_HEAD).putInt(0).putLong(0);   // CRC and seq: filled in under the lock
        for (int i = 0; i < 4; i++) putString(out, strings[i]);
        out.putLong(e.nanos()).putLong(e.tokens()).putLong(e.at().toEpochMilli());
        if (progress) return out.putLong(r.inputTokens()).putLong(r.outputTokens()).flip();
        for (int i = 4; i < strings.length; i++) putString(out, strings[i]);
        out.putLong(r.inputTokens()).putLong(r.cachedInputTokens()).putLong(r.cacheWriteTokens()).putLong(r.outputTokens())
                .putLong(r.reasoningTokens()).putLong(r.latencyMicros()).putLong(r.ttftMicros() == null ? -1 : r.ttftMicros())
                .putLong(r.costNanos());
        out.putInt(r.status()).put((byte) (r.estimated() ? 1 : 0)).put((byte) (r.stream() ? 1 : 0)).putLong(r.disputedNanos());
        return out.flip();
    }

    private static byte[] utf8(String s) { return s == null ? null : s.getBytes(StandardCharsets.UTF_8); }

    private static void putString(ByteBuffer out, byte[] b) {
        if (b == null) {
            out.putInt(-1);
        } else {
            out.putInt(b.length).put(b);
        }
    }

    /** Reads what {@link #encode} wrote, after the seq. */
    private static Entry decode(ByteBuffer p) {
        String kind = readString(p), reservationId = readString(p), owner = readString(p), windows = readString(p);
        long nanos = p.getLong(), tokens = p.getLong();
        Instant at = Instant.ofEpochMilli(p.getLong());
        if (kind.equals("progress")) {
            return Entry.progress(reservationId, new LedgerBook.Progress(nanos, p.getLong(), p.getLong()));
        }
        String[] s = new String[13];
        for (int i = 0; i < s.length; i++) s[i] = readString(p);
        long[] n = new long[8];
        for (int i = 0; i < n.length; i++) n[i] = p.getLong();
        int status = p.getInt();
        boolean estimated = p.get() != 0, stream = p.get() != 0;
        long disputed = p.remaining() >= 8 ? p.getLong() : 0;   // entries written before the field have none
        UsageRecord record = new UsageRecord(s[0], at, s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], n[0], n[1], n[2], n[3],
                n[4], estimated, stream, status, s[9], n[5], n[6] < 0 ? null : n[6], s[10], n[7], s[11], s[12], disputed);
        return new Entry(kind, reservationId, owner, windows, nanos, tokens, at, record);
    }

    private static String readString(ByteBuffer p) {
        int length = p.getInt();
        if (length < 0) return null;
        String s = new String(p.array(), p.arrayOffset() + p.position(), length, StandardCharsets.UTF_8);
        p.position(p.position() + length);
        return s;
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
                truncateIfSynced();
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
     * append can come in meanwhile). Until the checkpoint, a power loss could take the folded transactions from the
     * WAL ({@code synchronous=NORMAL}), and the entries must still be there to fold them again.
     */
    private void truncateIfSynced() {
        appendLock.lock();
        try {
            if (closed || fileBytes < TRUNCATE_BYTES || syncedSeq < appendedSeq) return;
            file.truncate(0);
            file.position(0);
            fileBytes = 0;
        } catch (IOException e) {
            log.warn("emptying the ledger journal failed; it keeps growing until the next try", e);
        } finally {
            appendLock.unlock();
        }
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
            owner.release();
            file.close();
        } catch (IOException e) {
            log.warn("closing the ledger journal failed", e);
        }
    }
}
