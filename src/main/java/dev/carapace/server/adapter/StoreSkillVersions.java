package dev.carapace.server.adapter;

import dev.carapace.skill.repo.ReviewState;
import dev.carapace.skill.repo.Scope;
import dev.carapace.skill.repo.SkillArchives;
import dev.carapace.skill.repo.VersionStore;
import dev.carapace.store.SkillVersions;
import dev.carapace.store.SkillVersions.InstallRow;
import dev.carapace.store.SkillVersions.VersionRow;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** The skill repository's storage in the store's {@code skill_versions} and {@code skill_installs} (V17). */
public final class StoreSkillVersions implements VersionStore {

    private final SkillVersions rows;

    public StoreSkillVersions(SkillVersions rows) {
        this.rows = rows;
    }

    @Override
    public boolean insert(Stored v) {
        return rows.insert(new VersionRow(v.name(), v.hash(), SkillArchives.pack(v.files()), v.fileCount(), v.totalBytes(),
                v.summary(), v.publisher(), v.publishedAt(), v.findings(), v.blocking(), v.state().label(), v.reviewer(),
                v.decidedAt(), v.note()));
    }

    @Override
    public Optional<Stored> get(String name, String hash) {
        return rows.get(name, hash).map(StoreSkillVersions::stored);
    }

    @Override
    public List<Stored> list(String name) {
        return rows.list(name).stream().map(StoreSkillVersions::stored).toList();
    }

    @Override
    public List<Stored> listOf(List<String> names) {
        return rows.listOf(names).stream().map(StoreSkillVersions::stored).toList();
    }

    @Override
    public boolean decide(String name, String hash, ReviewState state, String reviewer, Instant at, String note) {
        return rows.decide(name, hash, state.label(), reviewer, at, note);
    }

    @Override
    public void install(Install i) {
        rows.install(new InstallRow(i.scope().toString(), i.name(), i.hash(), i.installedBy(), i.installedAt()));
    }

    @Override
    public Optional<Install> installed(Scope scope, String name) {
        return rows.installed(scope.toString(), name).map(StoreSkillVersions::install);
    }

    @Override
    public List<Install> installs(List<Scope> scopes) {
        return rows.installs(scopes == null ? null : scopes.stream().map(Scope::toString).toList()).stream()
                .map(StoreSkillVersions::install).toList();
    }

    @Override
    public boolean uninstall(Scope scope, String name) {
        return rows.uninstall(scope.toString(), name);
    }

    private static Stored stored(VersionRow r) {
        return new Stored(r.name(), r.hash(), r.files() == null ? null : SkillArchives.unpack(r.files()), r.fileCount(),
                r.totalBytes(), r.summary(), r.publisher(), r.publishedAt(), r.findings(), r.blocking(),
                ReviewState.of(r.state()), r.reviewer(), r.decidedAt(), r.note());
    }

    private static Install install(InstallRow r) {
        return new Install(Scope.parse(r.scope()), r.name(), r.hash(), r.installedBy(), r.installedAt());
    }
}
