package dev.carapace.ledger.book;


import dev.carapace.store.Journal;
import dev.carapace.store.JournalEntry;
import dev.carapace.store.LedgerTables.Charge;
import dev.carapace.store.LedgerTables.OpenReservation;
import dev.carapace.store.LedgerTables.Progress;
import dev.carapace.store.LedgerTables.Reservation;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.LedgerTables.WindowRow;
import dev.carapace.store.LedgerTables;
import dev.carapace.store.Reservations;
import dev.carapace.store.UsageLog.UsageRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;

/**
 * Budget windows decided in memory, for a store that one gateway owns: a SQLite file ({@code server.SoleWriter}
 * refuses a second gateway on it; the CLI only edits budgets, and when such an edit moves windows to a new period,
 * the gateway's budget refresh has them read again). Nothing else changes what a window holds, so
 * this process keeps every window's figures as the authority: a reservation is checked and held under one lock
 * without reading anything, and made durable by appending it to the {@link Journal} under the same lock, so memory
 * and journal always agree, in the same order, and the tables agree with both once the journal is folded.
 *
 * <p>A window is read from its table the first time it is needed, and that read is exact: every decision loads its
 * windows before its entry is appended, so no entry waiting in the journal, or being folded meanwhile, can touch a
 * window that is not in memory yet; and {@link #resync} folds the journal before it forgets anything.
 *
 * <p>These are the ledger's concurrency rules, so they live in the ledger. The journal they append to, its file
 * and its fold into the tables are the SQLite store's write path and live in {@code dev.carapace.store}
 * ({@link Journal}), which replays it when it opens, before this class exists.
 */
final class MemoryReservations implements Reservations {

    /** A window's figures; changed only under the lock. */
    private static final class Figures {
        long spentNanos, reservedNanos, spentTokens, reservedTokens;

        WindowRow row(WindowKey k) { return new WindowRow(k, spentNanos, reservedNanos, spentTokens, reservedTokens); }
    }

    /** What an open reservation holds, and on which windows. */
    private record Held(long nanos, long tokens, List<WindowKey> windows) {}

    private final LedgerTables tables;
    private final Journal journal;
    /** Guards the figures and orders the decisions; never held by the fold, so a decision never waits for one. */
    private final ReentrantLock lock = new ReentrantLock();
    /**
     * Shared by the calls under no budget, which end without {@link #lock}; taken whole by {@link #resync}, so that
     * such a call's end is folded before a budget edit, or comes after it and sees it.
     */
    private final ReentrantReadWriteLock unheldEnds = new ReentrantReadWriteLock();
    private final Map<WindowKey, Figures> windows = new HashMap<>();
    private final Map<String, Held> open = new HashMap<>();
    /**
     * This gateway's calls under no budget in flight: journaled as started, holding no window, so neither taken nor
     * ended under the lock (nor forgotten by {@link #resync}, which reloads only what the tables hold).
     */
    private final Set<String> unheld = ConcurrentHashMap.newKeySet();

    /** Starts from the tables, once the journal is folded (the reservations a stopped gateway left count too). */
    MemoryReservations(LedgerTables tables, Journal journal) {
        this.tables = tables;
        this.journal = journal;
        resync(() -> {});
    }

    @Override
    public Optional<WindowKey> reserve(Reservation r, String owner, List<Charge> charges) {
        if (r.windows().isEmpty()) {
            journal.append(JournalEntry.reserve(r, owner));
            unheld.add(r.id());
            return Optional.empty();
        }
        List<Charge> sorted = new ArrayList<>(charges);
        sorted.sort(Comparator.comparing(Charge::window));   // the same refusal as the database would make
        lock.lock();
        try {
            for (Charge c : sorted) {
                Figures f = figures(c.window());
                long ln = c.limitNanos() == null ? UNLIMITED : c.limitNanos();
                long lt = c.limitTokens() == null ? UNLIMITED : c.limitTokens();
                if (f.spentNanos + f.reservedNanos + r.nanos() > ln || f.spentTokens + f.reservedTokens + r.tokens() > lt) {
                    return Optional.of(c.window());
                }
            }
            List<Figures> held = new ArrayList<>(r.windows().size());
            for (WindowKey k : r.windows()) held.add(figures(k));   // loaded before the entry exists (class comment)
            journal.append(JournalEntry.reserve(r, owner));   // durable before the upstream call; if it fails, nothing is held
            for (Figures f : held) {
                f.reservedNanos += r.nanos();
                f.reservedTokens += r.tokens();
            }
            open.put(r.id(), new Held(r.nanos(), r.tokens(), r.windows()));
            return Optional.empty();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public List<WindowRow> settle(String reservationId, String state, long nanos, long tokens, UsageRecord record,
                                  List<WindowKey> chargedOn, BooleanSupplier unchanged) {
        if (chargedOn == null && unheld.contains(reservationId)) {
            unheldEnds.readLock().lock();
            try {
                if (!unchanged.getAsBoolean()) return null;
                if (unheld.remove(reservationId)) {
                    journal.append(JournalEntry.end(state, reservationId, nanos, tokens, record, null));
                    return List.of();
                }
            } finally {
                unheldEnds.readLock().unlock();
            }
        }
        lock.lock();
        try {
            if (!unchanged.getAsBoolean()) return null;
            Held held = unheld.remove(reservationId) ? new Held(0, 0, List.of()) : open.remove(reservationId);
            if (held == null) return List.of();   // settled or reconciled already
            List<WindowKey> charged = chargedOn == null ? held.windows() : chargedOn;
            List<Figures> holding = new ArrayList<>(held.windows().size());
            List<Figures> charging = new ArrayList<>(charged.size());
            for (WindowKey k : held.windows()) holding.add(figures(k));
            for (WindowKey k : charged) charging.add(figures(k));   // every window loaded before the entry exists
            try {
                journal.append(JournalEntry.end(state, reservationId, nanos, tokens, record, chargedOn));
            } catch (RuntimeException e) {
                if (held.windows().isEmpty()) unheld.add(reservationId);   // nothing ended: it is still open
                else open.put(reservationId, held);
                throw e;
            }
            for (Figures f : holding) {
                f.reservedNanos -= held.nanos();
                f.reservedTokens -= held.tokens();
            }
            List<WindowRow> after = new ArrayList<>(charging.size());
            for (int i = 0; i < charging.size(); i++) {
                Figures f = charging.get(i);
                f.spentNanos += nanos;
                f.spentTokens += tokens;
                after.add(f.row(charged.get(i)));
            }
            return after;
        } finally {
            lock.unlock();
        }
    }

    /** Journaled like a settlement, outside the lock: a record moves no window, so its order does not matter. */
    @Override
    public void record(UsageRecord record) { journal.append(JournalEntry.record(record)); }

    /** Outside the lock too: the fold applies it only while the reservation is open, whatever came before. */
    @Override
    public void progress(String reservationId, Progress progress) {
        journal.append(JournalEntry.progress(reservationId, progress));
    }

    @Override
    public Optional<WindowRow> window(WindowKey k) {
        lock.lock();
        try {
            Figures f = windows.get(k);
            return f == null ? Optional.empty() : Optional.of(f.row(k));
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void resync(Runnable change) {
        unheldEnds.writeLock().lock();
        lock.lock();
        try {
            journal.foldAll();
            change.run();
            windows.clear();
            open.clear();
            for (OpenReservation o : tables.openReservationsAsStored()) {
                Reservation r = o.reservation();
                open.put(r.id(), new Held(r.nanos(), r.tokens(), r.windows()));
            }
        } finally {
            lock.unlock();
            unheldEnds.writeLock().unlock();
        }
    }

    private Figures figures(WindowKey k) {
        Figures f = windows.get(k);
        if (f == null) {
            f = new Figures();
            WindowRow row = tables.windowAsStored(k).orElse(null);
            if (row != null) {
                f.spentNanos = row.spentNanos();
                f.reservedNanos = row.reservedNanos();
                f.spentTokens = row.spentTokens();
                f.reservedTokens = row.reservedTokens();
            }
            windows.put(k, f);
        }
        return f;
    }
}
