/**
 * The ledger's book: one door to the ledger's state ({@link dev.carapace.ledger.book.LedgerBook}), and the
 * in-memory decider of reservations for a SQLite file this process owns ({@code MemoryReservations}).
 *
 * <p>Who decides whether a reservation fits is a {@code dev.carapace.store.Reservations}: the database when gateways
 * share it ({@code store.SqlReservations}), this process's memory when it owns the file alone. A store keeps one
 * decider ({@code Store.reservations}), so every {@code LedgerBook.of(store)} shares it. The decisions are made
 * durable by the store's {@code Journal}, whose file and fold into the tables stay in the store, which replays it
 * when it opens; see the {@link dev.carapace.ledger} package comment for where each part lives and why.
 */
package dev.carapace.ledger.book;
