package dev.carapace.store;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The contract against a real PostgreSQL server (see {@link TestPostgres}); never skipped. */
class PostgresStoreTest extends StoreContractTest {

    @Override
    protected String newDatabaseUrl() { return TestPostgres.get().createDatabase(); }

    @Override
    protected String user() { return TestPostgres.USER; }

    @Override
    protected String password() { return "not-checked-by-trust-auth"; }

    @Override
    protected boolean expectPostgres() { return true; }

    @Test
    void runsOnARealPostgresServer() {
        String version = store.jdbi().withHandle(h -> h.createQuery("SELECT version()").mapTo(String.class).one());
        assertThat(version).startsWith("PostgreSQL ");
        assertThat(url).startsWith("jdbc:postgresql://");
    }

    @Test
    void anUnreachableServerFailsWithoutQuotingCredentials() {
        assertThatThrownBy(() -> Store.open(
                "jdbc:postgresql://127.0.0.1:1/carapace?user=alice&password=hunter2&connectTimeout=2",
                "bob", "s3cret-pw", 2))
                .isInstanceOfSatisfying(StoreException.class, e -> {
                    assertThat(e.reason()).isEqualTo(StoreException.Reason.UNAVAILABLE);
                    assertThat(e.getMessage())
                            .contains("127.0.0.1:1/carapace")
                            .doesNotContain("hunter2")
                            .doesNotContain("s3cret-pw")
                            .doesNotContain("alice");
                });
    }
}
