package dev.carapace.skill;

import dev.carapace.fs.PathException;
import dev.carapace.fs.RealPaths;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Loads the skills of one skills folder: each {@code <dir>/<folder>/SKILL.md}. A skill folder that is a symlink
 * must lead inside the skills folder, and a {@code SKILL.md} that is a symlink inside its own skill folder: a link
 * out is not followed, it is reported. A folder that cannot be loaded is reported and skipped; its siblings load.
 */
public final class SkillFolders {

    /** The file that makes a folder a skill. */
    public static final String SKILL_MD = "SKILL.md";
    /** Skill folders read per skills folder; past it the rest is reported, not read. */
    public static final int MAX_SKILLS_PER_DIR = 1000;
    /** Bytes of one skill's files read for its hash. */
    public static final int MAX_FILE_BYTES = 1024 * 1024;
    public static final long MAX_TOTAL_BYTES = 8L * 1024 * 1024;

    private SkillFolders() {}

    /** What one folder gave: skills sorted by name, and one line per folder skipped. */
    public record Loaded(List<Skill> skills, List<String> skipped) {
        public Loaded {
            skills = List.copyOf(skills);
            skipped = List.copyOf(skipped);
        }
    }

    /**
     * Loads every skill of {@code dir}; a missing {@code dir} has none.
     *
     * @param origin what each skill's {@link Skill#origin()} says
     */
    public static Loaded load(Path dir, String origin) {
        return load(dir, origin, null, null);
    }

    /**
     * As {@link #load(Path, String)}, reusing the skills {@code cache} holds for folders that did not change.
     *
     * @param confine null, or a real folder that {@code dir} must lie in, symlinks followed (see
     *                {@link FolderSkillSource.Root#confine()}); a {@code dir} leading out of it is not read
     */
    public static Loaded load(Path dir, String origin, SkillCache cache, Path confine) {
        Path root = RealPaths.real(dir);
        if (confine != null && !root.startsWith(confine)) {
            return new Loaded(List.of(), List.of(dir + ": leads outside " + confine + " (a symlink); not read"));
        }
        if (!Files.isDirectory(root)) return new Loaded(List.of(), List.of());
        TreeMap<String, Path> folders = new TreeMap<>();
        List<String> skipped = new ArrayList<>();
        int seen = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (name.startsWith(".")) continue;
                seen++;
                // Keep the first MAX_SKILLS_PER_DIR in name order (the listing's own order is the file system's).
                folders.put(name, p);
                if (folders.size() > MAX_SKILLS_PER_DIR) folders.pollLastEntry();
            }
        } catch (IOException e) {
            return new Loaded(List.of(), List.of(root + ": cannot list the skills folder (" + RealPaths.describe(e) + ")"));
        }
        if (seen > MAX_SKILLS_PER_DIR) {
            skipped.add(root + ": holds " + seen + " entries; only the first " + MAX_SKILLS_PER_DIR
                    + " (in name order) are read as skills");
        }
        Map<String, String> byName = new HashMap<>();
        List<Skill> skills = new ArrayList<>();
        for (Map.Entry<String, Path> f : folders.entrySet()) {
            try {
                Skill skill = loadOne(root, f.getKey(), origin, cache);
                if (skill == null) continue;
                String first = byName.putIfAbsent(skill.name(), f.getKey());
                if (first != null) {
                    skipped.add(root.resolve(f.getKey()) + ": the name '" + skill.name() + "' is already used by "
                            + root.resolve(first) + "; the first (in folder-name order) is used");
                } else {
                    skills.add(skill);
                }
            } catch (SkillFormatException e) {
                skipped.add(e.getMessage());
            } catch (SkillFileException e) {
                skipped.add(root.resolve(f.getKey()) + ": " + e.getMessage());
            }
        }
        skills.sort(Comparator.comparing(Skill::name));
        return new Loaded(skills, skipped);
    }

    /** The skill in {@code root/name}, or null when that entry is not a skill folder at all (a plain file). */
    static Skill loadOne(Path root, String name, String origin, SkillCache cache)
            throws SkillFormatException, SkillFileException {
        Path folder;
        try {
            folder = RealPaths.resolve(root, Path.of(name), root, name).real();
        } catch (PathException e) {
            throw new SkillFileException(e.getMessage().replace("the workspace", "the skills folder")
                    + "; it is not followed");
        }
        if (!Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS)) return null;
        Path skillMd;
        try {
            RealPaths.Resolved r = RealPaths.resolve(folder, Path.of(SKILL_MD), folder, SKILL_MD);
            if (!r.exists()) throw new SkillFileException("no " + SKILL_MD + " in the folder");
            skillMd = r.real();
        } catch (PathException e) {
            throw new SkillFileException(SKILL_MD + ": " + e.getMessage().replace("the workspace",
                    "its skill folder") + "; it is not followed");
        }
        String where = root.resolve(name).resolve(SKILL_MD).toString();
        FolderSkillFiles files = new FolderSkillFiles(folder);
        List<FolderSkillFiles.Stamp> stamps = cache == null ? null : files.stamps();
        Skill known = cache == null ? null : cache.get(folder, origin, stamps);
        if (known != null) return known;
        byte[] bytes = files.read(folder.relativize(skillMd).toString(), SkillDocuments.MAX_BYTES);
        SkillDocument doc = SkillDocuments.parse(utf8(bytes, where), where, name);
        Skill skill = new Skill(doc, origin, files, hash(files));
        if (cache != null) cache.put(folder, origin, stamps, skill);
        return skill;
    }

    /** The {@link SkillHash} of every regular file of the skill, bounded. */
    public static String hash(SkillFiles files) throws SkillFileException {
        Map<String, byte[]> contents = new TreeMap<>();
        long total = 0;
        for (String path : files.list()) {
            byte[] b = files.read(path, MAX_FILE_BYTES);
            total += b.length;
            if (total > MAX_TOTAL_BYTES) {
                throw new SkillFileException("the skill's files are over " + MAX_TOTAL_BYTES + " bytes in all");
            }
            contents.put(path, b);
        }
        return SkillHash.of(contents);
    }

    private static String utf8(byte[] bytes, String where) throws SkillFormatException {
        String text = SkillText.servable(bytes);
        if (text == null) {
            throw new SkillFormatException(where, (SkillText.hasNul(bytes) ? "holds a NUL byte" : "is not UTF-8 text")
                    + "; a SKILL.md is UTF-8 markdown");
        }
        return text;
    }
}
