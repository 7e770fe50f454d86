package dev.carapace.skill;

import java.util.List;

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
}
