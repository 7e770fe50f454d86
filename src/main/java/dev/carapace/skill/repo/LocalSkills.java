package dev.carapace.skill.repo;

import dev.carapace.skill.FolderSkillFiles;
import dev.carapace.skill.SkillFileException;
import dev.carapace.skill.SkillFolders;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Skill files from the local disk, for the command line: a skill's folder (read like any skill folder: confined, no
 * symlinks followed or listed), or a {@code .zip}/{@code .tar.gz} of one (read by {@link SkillArchives}); and for an
 * import, a folder of skill folders (each sub-folder with a {@code SKILL.md}) or an archive of them.
 */
public final class LocalSkills {

    /** The largest archive file read. */
    public static final long MAX_ARCHIVE_BYTES = 64L * 1024 * 1024;

    private LocalSkills() {}

    /** One skill's files from a folder or an archive. */
    public static Map<String, byte[]> one(Path path) {
        return Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS) ? folder(path, "") : archive(path);
    }

    /** Every skill under a folder (its sub-folders holding a SKILL.md, and itself if it holds one) or in an archive. */
    public static Map<String, byte[]> many(Path path) {
        if (!Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) return archive(path);
        Map<String, byte[]> out = new TreeMap<>();
        if (Files.isRegularFile(path.resolve(SkillFolders.SKILL_MD), LinkOption.NOFOLLOW_LINKS)) out.putAll(folder(path, ""));
        try (Stream<Path> subs = Files.list(path)) {
            for (Path sub : subs.sorted().toList()) {
                if (Files.isDirectory(sub, LinkOption.NOFOLLOW_LINKS)
                        && Files.isRegularFile(sub.resolve(SkillFolders.SKILL_MD), LinkOption.NOFOLLOW_LINKS)) {
                    out.putAll(folder(sub, sub.getFileName() + "/"));
                }
            }
        } catch (IOException e) {
            throw invalid(path + ": cannot be listed (" + e.getMessage() + ")");
        }
        return out;
    }

    private static Map<String, byte[]> folder(Path dir, String prefix) {
        Map<String, byte[]> out = new TreeMap<>();
        try {
            FolderSkillFiles files = new FolderSkillFiles(dir.toRealPath());
            List<String> paths = files.list();
            for (String p : paths) out.put(prefix + p, files.read(p, SkillFolders.MAX_FILE_BYTES));
        } catch (SkillFileException e) {
            throw invalid(dir + ": " + e.getMessage());
        } catch (IOException e) {
            throw invalid(dir + ": cannot be read (" + e.getMessage() + ")");
        }
        return out;
    }

    private static Map<String, byte[]> archive(Path file) {
        try {
            if (!Files.isRegularFile(file)) throw invalid(file + ": neither a folder nor an archive file");
            if (Files.size(file) > MAX_ARCHIVE_BYTES) {
                throw new SkillRepoException(SkillRepoException.Kind.TOO_LARGE, "archive", file + ": larger than "
                        + MAX_ARCHIVE_BYTES + " bytes");
            }
            try (InputStream in = Files.newInputStream(file)) {
                return SkillArchives.read(in.readNBytes((int) MAX_ARCHIVE_BYTES + 1), SkillArchives.Limits.DEFAULT);
            }
        } catch (IOException e) {
            throw invalid(file + ": cannot be read (" + e.getMessage() + ")");
        }
    }

    private static SkillRepoException invalid(String message) {
        return new SkillRepoException(SkillRepoException.Kind.INVALID, "path", message);
    }
}
