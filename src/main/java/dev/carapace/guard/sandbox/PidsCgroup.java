package dev.carapace.guard.sandbox;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A place to give each sandboxed command a pids cgroup of its own. Needed only when the gateway runs as root: the
 * kernel does not apply RLIMIT_NPROC to root (uid 0 on the host, whatever the user namespace says), so without a
 * cgroup a fork bomb would be bounded by nothing. Works with the cgroup v1 pids hierarchy and with cgroup v2 where
 * the gateway's own cgroup already delegates the pids controller to its children.
 */
final class PidsCgroup {

    static final String PREFIX = "carapace-sandbox-";
    private static final Path MOUNT = Path.of("/sys/fs/cgroup");

    private final Path parent;
    private final AtomicLong next = new AtomicLong();

    private PidsCgroup(Path parent) {
        this.parent = parent;
    }

    /** The directory under which per-command cgroups are made. */
    Path parent() {
        return parent;
    }

    /** The gateway's own pids cgroup, if this process may create children in it that have a {@code pids.max}. */
    static Optional<PidsCgroup> find() {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/cgroup"));
        } catch (IOException e) {
            return Optional.empty();
        }
        for (String line : lines) {
            String[] f = line.split(":", 3);
            if (f.length < 3) continue;
            Path candidate = null;
            if (List.of(f[1].split(",")).contains("pids")) {
                candidate = MOUNT.resolve("pids").resolve(relative(f[2]));
            } else if (f[0].equals("0") && f[1].isEmpty() && Files.exists(MOUNT.resolve("cgroup.controllers"))) {
                candidate = MOUNT.resolve(relative(f[2]));
            }
            if (candidate != null && usable(candidate)) return Optional.of(new PidsCgroup(candidate));
        }
        return Optional.empty();
    }

    private static String relative(String cgroupPath) {
        return cgroupPath.startsWith("/") ? cgroupPath.substring(1) : cgroupPath;
    }

    private static boolean usable(Path dir) {
        Path probe = dir.resolve(PREFIX + "probe-" + ProcessHandle.current().pid());
        try {
            Files.createDirectory(probe);
            try {
                return Files.isWritable(probe.resolve("pids.max")) && Files.isWritable(probe.resolve("cgroup.procs"));
            } finally {
                Files.delete(probe);
            }
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** A fresh cgroup allowing {@code maxProcesses} at once; closing it kills what is left in it and removes it. */
    Slot open(int maxProcesses) throws IOException {
        Path dir = parent.resolve(PREFIX + ProcessHandle.current().pid() + "-" + next.incrementAndGet());
        Files.createDirectory(dir);
        try {
            Files.writeString(dir.resolve("pids.max"), Integer.toString(maxProcesses));
        } catch (IOException e) {
            removeQuietly(dir);
            throw e;
        }
        return new Slot(dir);
    }

    /** Removes the empty cgroups that a gateway which died left behind. */
    void sweep() {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(parent, PREFIX + "*")) {
            for (Path d : dirs) removeQuietly(d);
        } catch (IOException e) {
            // nothing to sweep, or not allowed to: neither stops the sandbox from working
        }
    }

    private static void removeQuietly(Path dir) {
        try {
            Files.deleteIfExists(dir); // rmdir: fails while processes are in it, which is the point
        } catch (IOException e) {
            // still in use (another gateway's) or already gone
        }
    }

    /** One command's cgroup. */
    static final class Slot implements AutoCloseable {
        private final Path dir;

        private Slot(Path dir) {
            this.dir = dir;
        }

        /** The file a process writes its pid to, to join. */
        Path procs() {
            return dir.resolve("cgroup.procs");
        }

        /**
         * Kills whatever is still in the cgroup and removes it. Normally nothing is: the sandbox's pid namespace ends
         * with its first process.
         */
        @Override
        public void close() {
            for (int round = 0; round < 50; round++) {
                List<String> pids;
                try {
                    pids = Files.readAllLines(procs());
                } catch (IOException e) {
                    return; // already gone
                }
                if (pids.isEmpty()) break;
                for (String pid : pids) {
                    ProcessHandle.of(Long.parseLong(pid.trim())).ifPresent(ProcessHandle::destroyForcibly);
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            removeQuietly(dir);
        }
    }
}
