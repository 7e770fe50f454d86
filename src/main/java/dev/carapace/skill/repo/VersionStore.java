package dev.carapace.skill.repo;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The repository's storage, as it needs it; the gateway adapts the store's {@code SkillVersions} to it. */
public interface VersionStore {

    /**
     * A stored version.
     *
     * @param files    path to bytes, or null when listed without them
     * @param summary  the front matter's summary as JSON (description, homepage, needs)
     * @param findings the scan's findings as JSON
     */
    record Stored(String name, String hash, Map<String, byte[]> files, int fileCount, long totalBytes, String summary,
                  String publisher, Instant publishedAt, String findings, boolean blocking, ReviewState state,
                  String reviewer, Instant decidedAt, String note) {}

    /** An install: one hash of a name pinned at a scope. */
    record Install(Scope scope, String name, String hash, String installedBy, Instant installedAt) {}

    /** Stores a version; false when that name and hash were already stored (nothing changes). */
    boolean insert(Stored version);

    Optional<Stored> get(String name, String hash);

    /** Versions of {@code name} (every skill's when null), without files, newest first per name. */
    List<Stored> list(String name);

    /** Versions of these skills, without files, in one read. */
    List<Stored> listOf(List<String> names);

    boolean decide(String name, String hash, ReviewState state, String reviewer, Instant at, String note);

    void install(Install install);

    Optional<Install> installed(Scope scope, String name);

    /** Installs at these scopes; every install when null. */
    List<Install> installs(List<Scope> scopes);

    boolean uninstall(Scope scope, String name);
}
