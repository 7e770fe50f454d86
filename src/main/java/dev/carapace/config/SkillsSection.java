package dev.carapace.config;

import dev.carapace.skill.AutoApprove;
import dev.carapace.skill.SkillSettings;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the {@code skills:} section: {@code dirs} (extra skills folders, relative to the config's folder), {@code
 * prompt: {max_tokens, max_skill_tokens}} (the skills block's token budgets) and {@code entries} (per skill, by its
 * name or {@code skillKey}: {@code enabled} and {@code config}, as OpenClaw's {@code skills.entries}) and {@code
 * auto_approve} (which published versions the org repository approves without an admin). Each agent's
 * workspace {@code skills/} folder needs no setting.
 */
final class SkillsSection {

    /** The words of {@code auto_approve}, in the order the error message lists them. */
    private static final Map<String, AutoApprove> AUTO_APPROVE = orderedChoices();

    private SkillsSection() {}

    private static Map<String, AutoApprove> orderedChoices() {
        Map<String, AutoApprove> m = new LinkedHashMap<>();
        for (AutoApprove a : AutoApprove.values()) m.put(a.name().toLowerCase(java.util.Locale.ROOT), a);
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The section, or {@link SkillSettings#DEFAULT} when absent; problems go to the reader's {@code Problems}. */
    @SuppressWarnings("unchecked")
    static SkillSettings read(MapReader r, Path baseDir, dev.carapace.yaml.Problems problems) {
        List<Path> dirs = new ArrayList<>();
        List<Scalar> ds = r.scalars("dirs", "a list of skills folders", "a folder's path");
        if (ds != null) {
            for (Scalar s : ds) {
                Path dir;
                try {
                    dir = baseDir.resolve(s.text()).toAbsolutePath().normalize();
                } catch (RuntimeException e) {
                    r.errorAt(s, r.pathOf("dirs"), "not a valid path: " + dev.carapace.yaml.YamlTree.describe(s));
                    continue;
                }
                if (!Files.isDirectory(dir)) {
                    r.errorAt(s, r.pathOf("dirs"), "folder '" + dir + "' does not exist (a skills folder holds one"
                            + " folder per skill, each with its SKILL.md)");
                } else if (dirs.contains(dir)) {
                    r.errorAt(s, r.pathOf("dirs"), "folder '" + dir + "' is listed twice");
                } else {
                    dirs.add(dir);
                }
            }
        }
        MapReader prompt = r.object("prompt");
        int maxTokens = prompt.integer("max_tokens", 100, 100_000, SkillSettings.DEFAULT_PROMPT_TOKENS);
        int maxSkillTokens = prompt.integer("max_skill_tokens", 10, 1_000, SkillSettings.DEFAULT_SKILL_TOKENS);
        prompt.finish();
        Map<String, SkillSettings.Entry> entries = new LinkedHashMap<>();
        for (Entry e : r.entries("entries")) {
            MapReader one = MapReader.of(e.value(), dev.carapace.yaml.KeyPath.key(r.pathOf("entries"), e.key()),
                    e.line(), e.column(), problems);
            Boolean enabled = one.value("enabled") == null ? null : one.bool("enabled", true);
            Node config = one.value("config");
            Map<String, Object> settings = Map.of();
            if (config instanceof MapNode m) {
                settings = (Map<String, Object>) JobsSection.plain(m);
            } else if (config != null) {
                one.wrongType(config, "config", "a mapping of the skill's settings");
            }
            one.finish();
            entries.put(e.key(), new SkillSettings.Entry(enabled, settings));
        }
        AutoApprove autoApprove = r.choice("auto_approve", AUTO_APPROVE, AutoApprove.CLEAN);
        r.finish();
        if (maxSkillTokens > maxTokens) {
            prompt.errorHere("max_skill_tokens (" + maxSkillTokens + ") is more than max_tokens (" + maxTokens + ")");
            maxSkillTokens = maxTokens;
        }
        return new SkillSettings(dirs, maxTokens, maxSkillTokens, entries, autoApprove);
    }
}
