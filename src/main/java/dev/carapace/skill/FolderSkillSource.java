package dev.carapace.skill;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Skills from folders: for each agent, its folders in precedence order (the composition root builds one source for
 * the operator's configured folders and one for the agent's workspace). When two folders hold a skill of the same
 * name, the earlier folder's is used. Folders are listed on every call (a run's prompt, each {@code skill} call), so an added or edited skill
 * is seen at the next one; a skill whose files did not change is not parsed again ({@link SkillCache}). A folder
 * that cannot be loaded is logged once for operators, never shown to a model.
 */
public final class FolderSkillSource implements SkillSource {

    /**
     * A skills folder and the origin its skills get.
     *
     * @param confine null, or a real folder {@code dir} must stay in even through symlinks: an agent's workspace, in
     *                which the agent itself could make {@code skills} a link to anywhere
     */
    public record Root(Path dir, String origin, Path confine) {
        public Root(Path dir, String origin) {
            this(dir, origin, null);
        }
    }

    private static final Logger log = LoggerFactory.getLogger(FolderSkillSource.class);
    /** Each skipped folder is logged once (it is met on every run until fixed); past this many, no more. */
    private static final int MAX_LOGGED = 10_000;

    private final Function<String, List<Root>> rootsFor;
    private final SkillCache cache = new SkillCache();
    private final Set<String> logged = ConcurrentHashMap.newKeySet();

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
            SkillFolders.Loaded loaded = SkillFolders.load(root.dir(), root.origin(), cache, root.confine());
            for (Skill s : loaded.skills()) byName.putIfAbsent(s.name(), s);
            skipped.addAll(loaded.skipped());
            for (String line : loaded.skipped()) {
                if (logged.size() < MAX_LOGGED && logged.add(line)) log.warn("skill not loaded: {}", line);
            }
        }
        List<Skill> skills = new ArrayList<>(byName.values());
        skills.sort(Comparator.comparing(Skill::name));
        return new SkillFolders.Loaded(skills, skipped);
    }
}
