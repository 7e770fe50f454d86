package dev.carapace.skill;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The config's {@code skills:} section: where skills come from besides each agent's own {@code skills/} folder, how
 * much of the system prompt they may take, per-skill settings, and the org repository's review policy.
 *
 * @param dirs            extra skills folders for every agent, before the org repository's installs and the agent's
 *                        workspace {@code skills/} (the first holding a name wins)
 * @param maxPromptTokens the most tokens the skills block of a system prompt may have, its heading included
 * @param maxSkillTokens  the most tokens one skill's line may have; a longer description is shortened
 * @param entries         per-skill settings by the skill's config key ({@code metadata.openclaw.skillKey}, else its
 *                        name), as OpenClaw's {@code skills.entries}
 * @param autoApprove     which versions published to the org repository are approved without an admin
 */
public record SkillSettings(List<Path> dirs, int maxPromptTokens, int maxSkillTokens, Map<String, Entry> entries,
                            AutoApprove autoApprove) {

    public static final int DEFAULT_PROMPT_TOKENS = 1500;
    public static final int DEFAULT_SKILL_TOKENS = 60;
    public static final SkillSettings DEFAULT = new SkillSettings(List.of(), DEFAULT_PROMPT_TOKENS,
            DEFAULT_SKILL_TOKENS, Map.of());

    public SkillSettings {
        dirs = List.copyOf(dirs);
        entries = Map.copyOf(entries);
        if (autoApprove == null) autoApprove = AutoApprove.CLEAN;
        if (maxPromptTokens < 1 || maxSkillTokens < 1) throw new IllegalArgumentException("token budgets must be >= 1");
    }

    /** Settings with the default review policy ({@link AutoApprove#CLEAN}). */
    public SkillSettings(List<Path> dirs, int maxPromptTokens, int maxSkillTokens, Map<String, Entry> entries) {
        this(dirs, maxPromptTokens, maxSkillTokens, entries, AutoApprove.CLEAN);
    }

    /** The entry of a skill, or {@link Entry#NONE}. */
    public Entry entry(String key) {
        return entries.getOrDefault(key, Entry.NONE);
    }

    /**
     * One skill's settings.
     *
     * @param enabled false turns the skill off for every agent; null leaves it to its requirements
     * @param config  free settings of the skill, for {@code requires.config} paths (strings, numbers, booleans,
     *                lists, maps)
     */
    public record Entry(Boolean enabled, Map<String, Object> config) {
        public static final Entry NONE = new Entry(null, Map.of());

        public Entry {
            config = config == null ? Map.of() : config;
        }
    }
}
