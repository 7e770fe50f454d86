package dev.carapace.skill.repo;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.carapace.skill.Skill;
import dev.carapace.skill.SkillDocuments;
import dev.carapace.skill.SkillFileException;
import dev.carapace.skill.SkillFiles;
import dev.carapace.skill.SkillFolders;
import dev.carapace.skill.SkillFormatException;
import dev.carapace.skill.SkillPaths;
import dev.carapace.skill.SkillSource;
import dev.carapace.skill.SkillText;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The org repository's skills as an agent sees them: its installs (agent, then team, then org scope, the most
 * specific per name), approved versions only, each served from the stored files of its pinned hash. A version
 * rejected after it was installed stops being served at once: the installs and review states are read on each call
 * (two queries); only the parsed files of a hash, which never change, are cached.
 */
public final class InstalledSkillSource implements SkillSource {

    /** Parsed versions by scope, name and hash, weighed by their files' bytes: at most this many bytes kept. */
    private static final long CACHED_BYTES = 64L * 1024 * 1024;

    private final SkillRepository repository;
    private final Cache<String, Loaded> cache = Caffeine.newBuilder().maximumWeight(CACHED_BYTES)
            .weigher((String key, Loaded l) -> l.bytes()).build();

    public InstalledSkillSource(SkillRepository repository) {
        this.repository = repository;
    }

    @Override
    public List<Skill> skillsFor(String agentId) {
        List<Skill> out = new ArrayList<>();
        for (SkillRepository.Resolved r : resolved(agentId)) {
            Loaded l = load(r);
            if (l.skill() != null) out.add(l.skill());
        }
        return out;
    }

    @Override
    public List<String> skippedFor(String agentId) {
        List<String> out = new ArrayList<>();
        for (SkillRepository.Resolved r : resolved(agentId)) {
            Loaded l = load(r);
            if (l.problem() != null) out.add(r.scope() + ":" + r.version().name() + "@" + r.version().hash() + ": " + l.problem());
        }
        return out;
    }

    /** A version as a skill, or why it is not one; cached by name, hash and scope (a hash's files never change). */
    private Loaded load(SkillRepository.Resolved r) {
        VersionStore.Stored v = r.version();
        return cache.get(r.scope() + " " + v.name() + "@" + v.hash(), key -> {
            Map<String, byte[]> files = repository.files(v.name(), v.hash()).orElse(null);
            if (files == null || !files.containsKey(SkillFolders.SKILL_MD)) return new Loaded(null, "its files are gone", 1);
            int bytes = (int) Math.min(Integer.MAX_VALUE, files.values().stream().mapToLong(b -> b.length).sum() + 1);
            String md = SkillText.servable(files.get(SkillFolders.SKILL_MD));
            if (md == null) return new Loaded(null, "its SKILL.md is not UTF-8 text (or holds a NUL byte)", 1);
            try {
                var doc = SkillDocuments.parse(md,
                        r.scope() + ":" + v.name() + "@" + v.hash());
                return new Loaded(new Skill(doc, r.scope().toString(), new StoredFiles(v.name() + "@" + v.hash(), files), v.hash()), null, bytes);
            } catch (SkillFormatException e) {
                return new Loaded(null, e.getMessage(), 1);
            }
        });
    }

    private record Loaded(Skill skill, String problem, int bytes) {}

    private List<SkillRepository.Resolved> resolved(String agentId) {
        try {
            return repository.resolvedFor(agentId);
        } catch (RuntimeException storeDown) {
            return List.of();   // must not throw: an agent without the repository's skills still runs
        }
    }

    /** A stored version's files, served from memory, paths checked like a folder's. */
    private record StoredFiles(String location, Map<String, byte[]> files) implements SkillFiles {
        @Override
        public List<String> list() { return List.copyOf(new java.util.TreeSet<>(files.keySet())); }

        @Override
        public byte[] read(String path, int maxBytes) throws SkillFileException {
            String p = String.join("/", SkillPaths.names(path));
            byte[] b = files.get(p);
            if (b == null) throw new SkillFileException("'" + dev.carapace.text.Excerpt.clip(path, 120) + "' is not a file of " + location);
            if (b.length > maxBytes) throw new SkillFileException("'" + p + "' is " + b.length + " bytes, over the " + maxBytes + " allowed");
            return b.clone();
        }

        @Override
        public String location() { return "repo:" + location; }
    }
}
