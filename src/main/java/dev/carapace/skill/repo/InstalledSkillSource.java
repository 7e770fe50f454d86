package dev.carapace.skill.repo;

import dev.carapace.skill.Skill;
import dev.carapace.skill.SkillDocuments;
import dev.carapace.skill.SkillFileException;
import dev.carapace.skill.SkillFiles;
import dev.carapace.skill.SkillFolders;
import dev.carapace.skill.SkillFormatException;
import dev.carapace.skill.SkillPaths;
import dev.carapace.skill.SkillSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The org repository's skills as an agent sees them: its installs (agent, then team, then org scope, the most
 * specific per name), approved versions only, each served from the stored files of its pinned hash. A version
 * rejected after it was installed stops being served at once.
 */
public final class InstalledSkillSource implements SkillSource {

    private final SkillRepository repository;

    public InstalledSkillSource(SkillRepository repository) {
        this.repository = repository;
    }

    /**
     * {@code local} first, then this repository's skills whose names {@code local} does not have: a skill in the
     * agent's workspace or a configured folder overrides the org's install of the same name, as OpenClaw's
     * workspace skills override its managed ones.
     */
    public SkillSource behind(SkillSource local) {
        return new SkillSource() {
            @Override
            public List<Skill> skillsFor(String agentId) {
                List<Skill> out = new ArrayList<>(local.skillsFor(agentId));
                java.util.Set<String> names = new java.util.HashSet<>();
                out.forEach(s -> names.add(s.name()));
                for (Skill s : InstalledSkillSource.this.skillsFor(agentId)) if (names.add(s.name())) out.add(s);
                return out;
            }

            @Override
            public List<String> skippedFor(String agentId) {
                List<String> out = new ArrayList<>(local.skippedFor(agentId));
                out.addAll(InstalledSkillSource.this.skippedFor(agentId));
                return out;
            }
        };
    }

    @Override
    public List<Skill> skillsFor(String agentId) {
        List<Skill> out = new ArrayList<>();
        for (SkillRepository.Resolved r : resolved(agentId)) {
            VersionStore.Stored v = r.version();
            try {
                var doc = SkillDocuments.parse(new String(v.files().get(SkillFolders.SKILL_MD), StandardCharsets.UTF_8),
                        r.scope() + ":" + v.name() + "@" + v.hash());
                out.add(new Skill(doc, r.scope().toString(), new StoredFiles(v.name() + "@" + v.hash(), v.files()), v.hash()));
            } catch (SkillFormatException | RuntimeException e) {
                // published versions parsed when they were published; a parser change is reported by skippedFor
            }
        }
        return out;
    }

    @Override
    public List<String> skippedFor(String agentId) {
        List<String> out = new ArrayList<>();
        for (SkillRepository.Resolved r : resolved(agentId)) {
            try {
                SkillDocuments.parse(new String(r.version().files().get(SkillFolders.SKILL_MD), StandardCharsets.UTF_8), "SKILL.md");
            } catch (SkillFormatException | RuntimeException e) {
                out.add(r.scope() + ":" + r.version().name() + "@" + r.version().hash() + ": " + e.getMessage());
            }
        }
        return out;
    }

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
