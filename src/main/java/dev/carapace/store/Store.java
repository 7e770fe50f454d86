package dev.carapace.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.jdbi.v3.core.statement.StatementExceptions;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * The database: a HikariCP pool over SQLite or PostgreSQL with the schema migrated, and the repositories on top.
 *
 * <p><b>SQLite</b> runs in WAL mode with {@code synchronous=NORMAL}, {@code busy_timeout=5000} and foreign keys
 * on, set through the driver's own configuration so every pooled connection gets them. WAL lets readers run in
 * parallel with the one writer SQLite allows, so the pool is sized by {@code poolSize} for reads, while writes
 * inside this process take a lock first: they queue in Java instead of spinning in SQLite's busy handler (no
 * {@code SQLITE_BUSY} storms), and the busy timeout is left to cover other processes on the same file (an admin
 * CLI, say). Write transactions begin {@code IMMEDIATE}, so a writer never has to upgrade a read lock, which is
 * the one case SQLite answers with an instant {@code SQLITE_BUSY} instead of waiting. An in-memory URL gets a
 * single connection that never expires, since each SQLite connection would otherwise see its own empty database.
 *
 * <p>A SQLite <b>file</b> also gets the ledger's {@link Journal}, if no other store has it: a file next to the
 * database, and one more connection, which the ledger writes through with statements prepared once. It lets the
 * gateway decide budgets in memory ({@code dev.carapace.ledger.book.MemoryReservations}, which
 * {@link #reservations} keeps as this store's one decider).
 *
 * <p><b>PostgreSQL</b> gets {@code poolSize} connections, batched inserts rewritten into multi-row inserts, and
 * server error details (which can quote row values) kept out of exception messages.
 */
public final class Store implements AutoCloseable {

    static final int SQLITE_BUSY_TIMEOUT_MILLIS = 5_000;

    private final HikariDataSource dataSource;
    private final Jdbi jdbi;
    private final boolean postgres;
    /** Serializes writes for SQLite; null for PostgreSQL. */
    private final ReentrantLock writeLock;
    private final ApiKeys apiKeys;
    private final UsageLog usageLog;
    private final LedgerTables ledgerTables;
    /** The one decider of this store's reservations, made on first use; guarded by this. */
    private Reservations reservations;
    private final Sessions sessions;
    /** The ledger's journal and writer connection, for the store that owns a SQLite file; null otherwise. */
    private final Journal journal;
    private final AuditRecords auditRecords;
    private final ApprovalRecords approvalRecords;
    private final ResponseRecords responseRecords;
    private final Jobs jobs;
    private final HeartbeatStates heartbeatStates;
    private final MemoryNotes memoryNotes;
    private final SkillVersions skillVersions;
    private final ChannelRows channelRows;
    private final WebhookDeliveryRows webhookDeliveries;
    /** The identity of the SQLite file this store opened; null for PostgreSQL and in-memory SQLite. */
    private final FileIntegrity fileIntegrity;

    /** @param sqliteFile the database file of a SQLite store, null for PostgreSQL and in-memory SQLite */
    private Store(HikariDataSource dataSource, boolean postgres, Path sqliteFile) {
        this.dataSource = dataSource;
        this.postgres = postgres;
        this.writeLock = postgres ? null : new ReentrantLock();
        this.jdbi = Jdbi.create(dataSource);
        // Jdbi's default exception text lists bound values (key hashes, user names): keep it out.
        jdbi.getConfig(StatementExceptions.class).setMessageRendering(StatementExceptions.MessageRendering.NONE);
        // First, so a failure leaves nothing open: the file as migrated is the one every later check compares with.
        this.fileIntegrity = sqliteFile == null ? null : FileIntegrity.remember(sqliteFile);
        if (fileIntegrity != null && dataSource.getDataSource() instanceof CheckedSqliteDataSource checked) {
            checked.watch(fileIntegrity);
        }
        this.apiKeys = new ApiKeys(this);
        this.usageLog = new UsageLog(this);
        // A memory database lives in the pool's one connection, so only a file can have a journal and a writer
        // connection of its own; and only the first store to open the file (the gateway) owns them.
        this.journal = sqliteFile == null ? null : Journal.open(Journal.pathFor(sqliteFile), dataSource.getDataSource(), writeLock);
        this.ledgerTables = new LedgerTables(this);
        this.sessions = new Sessions(this);
        this.auditRecords = new AuditRecords(this);
        this.approvalRecords = new ApprovalRecords(this);
        this.responseRecords = new ResponseRecords(this);
        this.jobs = new Jobs(this);
        this.heartbeatStates = new HeartbeatStates(this);
        this.memoryNotes = new MemoryNotes(this);
        this.skillVersions = new SkillVersions(this);
        this.channelRows = new ChannelRows(this);
        this.webhookDeliveries = new WebhookDeliveryRows(this);
    }

    /**
     * Opens the pool and migrates the schema to the latest version.
     *
     * @param jdbcUrl  {@code jdbc:sqlite:<file>} (parent directories are created) or {@code jdbc:postgresql://...}
     * @param user     database user; ignored for SQLite, may be null
     * @param password database password; ignored for SQLite, may be null
     * @param poolSize maximum connections (at least 1 is used)
     * @throws StoreException if the URL is not SQLite or PostgreSQL, the database cannot be reached or the
     *                        migration fails; the message holds the URL without credentials and never the password
     */
    public static Store open(String jdbcUrl, String user, String password, int poolSize) {
        Objects.requireNonNull(jdbcUrl, "jdbcUrl");
        String safeUrl = JdbcUrls.redact(jdbcUrl);
        boolean postgres;
        if (JdbcUrls.isPostgres(jdbcUrl)) {
            postgres = true;
        } else if (JdbcUrls.isSqlite(jdbcUrl)) {
            postgres = false;
        } else {
            throw new StoreException(StoreException.Reason.OTHER,
                    "unsupported JDBC URL " + safeUrl + " (expected jdbc:sqlite: or jdbc:postgresql:)", null);
        }
        HikariConfig config = postgres
                ? postgresConfig(jdbcUrl, user, password, poolSize)
                : sqliteConfig(jdbcUrl, poolSize, safeUrl);
        config.setPoolName("carapace-store");

        HikariDataSource ds;
        try {
            ds = new HikariDataSource(config);
        } catch (RuntimeException e) {
            throw openFailure(StoreException.Reason.UNAVAILABLE, "cannot connect to " + safeUrl, e, password);
        }
        try {
            migrate(ds, postgres);
        } catch (RuntimeException e) {
            ds.close();
            throw openFailure(StoreException.Reason.MIGRATION, "cannot migrate schema of " + safeUrl, e, password);
        }
        try {
            return new Store(ds, postgres, sqliteFile(jdbcUrl).orElse(null));
        } catch (RuntimeException e) {
            ds.close();
            throw e;
        }
    }

    private static HikariConfig postgresConfig(String url, String user, String password, int poolSize) {
        HikariConfig c = new HikariConfig();
        c.setJdbcUrl(url);
        if (user != null) c.setUsername(user);
        if (password != null) c.setPassword(password);
        c.setMaximumPoolSize(Math.max(1, poolSize));
        c.addDataSourceProperty("reWriteBatchedInserts", "true");
        c.addDataSourceProperty("logServerErrorDetail", "false");
        c.addDataSourceProperty("ApplicationName", "carapace");
        return c;
    }

    private static HikariConfig sqliteConfig(String url, int poolSize, String safeUrl) {
        Path file = JdbcUrls.sqliteFile(url).orElse(null);
        if (file != null && file.getParent() != null) {
            try {
                Files.createDirectories(file.getParent());
            } catch (IOException e) {
                throw new StoreException(StoreException.Reason.UNAVAILABLE,
                        "cannot create the directory for " + safeUrl + ": " + e.getClass().getSimpleName(), e);
            }
        }
        SQLiteConfig sc = new SQLiteConfig();
        sc.setJournalMode(SQLiteConfig.JournalMode.WAL);
        sc.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        sc.setBusyTimeout(SQLITE_BUSY_TIMEOUT_MILLIS);
        sc.enforceForeignKeys(true);
        sc.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
        // Nothing here asks for generated keys; left on, the driver runs a regex over every INSERT and then a
        // second statement (SELECT last_insert_rowid()), which costs the ledger's journal a fifth of each append.
        sc.setGetGeneratedKeys(false);
        SQLiteDataSource sds = new SQLiteDataSource(sc);
        sds.setUrl(url);

        HikariConfig c = new HikariConfig();
        c.setDataSource(new CheckedSqliteDataSource(sds));
        if (JdbcUrls.isSqliteMemory(url)) {
            c.setMaximumPoolSize(1);
            c.setMinimumIdle(1);
            c.setMaxLifetime(0);   // never retire the one connection: the database lives and dies with it
            c.setIdleTimeout(0);
        } else {
            c.setMaximumPoolSize(Math.max(1, poolSize));
        }
        return c;
    }

    private static void migrate(HikariDataSource ds, boolean postgres) {
        Flyway.configure(Store.class.getClassLoader())
                .dataSource(ds)
                .locations("classpath:db/migration/" + (postgres ? "postgresql" : "sqlite"))
                .failOnMissingLocations(true)
                .load()
                .migrate();
    }

    private static StoreException openFailure(StoreException.Reason reason, String what, Throwable e, String password) {
        // The driver's words ("Connection to db:5432 refused", "password authentication failed for user x",
        // "database x does not exist") or Flyway's are what an operator needs. They never quote the password,
        // but make sure of it.
        SQLException sql = StoreException.sqlCause(e);
        Throwable told = reason == StoreException.Reason.MIGRATION || sql == null ? e : sql;
        String detail = told.getMessage() == null ? told.getClass().getSimpleName() : told.getMessage();
        if (password != null && !password.isEmpty()) detail = detail.replace(password, "***");
        return new StoreException(reason, what + ": " + detail, sql != null ? sql : e);
    }

    /**
     * Jdbi over the pool, for tests. The ledger's journal is folded first, so what they read is what was written.
     * Bound values never appear in its errors.
     */
    public Jdbi jdbi() {
        foldJournal();
        return jdbi;
    }

    /** The database file of a file-backed SQLite store; empty for PostgreSQL and in-memory SQLite. */
    public static Optional<Path> sqliteFile(String jdbcUrl) {
        return JdbcUrls.isSqlite(jdbcUrl) && !JdbcUrls.isSqliteMemory(jdbcUrl) ? JdbcUrls.sqliteFile(jdbcUrl) : Optional.empty();
    }

    /** True for PostgreSQL, false for SQLite. */
    public boolean postgres() { return postgres; }

    public ApiKeys apiKeys() { return apiKeys; }

    public UsageLog usageLog() { return usageLog; }

    /** The ledger's tables; the ledger decides reservations through {@link #reservations}. */
    public LedgerTables ledgerTables() { return ledgerTables; }

    /**
     * The one decider of this store's reservations, made on the first call: the database's when the store has no
     * journal (PostgreSQL, in-memory SQLite, or a file another store owns), else what {@code inMemory} makes of the
     * journal. Every later call returns that same decider, so one process never has two views of a window.
     */
    public synchronized Reservations reservations(Function<Journal, Reservations> inMemory) {
        if (reservations == null) reservations = journal == null ? new SqlReservations(this) : inMemory.apply(journal);
        return reservations;
    }

    /** Agent sessions, runs and transcripts. */
    public Sessions sessions() { return sessions; }

    Journal journal() { return journal; }

    /**
     * The lock of this store's writers, the journal's fold among them (null on PostgreSQL). Tests hold it to keep the
     * fold waiting without a transaction, which would lock the file against other processes too.
     */
    ReentrantLock writeLock() { return writeLock; }

    /**
     * Whether this is a SQLite file whose ledger journal another process held when this store opened it (a CLI
     * command at work): its budget decisions then write the tables directly, a transaction each, not the journal.
     */
    public boolean journalHeldElsewhere() { return fileIntegrity != null && journal == null; }

    /** Folds what this process put in the ledger's journal into the tables, so that a read sees it. */
    void foldJournal() {
        if (journal != null) journal.catchUp();
    }

    /** The guard's hash-chained audit log. */
    public AuditRecords auditRecords() { return auditRecords; }

    /** Pending approvals and standing grants. */
    public ApprovalRecords approvalRecords() { return approvalRecords; }

    /** The responses {@code /v1/responses} stored, per API key. */
    public ResponseRecords responseRecords() { return responseRecords; }

    /** Scheduled jobs and their runs; what is due when is {@link DueRuns}'s. */
    public Jobs jobs() { return jobs; }

    /** What each agent's heartbeat remembers between beats. */
    public HeartbeatStates heartbeatStates() { return heartbeatStates; }

    /** Agents' and teams' memory notes, their chunks and embeddings, and keyword search over them. */
    public MemoryNotes memoryNotes() { return memoryNotes; }
    /** The org's skill repository: published versions, their reviews, and installs. */
    public SkillVersions skillVersions() { return skillVersions; }

    public ChannelRows channelRows() { return channelRows; }

    public WebhookDeliveryRows webhookDeliveries() { return webhookDeliveries; }

    /** The pool, for db-scheduler ({@link DueRuns}), which runs its own SQL on {@code scheduled_tasks}. */
    javax.sql.DataSource dataSource() { return dataSource; }

    /** Whether this store owns its SQLite file's journal: the one gateway process on that file. */
    boolean ownsSqliteFile() { return journal != null; }

    /**
     * What is wrong with the database file under this store, or null: a SQLite file that was replaced (renamed over,
     * deleted, made a symlink), truncated or overwritten since the store opened it. Cheap (a stat and a 100-byte
     * read); always null for PostgreSQL and in-memory SQLite.
     */
    public String fileProblem() {
        return fileIntegrity == null ? null : fileIntegrity.problem();
    }

    /** Runs {@code work} on a pooled connection, outside a transaction. */
    <R> R read(String operation, HandleCallback<R, RuntimeException> work) {
        try {
            return jdbi.withHandle(work);
        } catch (JdbiException e) {
            throw failure(operation, e);
        }
    }

    /**
     * The one number {@code sql} selects, read with plain JDBC on a pooled connection: for a query polled many times a
     * second by every gateway (the budget change counter), where a JDBI handle per read (its config copied, the
     * statement rendered, a mapper looked up) cost about a millisecond of CPU, two percent of a core while idle.
     */
    long readLong(String operation, String sql) {
        try (java.sql.Connection c = dataSource.getConnection();
             java.sql.PreparedStatement ps = c.prepareStatement(sql);
             java.sql.ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) throw new StoreException(StoreException.Reason.UNAVAILABLE, operation + " found no row", null);
            return rs.getLong(1);
        } catch (java.sql.SQLException e) {
            if (dataSource.isClosed()) {
                throw new StoreException(StoreException.Reason.UNAVAILABLE, operation + " failed: the store is closed", e);
            }
            throw StoreException.of(operation, e);
        }
    }

    /** Runs {@code work} in one transaction; for SQLite, after the other writers of this process are done. */
    <R> R write(String operation, HandleCallback<R, RuntimeException> work) {
        ReentrantLock lock = writeLock;
        if (lock != null) lock.lock();
        try {
            return jdbi.inTransaction(work);
        } catch (JdbiException e) {
            throw failure(operation, e);
        } finally {
            if (lock != null) lock.unlock();
        }
    }

    private StoreException failure(String operation, JdbiException e) {
        if (dataSource.isClosed()) {
            return new StoreException(StoreException.Reason.UNAVAILABLE, operation + " failed: the store is closed", e);
        }
        return StoreException.of(operation, e);
    }

    /** Folds the journal and closes the connections. Idempotent. */
    @Override
    public void close() {
        if (journal != null) journal.close();
        dataSource.close();
        if (fileIntegrity != null) fileIntegrity.close();   // after the connections: see FileIntegrity's comment
    }
}
