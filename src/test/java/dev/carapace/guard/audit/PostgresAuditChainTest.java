package dev.carapace.guard.audit;

import dev.carapace.store.PostgresForTests;
import dev.carapace.store.Store;

/** The same contract on a real PostgreSQL server (the test JVM's embedded one). */
class PostgresAuditChainTest extends AuditChainContractTest {

    @Override
    protected String newDatabaseUrl() { return PostgresForTests.createDatabase(); }

    @Override
    protected String user() { return PostgresForTests.USER; }

    @Override
    protected void dropAppendOnlyTriggers(Store store) {
        sql("DROP TRIGGER audit_log_append_only ON audit_log");
    }
}
