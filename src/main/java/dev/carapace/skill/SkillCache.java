package dev.carapace.skill;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Skills already loaded, by folder, reused while the folder's files stay the same (same paths, sizes and
 * modification times): a run's prompt and each {@code skill} call then list the folder instead of parsing and
 * hashing every skill again. An edit to any file of a skill reloads it on the next look.
 */
public final class SkillCache {

    /** Past this many folders the cache starts over, so a folder churning names cannot grow it without end. */
    static final int MAX_ENTRIES = 20_000;

    private record Key(Path folder, String origin) {}

    private record Cached(List<FolderSkillFiles.Stamp> stamps, Skill skill) {}

    private final ConcurrentHashMap<Key, Cached> cached = new ConcurrentHashMap<>();

    /** The skill loaded from {@code folder} when its files still have these {@code stamps}, or null. */
    Skill get(Path folder, String origin, List<FolderSkillFiles.Stamp> stamps) {
        Cached c = cached.get(new Key(folder, origin));
        return c != null && c.stamps().equals(stamps) ? c.skill() : null;
    }

    void put(Path folder, String origin, List<FolderSkillFiles.Stamp> stamps, Skill skill) {
        if (cached.size() >= MAX_ENTRIES) cached.clear();
        cached.put(new Key(folder, origin), new Cached(stamps, skill));
    }
}
