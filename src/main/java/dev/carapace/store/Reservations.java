package dev.carapace.store;

import dev.carapace.store.LedgerBook.Charge;
import dev.carapace.store.LedgerBook.Reservation;
import dev.carapace.store.LedgerBook.WindowKey;
import dev.carapace.store.LedgerBook.WindowRow;
import dev.carapace.store.UsageLog.UsageRecord;

import java.util.List;
import java.util.Optional;

/**
 * Who decides what a budget window may still hold: the database, when gateways share it ({@link SqlReservations}),
 * or this process's memory, when it owns a SQLite file alone ({@link MemoryReservations}). Either way each decision
 * is durable when the call returns.
 */
interface Reservations {

    /** @see LedgerBook#reserve */
    Optional<WindowKey> reserve(Reservation r, String owner, List<Charge> charges);

    /**
     * Ends an open reservation: its held amounts leave {@code reserved}, {@code nanos} and {@code tokens} join
     * {@code spent}, and {@code record} is written.
     *
     * @param state {@code settled}, or {@code reconciled} for an orphan charged at its estimate
     * @return the windows after the charge, or empty if the reservation was not open
     */
    List<WindowRow> settle(String reservationId, String state, long nanos, long tokens, UsageRecord record);

    /** @see LedgerBook#record */
    void record(UsageRecord record);

    /** @see LedgerBook#progress */
    void progress(String reservationId, LedgerBook.Progress progress);

    /** The window as this process knows it, when it keeps one; empty means: read the table. */
    Optional<WindowRow> window(WindowKey k);

    /**
     * Runs {@code change}, a write that moves windows or the reservations' keys (a budget's new period), or nothing
     * when another process made such a change, and makes this view agree with the tables again.
     */
    void resync(Runnable change);
}
