package dev.carapace.guard.sandbox;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;

/**
 * Hands an agent's workspace to the sandbox user, for a root gateway whose commands run as that user: otherwise
 * the command could not write its own workspace (or, for a 0700 folder, even enter it).
 *
 * <p>Nothing is followed: symbolic links are changed themselves ({@code lchown}), never their targets, and a
 * regular file with more than one hard link is left alone, since its other name may be a host file outside the
 * workspace. Paths the sandbox hides (the gateway's data) are skipped with everything under them.
 */
final class WorkspaceOwner {

    private static final Logger log = LoggerFactory.getLogger(WorkspaceOwner.class);

    private WorkspaceOwner() {}

    /**
     * Gives {@code workspace} (created if missing) and everything in it to {@code user}, then checks that the user
     * can reach it: every folder above it must let others (or the user's group) search it.
     *
     * @throws SandboxUnavailableException the workspace cannot be created or changed, or a folder above bars the way
     */
    static void give(Path workspace, SandboxUser user, List<Path> skip) {
        Path root = workspace.toAbsolutePath().normalize();
        try {
            Files.createDirectories(root);
            root = root.toRealPath();
            int[] skipped = {0};
            Path top = root;
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    if (!dir.equals(top) && skip.stream().anyMatch(dir::startsWith)) return FileVisitResult.SKIP_SUBTREE;
                    chown(dir, user);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    if (skip.stream().anyMatch(file::startsWith)) return FileVisitResult.CONTINUE;
                    if (attrs.isRegularFile() && (int) Files.getAttribute(file, "unix:nlink", LinkOption.NOFOLLOW_LINKS) > 1) {
                        skipped[0]++;
                        return FileVisitResult.CONTINUE;
                    }
                    if (attrs.isRegularFile() || attrs.isSymbolicLink() || attrs.isDirectory()) chown(file, user);
                    return FileVisitResult.CONTINUE;
                }
            });
            if (skipped[0] > 0) {
                log.warn("{} hard-linked file(s) in workspace {} were left to their owner: their other names may be"
                        + " host files", skipped[0], root);
            }
        } catch (IOException e) {
            throw new SandboxUnavailableException("cannot give workspace " + root + " to the sandbox user " + user
                    + ": " + e.getMessage());
        }
        String barrier = barrier(root, user);
        if (barrier != null) {
            throw new SandboxUnavailableException("the sandbox user " + user + " cannot reach workspace " + root + ": "
                    + barrier + " does not let it search (chmod o+x " + barrier + ", or move the workspace)");
        }
    }

    /** The first folder above {@code dir} that {@code user} may not search, or null. */
    static String barrier(Path dir, SandboxUser user) {
        for (Path p = dir.getParent(); p != null; p = p.getParent()) {
            if (!may(p, user, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_EXECUTE,
                    PosixFilePermission.OTHERS_EXECUTE)) {
                return p.toString();
            }
        }
        return null;
    }

    /**
     * Whether {@code user} may connect to the Unix socket {@code socket}: reach it, and write it.
     *
     * @return what stops it, or null
     */
    static String socketBarrier(Path socket, SandboxUser user) {
        String barrier = barrier(socket, user);
        if (barrier != null) return barrier + " does not let it search";
        return may(socket, user, PosixFilePermission.OWNER_WRITE, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.OTHERS_WRITE) ? null : "the socket does not let it write (connect)";
    }

    /** Whether {@code user} has the owner's, the group's or others' permission on {@code p}, whichever applies. */
    private static boolean may(Path p, SandboxUser user, PosixFilePermission asOwner, PosixFilePermission asGroup,
                               PosixFilePermission asOther) {
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
            int owner = (int) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            int group = (int) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
            return mode.contains(owner == user.uid() ? asOwner : group == user.gid() ? asGroup : asOther);
        } catch (IOException e) {
            return false;
        }
    }

    private static void chown(Path p, SandboxUser user) throws IOException {
        Files.setAttribute(p, "unix:uid", user.uid(), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", user.gid(), LinkOption.NOFOLLOW_LINKS);
    }
}
