package dev.carapace.skill;

import java.util.Objects;

/**
 * A loaded skill: its parsed {@code SKILL.md}, where it came from, its files (read on demand) and their hash.
 *
 * @param origin      where it was found: {@code workspace}, {@code dir} (a configured extra folder), {@code org},
 *                    {@code team:NAME} or {@code agent:NAME} (the org repository's scopes)
 * @param contentHash {@link SkillHash} of its files
 */
public record Skill(SkillDocument doc, String origin, SkillFiles files, String contentHash) {

    public Skill {
        Objects.requireNonNull(doc, "doc");
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(files, "files");
        Objects.requireNonNull(contentHash, "contentHash");
    }

    public String name() {
        return doc.name();
    }
}
