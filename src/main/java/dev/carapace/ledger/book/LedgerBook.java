package dev.carapace.ledger.book;

import dev.carapace.store.LedgerTables.Acknowledgements;
import dev.carapace.store.LedgerTables.BudgetRow;
import dev.carapace.store.LedgerTables.Charge;
import dev.carapace.store.LedgerTables.OpenReservation;
import dev.carapace.store.LedgerTables.PriceRow;
import dev.carapace.store.LedgerTables.Progress;
import dev.carapace.store.LedgerTables.Reservation;
import dev.carapace.store.LedgerTables.SpendRow;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.LedgerTables.WindowRow;
import dev.carapace.store.LedgerTables;
import dev.carapace.store.Reservations;
import dev.carapace.store.Store;
import dev.carapace.store.UsageLog.UsageRecord;

import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * The ledger's book: budgets, their windows, reservations, alerts sent, prices and spend, as the rest of the ledger
 * sees them. Each question goes where its answer lives: whether a reservation fits, and a window's figures while a
 * process keeps them, to this store's one {@link Reservations} decider ({@link MemoryReservations} for a SQLite
 * file this process owns, the database otherwise); everything else to the store's {@link LedgerTables}, whose SQL
 * stays in the store. A change that moves windows (a budget's new period, a new budget's first window) runs inside
 * the decider's resync, so a view kept in memory reads the tables again after it.
 *
 * <p>Cheap to make: {@link #of} hands every caller on one store the same decider.
 */
public final class LedgerBook {

    private final LedgerTables tables;
    private final Reservations reservations;

    private LedgerBook(LedgerTables tables, Reservations reservations) {
        this.tables = tables;
        this.reservations = reservations;
    }

    /** The book of {@code store}: its tables, and its decider, made in memory when the store owns a journal. */
    public static LedgerBook of(Store store) {
        LedgerTables tables = store.ledgerTables();
        return new LedgerBook(tables, store.reservations(journal -> new MemoryReservations(tables, journal)));
    }

    // ---- budgets ----

    /** Creates or replaces a budget; its windows (what was spent) are kept. */
    public void putBudget(BudgetRow b) { tables.putBudget(b); }

    /**
     * Replaces a budget whose period or time zone changed, moving the holds on its window from {@code fromStart} to
     * {@code toStart} ({@link LedgerTables#putBudget(BudgetRow, long, long)}), with every call in flight folded in
     * first and the decider's view read again after.
     */
    public void putBudget(BudgetRow b, long fromStart, long toStart) {
        reservations.resync(() -> tables.putBudget(b, fromStart, toStart));
    }

    /**
     * Runs {@code change} with every decision so far folded into the tables and none made meanwhile, then has a
     * decider that keeps windows in memory read them, and the open reservations, again: for budget edits that the
     * windows and the calls in flight must see at once (another process may have moved windows too).
     */
    public void resync(Runnable change) { reservations.resync(change); }

    /** Moves the holds on a budget's window to its new start ({@link LedgerTables#moveHolds}); inside {@link #resync}. */
    public void moveHolds(String budgetId, long fromStart, long toStart, boolean spentToo) {
        tables.moveHolds(budgetId, fromStart, toStart, spentToo);
    }

    public boolean deleteBudget(String id) { return tables.deleteBudget(id); }

    public List<BudgetRow> budgets() { return tables.budgets(); }

    public Optional<BudgetRow> budget(String id) { return tables.budget(id); }

    /**
     * Sets a budget's current window to what its subject spent in it ({@link LedgerTables#seedWindow}): a new budget's,
     * or a moved one's. Inside {@link #resync}, so that every call recorded so far is folded in first, none ends
     * meanwhile, and the decider's view is read again after.
     */
    public void seedWindow(String budgetId, String scope, String subject, long windowStart, Set<String> exempt,
                           Set<String> capped) {
        tables.seedWindow(budgetId, scope, subject, windowStart, exempt, capped);
    }

    // ---- budget changes: how a running gateway learns of another process's edit at once ----

    /** @see LedgerTables#budgetChanges */
    public long budgetChanges() { return tables.budgetChanges(); }

    /** @see LedgerTables#acknowledgeBudgets */
    public void acknowledgeBudgets(String gateway, long seq, Instant at) { tables.acknowledgeBudgets(gateway, seq, at); }

    /** @see LedgerTables#forgetAcknowledgement */
    public void forgetAcknowledgement(String gateway) { tables.forgetAcknowledgement(gateway); }

    /** @see LedgerTables#acknowledgements */
    public Acknowledgements acknowledgements(long seq, Instant since) { return tables.acknowledgements(seq, since); }

    // ---- windows ----

    /** A budget's windows, newest first, once every decision so far is in the tables. */
    public List<WindowRow> windows(String budgetId) { return tables.windows(budgetId); }

    /** A window as the decider knows it, or else as the tables hold it once every decision so far is in them. */
    public Optional<WindowRow> window(WindowKey k) {
        Optional<WindowRow> known = reservations.window(k);
        if (known.isPresent()) return known;
        return tables.window(k);
    }

    // ---- reservations ----

    /**
     * Holds {@code r.nanos()} and {@code r.tokens()} on every charged window, or on none. Durable when it returns.
     *
     * @return the window whose limit refused, or empty when the reservation is in place
     */
    public Optional<WindowKey> reserve(Reservation r, String owner, List<Charge> charges) {
        return reservations.reserve(r, owner, charges);
    }

    /**
     * Replaces the reservation by the real charge: its held amounts leave {@code reserved}, {@code nanos} and
     * {@code tokens} join {@code spent}, and {@code record} is written — all at once and durably, so a charge is
     * never lost or counted twice.
     *
     * @return the windows after the charge, or empty if the reservation was not open (already settled)
     */
    public List<WindowRow> settle(String reservationId, long nanos, long tokens, UsageRecord record) {
        return settle(reservationId, nanos, tokens, record, null, () -> true);
    }

    /**
     * As {@link #settle(String, long, long, UsageRecord)}, the charge counting on {@code chargedOn} rather than the
     * windows the reservation holds, which it leaves all the same, unless the budgets changed since {@code chargedOn}
     * was worked out: then nothing is done and the answer is null ({@link Reservations#settle}).
     */
    public List<WindowRow> settle(String reservationId, long nanos, long tokens, UsageRecord record,
                                  List<WindowKey> chargedOn, BooleanSupplier unchanged) {
        return reservations.settle(reservationId, "settled", nanos, tokens, record, chargedOn, unchanged);
    }

    /** Settles an orphaned reservation at its estimate and writes its record (flagged estimated). */
    public List<WindowRow> reconcile(Reservation r, UsageRecord record) {
        return reconcile(r, r.nanos(), r.tokens(), record);
    }

    /** Settles an orphaned reservation at {@code nanos} and {@code tokens} (its progress) and writes its record. */
    public List<WindowRow> reconcile(Reservation r, long nanos, long tokens, UsageRecord record) {
        return reservations.settle(r.id(), "reconciled", nanos, tokens, record, null, () -> true);
    }

    /**
     * Writes the record of a call that held no reservation (no budget on its path). Durable when it returns, as a
     * settlement is: the call's response may complete after this, and a crash must not lose it.
     */
    public void record(UsageRecord record) { reservations.record(record); }

    /**
     * Notes what an open reservation's call has produced so far. Durable when it returns; ignored once the
     * reservation has ended. Meant for bounded intervals of a stream, not per token.
     */
    public void progress(String reservationId, Progress progress) { reservations.progress(reservationId, progress); }

    /** Tells other gateways that {@code owner} is alive and still serving its open reservations. */
    public void heartbeat(String owner, Instant now) { tables.heartbeat(owner, now); }

    /** Every open reservation, oldest first. */
    public List<OpenReservation> openReservations() { return tables.openReservations(); }

    // ---- alerts, prices, reports ----

    /** @see LedgerTables#markAlert */
    public boolean markAlert(String budgetId, long windowStart, int threshold, Instant at) {
        return tables.markAlert(budgetId, windowStart, threshold, at);
    }

    /** @see LedgerTables#putPrice */
    public boolean putPrice(PriceRow p) { return tables.putPrice(p); }

    /** @see LedgerTables#prices */
    public List<PriceRow> prices() { return tables.prices(); }

    /** @see LedgerTables#spend */
    public List<SpendRow> spend(String by, LocalDate since, LocalDate until, String user) {
        return tables.spend(by, since, until, user);
    }
}
