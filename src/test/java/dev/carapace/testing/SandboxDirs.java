package dev.carapace.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;

/**
 * Test folders and sockets the sandbox user can reach. When the tests run as root, sandboxed commands run as the
 * sandbox user (nobody), whose bubblewrap must be able to look up every path it binds; JUnit's temporary folders are
 * mode 0700, so a test opens its own to search (0711: no listing) as an operator would for a workspace's parents.
 */
public final class SandboxDirs {

    private SandboxDirs() {}

    /** Lets everyone search (not list) {@code dir}; returns it. */
    public static Path searchable(Path dir) throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        return dir;
    }

    /** Lets everyone connect to the Unix socket {@code socket}; returns it. */
    public static Path connectable(Path socket) throws IOException {
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
        return socket;
    }

    /**
     * Copies a file or a folder tree to {@code to}, readable by everyone: for a child process run as the sandbox user,
     * which cannot read the build's folders under a 0700 home.
     */
    public static void copyReadable(Path from, Path to) throws IOException {
        if (!Files.isDirectory(from)) {
            Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
            Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rw-r--r--"));
            return;
        }
        try (Stream<Path> all = Files.walk(from)) {
            for (Path f : (Iterable<Path>) all::iterator) {
                Path t = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(t);
                    Files.setPosixFilePermissions(t, PosixFilePermissions.fromString("rwxr-xr-x"));
                } else {
                    Files.copy(f, t);
                    Files.setPosixFilePermissions(t, PosixFilePermissions.fromString("rw-r--r--"));
                }
            }
        }
    }

    /** Whether this JVM runs as root (then sandboxed commands run as the sandbox user). */
    public static boolean root() throws IOException {
        return (int) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0;
    }
}
