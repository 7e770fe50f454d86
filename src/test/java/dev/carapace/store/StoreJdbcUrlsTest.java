package dev.carapace.store;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class StoreJdbcUrlsTest {

    @Test
    void redactsCredentials() {
        assertThat(JdbcUrls.redact("jdbc:postgresql://db:5432/carapace?user=alice&password=hunter2&ssl=true"))
                .isEqualTo("jdbc:postgresql://db:5432/carapace?user=***&password=***&ssl=true");
        assertThat(JdbcUrls.redact("jdbc:postgresql://db/c?sslpassword=x;PWD=y"))
                .isEqualTo("jdbc:postgresql://db/c?sslpassword=***;PWD=***");
        assertThat(JdbcUrls.redact("jdbc:postgresql://alice:hunter2@db/c")).isEqualTo("jdbc:postgresql://***@db/c");
        assertThat(JdbcUrls.redact("jdbc:sqlite:/var/lib/carapace/carapace.db"))
                .isEqualTo("jdbc:sqlite:/var/lib/carapace/carapace.db");
        assertThat(JdbcUrls.redact("jdbc:postgresql://db/c?token=$1\\x")).isEqualTo("jdbc:postgresql://db/c?token=***");
    }

    @Test
    void findsTheSqliteFile() {
        assertThat(JdbcUrls.sqliteFile("jdbc:sqlite:/a/b/c.db")).contains(Path.of("/a/b/c.db"));
        assertThat(JdbcUrls.sqliteFile("jdbc:sqlite:/a/b/c.db?journal_mode=WAL")).contains(Path.of("/a/b/c.db"));
        assertThat(JdbcUrls.sqliteFile("jdbc:sqlite:file:/a/b/c.db?cache=shared")).contains(Path.of("/a/b/c.db"));
        assertThat(JdbcUrls.sqliteFile("jdbc:sqlite:file:///a/b/c.db")).contains(Path.of("/a/b/c.db"));
        assertThat(JdbcUrls.sqliteFile("jdbc:sqlite:rel/c.db")).contains(Path.of("rel/c.db").toAbsolutePath());
        assertThat(JdbcUrls.sqliteFile("jdbc:sqlite::memory:")).isEmpty();
        assertThat(JdbcUrls.sqliteFile("jdbc:sqlite:")).isEmpty();
        assertThat(JdbcUrls.sqliteFile("jdbc:sqlite:file::memory:?cache=shared")).isEmpty();
        assertThat(JdbcUrls.sqliteFile("jdbc:sqlite:file:x?mode=memory&cache=shared")).isEmpty();
        assertThat(JdbcUrls.sqliteFile("jdbc:sqlite::resource:db/x.db")).isEmpty();
        assertThat(JdbcUrls.sqliteFile("jdbc:postgresql://h/db")).isEmpty();
    }

    @Test
    void detectsTheVendor() {
        assertThat(JdbcUrls.isPostgres("jdbc:postgresql://h/db")).isTrue();
        assertThat(JdbcUrls.isSqlite("jdbc:postgresql://h/db")).isFalse();
        assertThat(JdbcUrls.isSqlite("JDBC:SQLITE:/x.db")).isTrue();
        assertThat(JdbcUrls.isPostgres("jdbc:sqlite:/x.db")).isFalse();
    }
}
