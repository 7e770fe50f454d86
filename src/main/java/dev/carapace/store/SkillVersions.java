package dev.carapace.store;

import org.jdbi.v3.core.mapper.RowMapper;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The org's skill repository (V17): the published versions of each skill, keyed by name and content hash, with their
 * files as one archive the caller encodes, the scan's findings (JSON the store does not read) and the review's state;
 * and the installs, one pinned hash per (scope, name). Shared by every gateway on the database.
 */
public final class SkillVersions {

    /** A version. {@code files} is null when listed without them. */
    public record VersionRow(String name, String hash, byte[] files, int fileCount, long totalBytes, String summary,
                             String publisher, Instant publishedAt, String findings, boolean blocking, String state,
                             String reviewer, Instant decidedAt, String note) {
        public VersionRow {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(hash, "hash");
            Objects.requireNonNull(state, "state");
        }

        @Override
        public String toString() { return "VersionRow[" + name + "@" + hash + " " + state + "]"; }
    }

    /** An install: {@code hash} of {@code name} pinned at {@code scope} ({@code org}, {@code team:X}, {@code agent:Y}). */
    public record InstallRow(String scope, String name, String hash, String installedBy, Instant installedAt) {}

    private static final String META = "name, hash, file_count, total_bytes, summary, publisher, published_at, findings, "
            + "blocking, state, reviewer, decided_at, note";

    private static final RowMapper<VersionRow> META_ROW = (rs, ctx) -> row(rs, null);
    private static final RowMapper<VersionRow> FULL_ROW = (rs, ctx) -> row(rs, rs.getBytes("files"));
    private static final RowMapper<InstallRow> INSTALL = (rs, ctx) -> new InstallRow(rs.getString("scope"),
            rs.getString("name"), rs.getString("hash"), rs.getString("installed_by"), Instant.ofEpochMilli(rs.getLong("installed_at")));

    private static VersionRow row(java.sql.ResultSet rs, byte[] files) throws java.sql.SQLException {
        long decided = rs.getLong("decided_at");
        boolean decidedNull = rs.wasNull();
        return new VersionRow(rs.getString("name"), rs.getString("hash"), files, rs.getInt("file_count"),
                rs.getLong("total_bytes"), rs.getString("summary"), rs.getString("publisher"),
                Instant.ofEpochMilli(rs.getLong("published_at")), rs.getString("findings"), rs.getBoolean("blocking"),
                rs.getString("state"), rs.getString("reviewer"), decidedNull ? null : Instant.ofEpochMilli(decided),
                rs.getString("note"));
    }

    private final Store store;

    SkillVersions(Store store) { this.store = store; }

    /** Stores a new version; false (and nothing changed) when that name and hash are already stored. */
    public boolean insert(VersionRow v) {
        Objects.requireNonNull(v.files(), "files");
        return store.write("publish skill version", h -> h.createUpdate("INSERT INTO skill_versions (" + META + ", files) "
                        + "VALUES (:name, :hash, :count, :total, :summary, :publisher, :at, :findings, :blocking, :state, "
                        + ":reviewer, :decided, :note, :files) ON CONFLICT (name, hash) DO NOTHING")
                .bind("name", v.name()).bind("hash", v.hash()).bind("count", v.fileCount()).bind("total", v.totalBytes())
                .bind("summary", v.summary()).bind("publisher", v.publisher()).bind("at", v.publishedAt().toEpochMilli())
                .bind("findings", v.findings()).bind("blocking", v.blocking()).bind("state", v.state())
                .bind("reviewer", v.reviewer()).bind("decided", v.decidedAt() == null ? null : v.decidedAt().toEpochMilli())
                .bind("note", v.note()).bind("files", v.files()).execute()) == 1;
    }

    /** One version with its files. */
    public Optional<VersionRow> get(String name, String hash) {
        return store.read("read skill version", h -> h.createQuery("SELECT " + META + ", files FROM skill_versions "
                + "WHERE name = :name AND hash = :hash").bind("name", name).bind("hash", hash).map(FULL_ROW).findOne());
    }

    /** The versions of {@code name} (or of every skill when null), without files, newest first. */
    public List<VersionRow> list(String name) {
        String order = " ORDER BY name, published_at DESC, hash";
        return store.read("list skill versions", h -> name == null
                ? h.createQuery("SELECT " + META + " FROM skill_versions" + order).map(META_ROW).list()
                : h.createQuery("SELECT " + META + " FROM skill_versions WHERE name = :name" + order).bind("name", name)
                        .map(META_ROW).list());
    }

    /** The versions of these skills, without files, in one query (an agent's installs resolved per turn). */
    public List<VersionRow> listOf(List<String> names) {
        if (names.isEmpty()) return List.of();
        return store.read("list skill versions", h -> h.createQuery("SELECT " + META + " FROM skill_versions WHERE name IN "
                + "(<names>) ORDER BY name, published_at DESC, hash").bindList("names", names).map(META_ROW).list());
    }

    /** Records a review's decision; false when there is no such version. */
    public boolean decide(String name, String hash, String state, String reviewer, Instant at, String note) {
        return store.write("review skill version", h -> h.createUpdate("UPDATE skill_versions SET state = :state, "
                        + "reviewer = :reviewer, decided_at = :at, note = :note WHERE name = :name AND hash = :hash")
                .bind("state", state).bind("reviewer", reviewer).bind("at", at.toEpochMilli()).bind("note", note)
                .bind("name", name).bind("hash", hash).execute()) == 1;
    }

    /** Pins {@code hash} of {@code name} at {@code scope}, replacing what was pinned there. */
    public void install(InstallRow i) {
        store.write("install skill", h -> h.createUpdate("INSERT INTO skill_installs (scope, name, hash, installed_by, "
                        + "installed_at) VALUES (:scope, :name, :hash, :by, :at) ON CONFLICT (scope, name) DO UPDATE SET "
                        + "hash = excluded.hash, installed_by = excluded.installed_by, installed_at = excluded.installed_at")
                .bind("scope", i.scope()).bind("name", i.name()).bind("hash", i.hash()).bind("by", i.installedBy())
                .bind("at", i.installedAt().toEpochMilli()).execute());
    }

    /** The install of {@code name} at {@code scope}. */
    public Optional<InstallRow> installed(String scope, String name) {
        return store.read("read skill install", h -> h.createQuery("SELECT * FROM skill_installs WHERE scope = :scope AND "
                + "name = :name").bind("scope", scope).bind("name", name).map(INSTALL).findOne());
    }

    /** The installs at the given scopes (every install when {@code scopes} is null), by scope then name. */
    public List<InstallRow> installs(List<String> scopes) {
        if (scopes != null && scopes.isEmpty()) return List.of();
        return store.read("list skill installs", h -> scopes == null
                ? h.createQuery("SELECT * FROM skill_installs ORDER BY scope, name").map(INSTALL).list()
                : h.createQuery("SELECT * FROM skill_installs WHERE scope IN (<scopes>) ORDER BY scope, name")
                        .bindList("scopes", scopes).map(INSTALL).list());
    }

    /** Uninstalls {@code name} at {@code scope}; false when it was not installed there. */
    public boolean uninstall(String scope, String name) {
        return store.write("remove skill install", h -> h.createUpdate("DELETE FROM skill_installs WHERE scope = :scope "
                + "AND name = :name").bind("scope", scope).bind("name", name).execute()) == 1;
    }
}
