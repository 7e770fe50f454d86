package dev.carapace.skill;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Skills from folders: for each agent, its folders in precedence order (its workspace's {@code skills/} first, then
 * configured extra folders). When two folders hold a skill of the same name, the earlier folder's is used, as in
 * OpenClaw. Folders are read on every call (once per run), so an edited skill is seen by the next run.
 */
public final class FolderSkillSource implements SkillSource {

    /** A skills folder and the origin its skills get. */
    public record Root(Path dir, String origin) {}

    private final Function<String, List<Root>> rootsFor;

    /** @param rootsFor the skills folders of an agent, highest precedence first; empty for an unknown agent */
    public FolderSkillSource(Function<String, List<Root>> rootsFor) {
        this.rootsFor = rootsFor;
    }

    @Override
    public List<Skill> skillsFor(String agentId) {
        return load(agentId).skills();
    }

    @Override
    public List<String> skippedFor(String agentId) {
        return load(agentId).skipped();
    }

    private SkillFolders.Loaded load(String agentId) {
        Map<String, Skill> byName = new LinkedHashMap<>();
        List<String> skipped = new ArrayList<>();
        for (Root root : rootsFor.apply(agentId)) {
            SkillFolders.Loaded loaded = SkillFolders.load(root.dir(), root.origin());
            for (Skill s : loaded.skills()) byName.putIfAbsent(s.name(), s);
            skipped.addAll(loaded.skipped());
        }
        List<Skill> skills = new ArrayList<>(byName.values());
        skills.sort(Comparator.comparing(Skill::name));
        return new SkillFolders.Loaded(skills, skipped);
    }
}
