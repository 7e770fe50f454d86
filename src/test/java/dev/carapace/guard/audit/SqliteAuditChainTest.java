package dev.carapace.guard.audit;

import dev.carapace.store.Store;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

class SqliteAuditChainTest extends AuditChainContractTest {

    @TempDir
    Path dir;

    @Override
    protected String newDatabaseUrl() { return "jdbc:sqlite:" + dir.resolve("carapace.db"); }

    @Override
    protected String user() { return null; }

    @Override
    protected void dropAppendOnlyTriggers(Store store) {
        sql("DROP TRIGGER audit_log_no_update");
        sql("DROP TRIGGER audit_log_no_delete");
    }
}
