package dev.carapace.store;

import dev.carapace.store.LedgerTables.Charge;
import dev.carapace.store.LedgerTables.Progress;
import dev.carapace.store.LedgerTables.Reservation;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.LedgerTables.WindowRow;
import dev.carapace.store.UsageLog.UsageRecord;

import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * Who decides what a budget window may still hold: the database, when gateways share it ({@link SqlReservations}),
 * or this process's memory, when it owns a SQLite file alone ({@code dev.carapace.ledger.book.MemoryReservations},
 * durable through the store's {@link Journal}). Either way each decision is durable when the call returns.
 *
 * <p>Declared here, not in the ledger, because the store's own decider implements it and the store depends on no
 * other package; the ledger implements it too, and {@link Store#reservations} keeps one decider per store.
 */
public interface Reservations {

    /** "No limit": large enough never to bind, small enough that sums cannot overflow. */
    long UNLIMITED = Long.MAX_VALUE / 4;

    /**
     * Holds {@code r.nanos()} and {@code r.tokens()} on every charged window, or on none. Durable when it returns.
     *
     * @return the window whose limit refused, or empty when the reservation is in place
     */
    Optional<WindowKey> reserve(Reservation r, String owner, List<Charge> charges);

    /**
     * Ends an open reservation: its held amounts leave {@code reserved} of its windows, {@code nanos} and
     * {@code tokens} join {@code spent} of {@code chargedOn}, and {@code record} is written.
     *
     * @param state     {@code settled}, or {@code reconciled} for an orphan charged at its estimate
     * @param chargedOn the windows the charge counts on; null for those the reservation holds. Others when the
     *                  budgets changed while its call was in flight: a budget made, deleted, or moved to a new period
     * @param unchanged whether the budgets {@code chargedOn} was worked out from are still those in force; asked in
     *                  the same step as the charge, so no {@link #resync} comes between
     * @return the windows charged, after the charge, or empty if the reservation was not open; null, with nothing
     *         done, when the budgets changed: work {@code chargedOn} out again
     */
    List<WindowRow> settle(String reservationId, String state, long nanos, long tokens, UsageRecord record,
                           List<WindowKey> chargedOn, BooleanSupplier unchanged);

    /** Writes the record of a call that held no reservation. Durable when it returns. */
    void record(UsageRecord record);

    /** Notes what an open reservation's call has produced so far; ignored once it has ended. Durable when it returns. */
    void progress(String reservationId, Progress progress);

    /** The window as this process knows it, when it keeps one; empty means: read the table. */
    Optional<WindowRow> window(WindowKey k);

    /**
     * Runs {@code change}, a write that moves windows or the reservations' keys (a budget's new period), or nothing
     * when another process made such a change, and makes this view agree with the tables again.
     */
    void resync(Runnable change);
}
