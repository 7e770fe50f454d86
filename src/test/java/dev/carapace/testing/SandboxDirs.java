package dev.carapace.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

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

    /** Whether this JVM runs as root (then sandboxed commands run as the sandbox user). */
    public static boolean root() throws IOException {
        return (int) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0;
    }
}
