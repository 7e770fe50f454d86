/**
 * The ledger: prices, budgets, reservations, spend records, alerts. Every call the gateway makes is metered here,
 * and every budgeted call reserves its worst case before the upstream call and settles its real cost after.
 *
 * <p>Where each part lives, and why:
 * <ul>
 *   <li>{@link dev.carapace.ledger.Ledger}: the gateway stage that estimates, reserves, meters streams and settles,
 *       with {@code PromptSize} (how many tokens a prompt may cost before it is sent: the byte bound and the
 *       tokenizer-factor estimate);
 *       {@link dev.carapace.ledger.Budgets} (the budgets and their rules), {@link dev.carapace.ledger.PriceBook},
 *       {@link dev.carapace.ledger.Alerts}, {@link dev.carapace.ledger.BudgetSync} (another process's budget edit
 *       binds at once), and the money, period and pricing arithmetic.</li>
 *   <li>{@link dev.carapace.ledger.book}: the book these all read and write through
 *       ({@link dev.carapace.ledger.book.LedgerBook}), and the concurrency rules of deciding budgets in this
 *       process's memory ({@code MemoryReservations}: one lock orders the decisions, each made durable by a journal
 *       append under that lock, so a window never holds more than its limit and memory, journal and tables agree in
 *       the same order).</li>
 *   <li>{@code dev.carapace.store.LedgerTables}: the ledger's tables and their SQL, with the plain records the
 *       ledger uses for rows ({@code WindowKey}, {@code Reservation}, {@code WindowRow}, ...). They live in the store
 *       because the store is the only package with SQL and depends on no other package, so it cannot use ledger
 *       types; the ledger uses its records instead.</li>
 *   <li>{@code dev.carapace.store.Reservations}: the interface of a reservation decider, and
 *       {@code store.SqlReservations}, the database's decider (a conditional update per window) for a store that
 *       several gateways share. The interface is declared in the store because the store's own decider implements
 *       it; {@code MemoryReservations} implements it from here.</li>
 *   <li>{@code dev.carapace.store.Journal} ({@code JournalFile}, {@code JournalEntry}): the journal file that makes
 *       each in-memory decision durable in microseconds, and its fold into the SQLite tables. It lives in the store
 *       because it is the SQLite store's write path: the store replays it when it opens, before anything reads the
 *       tables (the gateway, or any CLI command after a crash), its fold writes SQL under the store's write lock, and
 *       every store read folds it first.</li>
 * </ul>
 *
 * <p>The ledger knows nothing of agents; the server composes it ({@code LedgerBook.of(store)}) and puts
 * {@link dev.carapace.ledger.Ledger} in the gateway's pipeline.
 */
package dev.carapace.ledger;
