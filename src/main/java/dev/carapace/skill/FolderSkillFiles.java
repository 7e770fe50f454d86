package dev.carapace.skill;

import dev.carapace.fs.PathException;
import dev.carapace.fs.RealPaths;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;

/**
 * A skill's files in a folder on disk. A path asked for is checked by {@link SkillPaths}, then walked by
 * {@link RealPaths} confined to the folder (so a symlink out of it is refused at the first name that leaves), and the
 * file is opened without following links. Symlinks are never listed nor hashed.
 *
 * @param folder the skill's folder as a real path (absolute, without symlinks)
 */
public record FolderSkillFiles(Path folder) implements SkillFiles {

    /** The most files a skill folder may hold (OpenClaw's managed bundles stop at the same number). */
    public static final int MAX_FILES = 256;
    /** How deep a listing goes below the skill's folder. */
    public static final int MAX_DEPTH = 8;

    @Override
    public List<String> list() throws SkillFileException {
        return stamps().stream().map(Stamp::path).toList();
    }

    /** One regular file as listed: its path, size and last modification, to tell whether it changed. */
    public record Stamp(String path, long size, long modifiedMillis) {}

    /** Every regular file of the skill with its size and modification time, sorted by path; symlinks left out. */
    public List<Stamp> stamps() throws SkillFileException {
        List<Stamp> out = new ArrayList<>();
        try {
            Files.walkFileTree(folder, EnumSet.noneOf(java.nio.file.FileVisitOption.class), MAX_DEPTH,
                    new SimpleFileVisitor<>() {
                        @Override
                        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                            if (!attrs.isRegularFile()) return FileVisitResult.CONTINUE;
                            out.add(new Stamp(folder.relativize(file).toString().replace('\\', '/'), attrs.size(),
                                    attrs.lastModifiedTime().toMillis()));
                            return out.size() > MAX_FILES ? FileVisitResult.TERMINATE : FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFileFailed(Path file, IOException e) {
                            return FileVisitResult.CONTINUE;
                        }
                    });
        } catch (IOException e) {
            throw new SkillFileException("cannot list the skill's files (" + RealPaths.describe(e) + ")");
        }
        if (out.size() > MAX_FILES) {
            throw new SkillFileException("the skill holds more than " + MAX_FILES + " files");
        }
        out.sort(Comparator.comparing(Stamp::path));
        return List.copyOf(out);
    }

    @Override
    public byte[] read(String path, int maxBytes) throws SkillFileException {
        List<String> names = SkillPaths.names(path);
        if (names.isEmpty()) throw SkillPaths.refused(path, "the path names the skill's folder, not a file");
        RealPaths.Resolved resolved;
        try {
            resolved = RealPaths.resolve(folder, Path.of(String.join("/", names)), folder, path);
        } catch (PathException e) {
            throw new SkillFileException(e.getMessage().replace("the workspace", "the skill's folder"));
        } catch (RuntimeException e) {   // InvalidPathException: a name the file system cannot hold
            throw SkillPaths.refused(path, "not a valid path");
        }
        if (!resolved.exists()) {
            throw new SkillFileException(SkillText.quote(path) + ": no such file in the skill");
        }
        Path real = resolved.real();
        try (SeekableByteChannel ch = Files.newByteChannel(real, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
                throw new SkillFileException(SkillText.quote(path) + " is not a file");
            }
            if (ch.size() > maxBytes) {
                throw new SkillFileException(SkillText.quote(path) + " is " + ch.size() + " bytes; at most "
                        + maxBytes + " are read");
            }
            try (InputStream in = Channels.newInputStream(ch)) {
                byte[] bytes = in.readNBytes(maxBytes + 1);
                if (bytes.length > maxBytes) {
                    throw new SkillFileException(SkillText.quote(path) + " grew past " + maxBytes + " bytes");
                }
                return bytes;
            }
        } catch (IOException e) {
            throw new SkillFileException(SkillText.quote(path) + " cannot be read (" + RealPaths.describe(e) + ")");
        }
    }

    @Override
    public String location() {
        return folder.toString();
    }
}
