package dev.carapace.skill;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The skills an agent may use, eligible or not (gating decides that later). Folders on disk
 * ({@link FolderSkillSource}) and the org repository's installed, approved skills are sources.
 */
@FunctionalInterface
public interface SkillSource {

    /** The skills of {@code agentId}, one per name, in a stable order. Must not throw. */
    List<Skill> skillsFor(String agentId);

    /**
     * What was found but could not be loaded for {@code agentId} (a malformed {@code SKILL.md}, a symlink out of
     * the skills folder), one line each naming the file and the reason; for operators, never for the prompt.
     */
    default List<String> skippedFor(String agentId) {
        return List.of();
    }

    /**
     * The skills of every source, sorted by name; where two hold a skill of the same name, the earlier source's is
     * used (the agent's own folder before the org repository, say).
     */
    static SkillSource firstWins(List<SkillSource> sources) {
        List<SkillSource> all = List.copyOf(sources);
        return new SkillSource() {
            @Override
            public List<Skill> skillsFor(String agentId) {
                Map<String, Skill> byName = new TreeMap<>();
                for (SkillSource s : all) for (Skill k : s.skillsFor(agentId)) byName.putIfAbsent(k.name(), k);
                return List.copyOf(byName.values());
            }

            @Override
            public List<String> skippedFor(String agentId) {
                return all.stream().flatMap(s -> s.skippedFor(agentId).stream()).toList();
            }
        };
    }
}
