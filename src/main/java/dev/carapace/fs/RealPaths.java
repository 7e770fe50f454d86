package dev.carapace.fs;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.List;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The one file-path canonicaliser. The policy's decision and the file tools' confinement both call it, so the real
 * path a rule is matched against is computed exactly as the real path a tool then opens (two canonicalisers that
 * disagreed on {@code ..} or a symlink would let a path pass one and mean something else to the other).
 *
 * <p>A path is walked one name at a time from a real directory: every existing name is examined without following
 * it; a symlink is resolved to its real path by the OS ({@link Path#toRealPath}); {@code ..} goes to the physical
 * parent (the position is always a real path, so its lexical parent is its physical one). Once a name does not
 * exist, the remaining names are appended as they are, and {@code .} or {@code ..} among them is refused: what they
 * would mean depends on directories that are not there yet. Dangling symlinks and symlink loops are refused: where
 * they lead cannot be told without following them.
 *
 * <p>With a {@code confine} directory (the agent's workspace), every position of the walk and every symlink's target
 * must stay under it: a walk never continues from outside, so {@code link-out/../x} is refused even if {@code x}
 * exists inside.
 */
public final class RealPaths {

    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    private RealPaths() {}

    /**
     * @param real   absolute, without symlinks
     * @param exists whether the whole path existed when walked
     */
    public record Resolved(Path real, boolean exists) {}

    /**
     * Resolves {@code relative} from {@code start}.
     *
     * @param start    a real, absolute directory ({@code /} for an absolute path)
     * @param relative the names to walk; may hold {@code .} and {@code ..}
     * @param confine  null, or the real directory nothing may leave (see above)
     * @param raw      the path as its author gave it, for messages
     */
    public static Resolved resolve(Path start, Path relative, Path confine, String raw) throws PathException {
        Path cur = start;
        boolean exists = true;
        String walked = "";
        for (Path element : relative) {
            String name = element.toString();
            String before = walked;
            walked = walked.isEmpty() ? name : walked + "/" + name;
            if (!exists) {
                if (name.equals(".") || name.equals("..")) {
                    throw new PathException(quote(raw) + ": '" + name + "' after " + quote(before)
                            + ", which does not exist");
                }
                cur = cur.resolve(name);
                continue;
            }
            if (!Files.isDirectory(cur, NOFOLLOW)) throw new PathException(quote(before) + " is not a directory");
            if (name.equals(".")) continue;
            if (name.equals("..")) {
                if (confine != null && cur.equals(confine)) throw escapes(raw);
                if (cur.getParent() != null) cur = cur.getParent();
                continue;
            }
            Path candidate = cur.resolve(name);
            BasicFileAttributes attrs;
            try {
                attrs = Files.readAttributes(candidate, BasicFileAttributes.class, NOFOLLOW);
            } catch (NoSuchFileException e) {
                exists = false;
                cur = candidate;
                continue;
            } catch (IOException e) {
                throw new PathException(quote(walked) + " cannot be resolved (" + describe(e) + ")");
            }
            if (!attrs.isSymbolicLink()) {
                cur = candidate;
                continue;
            }
            Path real;
            try {
                real = candidate.toRealPath();
            } catch (NoSuchFileException e) {
                throw dangling(candidate, cur, walked, confine);
            } catch (FileSystemException e) {
                if (isLoop(e)) throw new PathException(quote(walked) + " is a symlink loop");
                throw new PathException(quote(walked) + " cannot be resolved (" + describe(e) + ")");
            } catch (IOException e) {
                throw new PathException(quote(walked) + " cannot be resolved (" + describe(e) + ")");
            }
            if (confine != null && !real.startsWith(confine)) {
                throw new PathException(quote(walked) + " is a symlink to outside the workspace");
            }
            cur = real;
        }
        if (confine != null && !cur.startsWith(confine)) throw escapes(raw); // cannot happen; kept as the final word
        return new Resolved(cur, exists);
    }

    private static PathException dangling(Path link, Path dir, String walked, Path confine) {
        if (confine != null) {
            try {
                Path target = Files.readSymbolicLink(link);
                Path lexical = (target.isAbsolute() ? target : dir.resolve(target)).normalize();
                if (!lexical.startsWith(confine)) {
                    return new PathException(quote(walked) + " is a symlink to outside the workspace");
                }
            } catch (IOException | RuntimeException e) {
                // fall through to the generic message
            }
        }
        return new PathException(quote(walked) + " is a dangling symlink (its target does not exist)");
    }

    /**
     * The real path: symlinks followed, {@code ..} resolved, spelled as the disk spells it. A path that does not
     * exist yet is its deepest existing ancestor's real path with the rest appended (a data folder not yet created
     * still lands where its parent really is). Unlike {@link #resolve} it never refuses: for comparing configured
     * paths (workspaces, writable roots, the files they must not hold), not for opening what a model named.
     */
    public static Path real(Path p) {
        try {
            return p.toAbsolutePath().toRealPath();   // '..' after a symlink is resolved as the OS does
        } catch (IOException | SecurityException e) {
            // does not exist (yet): below
        }
        Path abs = p.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) existing = existing.getParent();
        if (existing == null) return abs;
        try {
            return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
        } catch (IOException | SecurityException e) {
            return abs;
        }
    }

    /**
     * The first symbolic link on the way to {@code path} (as written, made absolute) that lies in one of
     * {@code writable} (real paths), or null. Whoever can write there can repoint the link, and with it whatever is
     * configured through it: such a path must not be trusted for a workspace, a protected file or a policy root.
     */
    public static Path linkInside(Path path, List<Path> writable) {
        Path written = path.toAbsolutePath().normalize();
        Path p = written.getRoot();
        for (Path name : written) {
            p = p.resolve(name);
            if (!Files.isSymbolicLink(p)) continue;
            Path dir = real(p.getParent());
            for (Path w : writable) if (dir.startsWith(w)) return p;
        }
        return null;
    }

    /** A path that leaves {@code confine} by its names alone. */
    public static PathException escapes(String raw) {
        return new PathException(quote(raw) + ": path escapes the workspace");
    }

    /** Whether the OS refused because of a symlink ({@code ELOOP}), e.g. an {@code O_NOFOLLOW} open that met one. */
    public static boolean isLoop(FileSystemException e) {
        String reason = e.getReason();
        return reason != null && reason.contains("levels of symbolic links");
    }

    /** A short, path-free description of an I/O failure. */
    public static String describe(IOException e) {
        if (e instanceof NoSuchFileException) return "no such file or directory";
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof FileAlreadyExistsException) return "already exists";
        if (e instanceof NotDirectoryException) return "not a directory";
        if (e instanceof FileSystemException f) {
            return f.getReason() != null ? f.getReason() : f.getClass().getSimpleName();
        }
        // Other messages may carry paths; say only what kind of failure it was.
        return "I/O error: " + e.getClass().getSimpleName();
    }

    /** A path for a message, quoted and shortened. */
    public static String quote(String path) {
        String p = path.length() > 200 ? path.substring(0, 200) + "..." : path;
        return "'" + p + "'";
    }
}
