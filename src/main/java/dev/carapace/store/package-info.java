/**
 * Persistence: the only package that contains SQL.
 *
 * <p>{@link dev.carapace.store.Store} owns the connection pool and the schema (Flyway migrations under
 * {@code db/migration/<vendor>}); {@link dev.carapace.store.ApiKeys} and {@link dev.carapace.store.UsageLog}
 * are plain repositories over it, and {@link dev.carapace.store.LedgerBook} keeps budgets and their reservations
 * (on a SQLite file decided in memory and made durable through a journal, see {@code Journal}). SQLite and
 * PostgreSQL are both supported and behave identically from the Java side: times are stored as epoch milliseconds,
 * so every {@link java.time.Instant} read back is truncated to the millisecond. Every failure surfaces as an
 * unchecked {@link dev.carapace.store.StoreException} whose message holds no secret.
 *
 * <p>A SQLite store remembers the identity of the file it opened ({@code FileIntegrity}):
 * {@link dev.carapace.store.Store#fileProblem()} tells when the file on disk was replaced, truncated or overwritten
 * since, which the pool's open connections would never notice.
 */
package dev.carapace.store;
