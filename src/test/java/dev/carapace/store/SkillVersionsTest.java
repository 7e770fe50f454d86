package dev.carapace.store;

import dev.carapace.store.SkillVersions.InstallRow;
import dev.carapace.store.SkillVersions.VersionRow;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The skill repository's tables (V17) on SQLite and on a real PostgreSQL: a version stored once per (name, hash) with
 * its files' bytes exact, listed newest first without files, decided in place; installs pinned one per (scope, name),
 * replaced by a pin, listed by scope, removed.
 */
class SkillVersionsTest {

    static final Instant T0 = Instant.parse("2026-12-05T08:00:00Z");

    @TempDir Path dir;

    private Store open(String db) {
        return db.equals("sqlite")
                ? Store.open("jdbc:sqlite:" + dir.resolve("skills.db"), null, null, 4)
                : Store.open(TestPostgres.get().createDatabase(), TestPostgres.USER, "", 8);
    }

    private static VersionRow version(String name, String hash, byte[] files, Instant at, String state) {
        return new VersionRow(name, hash, files, 1, files.length, "{\"description\":\"d\"}", "alice", at, "[]", false,
                state, null, null, null);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void versionsAreStoredOnceAndDecidedInPlace(String db) {
        try (Store store = open(db)) {
            SkillVersions s = store.skillVersions();
            byte[] files = new byte[256 * 1024];
            for (int i = 0; i < files.length; i++) files[i] = (byte) i;
            assertThat(s.insert(version("notes", "aa11", files, T0, "pending"))).isTrue();
            assertThat(s.insert(version("notes", "aa11", new byte[]{9}, T0.plusSeconds(5), "approved"))).isFalse();
            assertThat(s.insert(version("notes", "bb22", new byte[]{1, 2}, T0.plusSeconds(60), "approved"))).isTrue();
            assertThat(s.insert(version("other", "cc33", new byte[]{3}, T0, "pending"))).isTrue();

            VersionRow got = s.get("notes", "aa11").orElseThrow();
            assertThat(got.files()).isEqualTo(files);
            assertThat(got.state()).isEqualTo("pending");
            assertThat(got.decidedAt()).isNull();
            assertThat(s.list("notes")).extracting(VersionRow::hash).containsExactly("bb22", "aa11");
            assertThat(s.list("notes").get(0).files()).isNull();
            assertThat(s.list(null)).extracting(VersionRow::name).containsExactly("notes", "notes", "other");

            assertThat(s.decide("notes", "aa11", "approved", "root", T0.plusSeconds(90), "looked fine")).isTrue();
            assertThat(s.decide("notes", "zz99", "approved", "root", T0, null)).isFalse();
            VersionRow decided = s.get("notes", "aa11").orElseThrow();
            assertThat(decided.state()).isEqualTo("approved");
            assertThat(decided.reviewer()).isEqualTo("root");
            assertThat(decided.decidedAt()).isEqualTo(T0.plusSeconds(90));
            assertThat(decided.note()).isEqualTo("looked fine");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void installsArePinnedPerScopeAndName(String db) {
        try (Store store = open(db)) {
            SkillVersions s = store.skillVersions();
            s.insert(version("notes", "aa11", new byte[]{1}, T0, "approved"));
            s.insert(version("notes", "bb22", new byte[]{2}, T0, "approved"));
            s.install(new InstallRow("org", "notes", "aa11", "root", T0));
            s.install(new InstallRow("agent:helper", "notes", "aa11", "alice", T0));
            s.install(new InstallRow("org", "notes", "bb22", "root", T0.plusSeconds(1)));   // a pin replaces
            assertThat(s.installed("org", "notes").orElseThrow().hash()).isEqualTo("bb22");
            assertThat(s.installs(null)).extracting(InstallRow::scope).containsExactly("agent:helper", "org");
            assertThat(s.installs(List.of("org", "team:x"))).extracting(InstallRow::hash).containsExactly("bb22");
            assertThat(s.installs(List.of())).isEmpty();
            assertThat(s.uninstall("org", "notes")).isTrue();
            assertThat(s.uninstall("org", "notes")).isFalse();
            assertThat(s.installed("org", "notes")).isEmpty();
            assertThat(s.installed("agent:helper", "notes")).isPresent();
        }
    }
}
