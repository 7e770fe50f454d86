package dev.carapace.guard.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Turns a command's workspace and its policy's {@link Mount}s into bubblewrap arguments, in the order that makes
 * the restrictive ones hold. Paths are taken as named, never through a symbolic link: one the agent planted since
 * the policy named the path could otherwise show a folder no policy named.
 */
final class MountPlan {

    /** Where a policy's roots are never mounted: the kernel's interfaces, and the sandbox's own /proc and /dev. */
    private static final List<Path> NOT_MOUNTABLE = List.of(Path.of("/proc"), Path.of("/dev"), Path.of("/sys"),
            Path.of("/run/carapace"));

    private MountPlan() {}

    /**
     * Adds to {@code a} the workspace and the policy's paths, outermost first and, on one path, the more
     * restrictive last: bwrap mounts in order and a later mount covers an earlier one, so a read-only path inside a
     * writable one (the workspace, say) stays read-only.
     *
     * @param workspace real path; writable unless {@code mounts} names it
     * @param mounted   receives the host paths bound (where the gateway's hidden paths must then be masked)
     */
    static void add(List<String> a, Path workspace, List<Mount> mounts, List<Path> mounted) {
        List<Mount> all = new ArrayList<>();
        all.add(new Mount(workspace, Mount.Access.READ_WRITE));
        for (Mount m : mounts) {
            Path p = m.path();
            // Not / or the kernel's interfaces, nor a folder holding the proxy socket's mount point (read-only,
            // it would stop bwrap from making that point).
            if (p.getNameCount() == 0 || NOT_MOUNTABLE.stream().anyMatch(p::startsWith)
                    || Path.of(Bubblewrap.PROXY_SOCKET_INSIDE).startsWith(p)) {
                continue;
            }
            if (p.equals(workspace)) all.removeIf(w -> w.path().equals(workspace));
            all.add(m);
        }
        all.addAll(pins(all));
        all.sort(Comparator.comparingInt((Mount m) -> m.path().getNameCount())
                .thenComparing(Mount::access));
        // What is mounted so far, in order: the last one holding a path decides whether the command could create it.
        List<Mount> made = new ArrayList<>();
        // Empty folders are made read-only after everything: a deeper mount may need its mount point made in one.
        List<Path> emptied = new ArrayList<>();
        for (Mount m : all) {
            Path p = m.path();
            boolean exists = Files.exists(p, LinkOption.NOFOLLOW_LINKS);
            if (exists && !isOwnRealPath(p)) continue;
            boolean creatable = made.reversed().stream().filter(d -> p.startsWith(d.path())).findFirst()
                    .map(d -> d.access() == Mount.Access.READ_WRITE).orElse(false);
            switch (m.access()) {
                case READ_WRITE -> {
                    if (!exists) continue;
                    a.addAll(List.of("--bind", p.toString(), p.toString()));
                    mounted.add(p);
                }
                case READ_ONLY -> {
                    if (exists) {
                        a.addAll(List.of("--ro-bind", p.toString(), p.toString()));
                        mounted.add(p);
                    } else if (creatable) {
                        empty(a, p, emptied); // else the command could create it, and write there
                    } else {
                        continue;
                    }
                }
                case HIDDEN -> {
                    if (exists && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                        a.addAll(List.of("--ro-bind", "/dev/null", p.toString()));
                    } else if (exists || creatable) {
                        empty(a, p, emptied);
                    } else {
                        continue;
                    }
                }
            }
            made.add(m);
        }
        for (Path p : emptied) a.addAll(List.of("--remount-ro", p.toString()));
    }

    /**
     * The folders between a writable mount and a read-only or hidden path inside it, each to be bound onto itself.
     * A mount point cannot be renamed or removed (EBUSY); its parent folder could be, taking the mount along, after
     * which the command could make a new folder at the protected path and write there. Pinned, every folder on the
     * way stays where the policy named it. They keep the writable mount's access: only their names are fixed.
     */
    private static List<Mount> pins(List<Mount> all) {
        List<Mount> pins = new ArrayList<>();
        for (Mount m : all) {
            if (m.access() == Mount.Access.READ_WRITE) continue;
            Mount covering = null;
            for (Mount w : all) {
                if (w != m && m.path().startsWith(w.path()) && !w.path().equals(m.path())
                        && (covering == null || w.path().getNameCount() > covering.path().getNameCount())) {
                    covering = w;
                }
            }
            if (covering == null || covering.access() != Mount.Access.READ_WRITE) continue;
            for (Path p = m.path().getParent(); p != null && !p.equals(covering.path()); p = p.getParent()) {
                Path folder = p;
                boolean taken = all.stream().anyMatch(x -> x.path().equals(folder))
                        || pins.stream().anyMatch(x -> x.path().equals(folder));
                if (!taken && Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS) && isOwnRealPath(folder)) {
                    pins.add(new Mount(folder, Mount.Access.READ_WRITE));
                }
            }
        }
        return pins;
    }

    private static void empty(List<String> a, Path p, List<Path> emptied) {
        a.addAll(List.of("--size", "4096", "--tmpfs", p.toString()));
        emptied.add(p);
    }

    private static boolean isOwnRealPath(Path p) {
        try {
            return p.toRealPath().equals(p);
        } catch (IOException e) {
            return false;
        }
    }
}
