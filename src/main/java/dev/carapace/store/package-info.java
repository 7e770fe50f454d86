/**
 * Persistence: the only package that contains SQL, and one that depends on no other package of Carapace.
 *
 * <p>{@link dev.carapace.store.Store} owns the connection pool and the schema (Flyway migrations under
 * {@code db/migration/<vendor>}); {@link dev.carapace.store.ApiKeys}, {@link dev.carapace.store.UsageLog},
 * {@link dev.carapace.store.Sessions}, {@link dev.carapace.store.AuditRecords},
 * {@link dev.carapace.store.ApprovalRecords} and {@link dev.carapace.store.ResponseRecords} are plain repositories
 * over it. SQLite and PostgreSQL are both supported and behave identically from the Java side: times are stored as
 * epoch milliseconds, so every {@link java.time.Instant} read back is truncated to the millisecond. Every failure
 * surfaces as an unchecked {@link dev.carapace.store.StoreException} whose message holds no secret.
 *
 * <p>For the ledger it owns the tables and their SQL ({@link dev.carapace.store.LedgerTables}), the database's
 * reservation decider ({@code SqlReservations}, behind {@link dev.carapace.store.Reservations}) and, for a SQLite
 * file, the ledger's write path: the {@link dev.carapace.store.Journal} (its file {@code JournalFile}, its entries
 * {@link dev.carapace.store.JournalEntry}) that the store replays when it opens and folds into the tables before
 * every read. What is not SQL, the rules of deciding budgets in memory and the book the ledger reads through, is in
 * {@code dev.carapace.ledger.book}; the store keeps its one decider ({@link dev.carapace.store.Store#reservations})
 * without knowing that package.
 *
 * <p>For scheduled work it owns the jobs and their runs ({@link dev.carapace.store.Jobs}) and the one place that
 * knows db-scheduler: {@link dev.carapace.store.DueRuns}, which picks each due run of a job on one gateway only,
 * over this store's pool (on SQLite through {@code SqliteSchedulerDialect}, since db-scheduler 16.7.1 does not know
 * SQLite), and hands the run of a gateway that died to one survivor.
 *
 * <p>A SQLite store remembers the identity of the file it opened ({@code FileIntegrity}):
 * {@link dev.carapace.store.Store#fileProblem()} tells when the file on disk was replaced, truncated or overwritten
 * since, which the pool's open connections would never notice.
 */
package dev.carapace.store;
