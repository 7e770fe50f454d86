package dev.carapace.agent.tools;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;

import java.io.IOException;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;

/**
 * Creates the missing directories of a path below the workspace root, each with {@code mkdirat} relative to a
 * descriptor of its parent, and every parent opened with {@code openat(O_DIRECTORY|O_NOFOLLOW)} from the root's
 * descriptor. A path-based {@code mkdir} would follow a parent that was just swapped for a symlink and create the
 * directory outside; here a swapped parent makes the open fail (ELOOP or ENOTDIR), and {@code mkdirat} on an open
 * descriptor can only create inside the directory that descriptor names. Java has no {@code mkdirat}, hence JNA.
 */
final class DirectoryMaker {

    /** Called with the real path of a directory about to be created; may refuse. */
    interface BeforeCreate {
        void check(Path real) throws WorkspaceException;
    }

    private interface LibC extends Library {
        int open(String path, int flags) throws LastErrorException;

        int openat(int dirfd, String path, int flags) throws LastErrorException;

        int mkdirat(int dirfd, String path, int mode) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    /** Linux's open flags, whose values differ between architectures. */
    private record Flags(int directory, int nofollow, int cloexec) {
        static Flags of(String arch) {
            return switch (arch.toLowerCase(Locale.ROOT)) {
                case "amd64", "x86_64", "riscv64", "loongarch64" -> new Flags(0200000, 0400000, 02000000);
                case "aarch64", "arm64" -> new Flags(040000, 0100000, 02000000);
                default -> null;
            };
        }
    }

    private static final int ENOENT = 2;
    private static final int EEXIST = 17;

    /** Loaded on first use: reads never need it. */
    private static final class Native0 {
        static final LibC LIBC = Native.load("c", LibC.class);
        static final Flags FLAGS = Flags.of(System.getProperty("os.arch", ""));
    }

    private DirectoryMaker() {}

    /**
     * Makes sure {@code root/names...} are directories, creating the missing ones (mode 0777 less the umask).
     *
     * @return the indexes of the names this call created
     * @throws WorkspaceException if a name is not a directory, or was swapped for a symlink, or {@code before}
     *                            refuses
     */
    static BitSet ensure(Path root, List<String> names, String shown, BeforeCreate before)
            throws IOException, WorkspaceException {
        Flags flags;
        LibC c;
        try {
            flags = Native0.FLAGS;
            c = Native0.LIBC;
        } catch (LinkageError e) {
            // JNA's native part could not be loaded (e.g. no writable temp directory to unpack it to): refuse to
            // create rather than fall back to a path-based mkdir a swap could redirect.
            throw new WorkspaceException("cannot create directories here (native access unavailable); create "
                    + Workspace.quote(shown) + "'s directory first");
        }
        if (flags == null) {
            throw new WorkspaceException("cannot create directories safely on this platform ("
                    + System.getProperty("os.arch") + "); create " + Workspace.quote(shown) + "'s directory first");
        }
        int dirFlags = flags.directory | flags.nofollow | flags.cloexec; // O_RDONLY is 0
        BitSet created = new BitSet(names.size());
        int fd;
        try {
            fd = c.open(root.toString(), flags.directory | flags.cloexec); // the root is the trust anchor
        } catch (LastErrorException e) {
            throw new IOException("cannot open the workspace (errno " + e.getErrorCode() + ")");
        }
        Path abs = root;
        try {
            for (int i = 0; i < names.size(); i++) {
                String name = names.get(i);
                abs = abs.resolve(name);
                int next;
                try {
                    next = c.openat(fd, name, dirFlags);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != ENOENT) throw changed(shown); // ELOOP (a symlink), ENOTDIR (a file), ...
                    before.check(abs);
                    try {
                        c.mkdirat(fd, name, 0777);
                        created.set(i);
                    } catch (LastErrorException made) {
                        if (made.getErrorCode() != EEXIST) {
                            throw new IOException("cannot create a directory (errno " + made.getErrorCode() + ")");
                        }
                        // someone else made it; the open below decides
                    }
                    try {
                        next = c.openat(fd, name, dirFlags);
                    } catch (LastErrorException again) {
                        throw changed(shown);
                    }
                }
                closeQuietly(fd);
                fd = next;
            }
        } finally {
            closeQuietly(fd);
        }
        return created;
    }

    /** A failed close of a read-only directory descriptor loses nothing; it must not hide the real outcome. */
    private static void closeQuietly(int fd) {
        try {
            Native0.LIBC.close(fd);
        } catch (LastErrorException ignored) {
            // the descriptor is released by the kernel either way on Linux
        }
    }

    private static WorkspaceException changed(String shown) {
        return new WorkspaceException(Workspace.quote(shown) + " changed while being opened; refused");
    }
}
