package dev.carapace.guard.sandbox;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where each sandboxed command gets cgroups of its own: a pids cgroup bounding its processes, and a memory cgroup
 * bounding the memory of all of them together (RLIMIT_AS bounds each process only). The pids cgroup is required
 * when the gateway runs as root: the kernel does not apply RLIMIT_NPROC to root (uid 0 on the host, whatever the
 * user namespace says), so without it a fork bomb would be bounded by nothing.
 *
 * <p>Uses the gateway's own cgroups: with cgroup v1, its place in the {@code pids} and {@code memory} hierarchies;
 * with cgroup v2, its cgroup if that already delegates {@code pids} and {@code memory} to its children (systemd
 * {@code Delegate=yes}). A controller is used only if this process may create a child there.
 */
final class Cgroups {

    static final String PREFIX = "carapace-sandbox-";
    private static final Path MOUNT = Path.of("/sys/fs/cgroup");

    /** Parent directory for pids cgroups, or null. */
    private final Path pids;
    /** Parent directory for memory cgroups, or null; the same as {@link #pids} with cgroup v2. */
    private final Path memory;
    private final boolean v2;
    private final AtomicLong next = new AtomicLong();

    private Cgroups(Path pids, Path memory, boolean v2) {
        this.pids = pids;
        this.memory = memory;
        this.v2 = v2;
    }

    boolean limitsProcesses() {
        return pids != null;
    }

    boolean limitsMemory() {
        return memory != null;
    }

    /** The directories under which per-command cgroups are made. */
    List<Path> parents() {
        Set<Path> all = new LinkedHashSet<>();
        if (pids != null) all.add(pids);
        if (memory != null) all.add(memory);
        return List.copyOf(all);
    }

    /** The cgroups this process may use; none if there are none. */
    static Cgroups find() {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/cgroup"));
        } catch (IOException e) {
            return new Cgroups(null, null, false);
        }
        Path pids = null;
        Path memory = null;
        for (String line : lines) {
            String[] f = line.split(":", 3);
            if (f.length < 3) continue;
            String own = f[2].startsWith("/") ? f[2].substring(1) : f[2];
            List<String> controllers = List.of(f[1].split(","));
            if (f[0].equals("0") && f[1].isEmpty() && Files.exists(MOUNT.resolve("cgroup.controllers"))) {
                Path dir = MOUNT.resolve(own);
                String delegated;
                try {
                    delegated = " " + Files.readString(dir.resolve("cgroup.subtree_control")).strip() + " ";
                } catch (IOException e) {
                    continue;
                }
                Path p = delegated.contains(" pids ") && usable(dir, "pids.max") ? dir : null;
                Path m = delegated.contains(" memory ") && usable(dir, "memory.max") ? dir : null;
                if (p != null || m != null) return new Cgroups(p, m, true);
            } else {
                if (controllers.contains("pids") && usable(MOUNT.resolve("pids").resolve(own), "pids.max")) {
                    pids = MOUNT.resolve("pids").resolve(own);
                }
                if (controllers.contains("memory")
                        && usable(MOUNT.resolve("memory").resolve(own), "memory.limit_in_bytes")) {
                    memory = MOUNT.resolve("memory").resolve(own);
                }
            }
        }
        return new Cgroups(pids, memory, false);
    }

    private static boolean usable(Path dir, String limitFile) {
        Path probe = dir.resolve(PREFIX + "probe-" + ProcessHandle.current().pid());
        try {
            Files.createDirectory(probe);
            try {
                return Files.isWritable(probe.resolve(limitFile)) && Files.isWritable(probe.resolve("cgroup.procs"));
            } finally {
                Files.delete(probe);
            }
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /**
     * Fresh cgroups allowing {@code maxProcesses} processes and {@code memoryBytes} of memory (no swap) in all;
     * closing the slot kills what is left in them and removes them.
     */
    Slot open(int maxProcesses, long memoryBytes) throws IOException {
        String name = PREFIX + ProcessHandle.current().pid() + "-" + next.incrementAndGet();
        List<Path> dirs = new ArrayList<>();
        Slot slot = new Slot(dirs);
        try {
            if (pids != null) {
                Path d = Files.createDirectory(pids.resolve(name));
                dirs.add(d);
                Files.writeString(d.resolve("pids.max"), Integer.toString(maxProcesses));
            }
            if (memory != null) {
                Path d = memory.resolve(name);
                if (!dirs.contains(d)) {
                    Files.createDirectory(d);
                    dirs.add(d);
                }
                if (v2) {
                    Files.writeString(d.resolve("memory.max"), Long.toString(memoryBytes));
                    if (Files.exists(d.resolve("memory.swap.max"))) Files.writeString(d.resolve("memory.swap.max"), "0");
                } else {
                    Files.writeString(d.resolve("memory.limit_in_bytes"), Long.toString(memoryBytes));
                    // memory + swap: the same, so that nothing is swapped out instead of being refused
                    Path memsw = d.resolve("memory.memsw.limit_in_bytes");
                    if (Files.exists(memsw)) Files.writeString(memsw, Long.toString(memoryBytes));
                }
            }
        } catch (IOException e) {
            slot.close();
            throw e;
        }
        return slot;
    }

    /**
     * Removes the empty cgroups that a gateway which died left behind. Only a dead process's: a cgroup another
     * running gateway on this host has just made is empty too, until its command joins it, and removing it then
     * fails that command ("cgroup.procs: Directory nonexistent"). A pid reused since only leaves a dir in place.
     */
    void sweep() {
        sweep(parents());
    }

    static void sweep(List<Path> parents) {
        for (Path parent : parents) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(parent, PREFIX + "*")) {
                for (Path d : dirs) {
                    if (!ownerAlive(d.getFileName().toString())) removeQuietly(d);
                }
            } catch (IOException e) {
                // nothing to sweep, or not allowed to: neither stops the sandbox from working
            }
        }
    }

    /** Whether the gateway named in a cgroup's name ({@code PREFIX PID-N} or {@code PREFIX probe-PID}) still runs. */
    private static boolean ownerAlive(String name) {
        String rest = name.substring(PREFIX.length());
        if (rest.startsWith("probe-")) rest = rest.substring("probe-".length());
        int dash = rest.indexOf('-');
        try {
            long pid = Long.parseLong(dash < 0 ? rest : rest.substring(0, dash));
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (NumberFormatException e) {
            return true;    // not named as this class names them: not ours to remove
        }
    }

    private static void removeQuietly(Path dir) {
        try {
            Files.deleteIfExists(dir); // rmdir: fails while processes are in it, which is the point
        } catch (IOException e) {
            // still in use (another gateway's) or already gone
        }
    }

    /** One command's cgroups. */
    static final class Slot implements AutoCloseable {
        private final List<Path> dirs;

        private Slot(List<Path> dirs) {
            this.dirs = dirs;
        }

        /** The files a process writes its pid to, to join (at least one). */
        List<Path> procs() {
            return dirs.stream().map(d -> d.resolve("cgroup.procs")).toList();
        }

        /**
         * Kills whatever is still in the cgroups and removes them. Normally nothing is: the sandbox's pid namespace
         * ends with its first process.
         */
        @Override
        public void close() {
            for (Path dir : dirs) {
                for (int round = 0; round < 50; round++) {
                    List<String> left;
                    try {
                        left = Files.readAllLines(dir.resolve("cgroup.procs"));
                    } catch (IOException e) {
                        break; // already gone
                    }
                    if (left.isEmpty()) break;
                    for (String pid : left) {
                        ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
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
}
