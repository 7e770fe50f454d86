package dev.carapace.guard.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs commands inside bubblewrap: a fresh read-only root holding only the system directories (read-only), the
 * command's workspace (writable unless its agent's policy says otherwise, see {@link Mount}), a private {@code /tmp}
 * and {@code /dev/shm} (bounded tmpfs), {@code /proc} with its kernel settings ({@code /proc/sys} and the like)
 * read-only; new user, pid, ipc,
 * uts, cgroup and network namespaces; no capabilities, {@code no_new_privs}, nosuid mounts, no further user
 * namespaces; kernel limits from {@link SandboxLimits}, and where the gateway may create cgroups, a pids and a memory
 * cgroup per command (required as root, see {@link Cgroups}). The network namespace has only loopback. When an egress proxy socket is given, it is bound into the sandbox and a
 * bridge inside ({@code socat}) listens on {@code 127.0.0.1:3128} and forwards to it; {@code HTTP(S)_PROXY} point
 * there. That proxy is the one way out.
 *
 * <p>Commands never run as the host's root. A user namespace does not make root harmless: bubblewrap started by
 * root maps uid 0 to uid 0, and whatever the namespace does not fence off ({@code /proc/sys}, a file of mode 0600)
 * is root's. So a root gateway switches to the {@link SandboxUser} ({@code setpriv}) after joining the command's
 * cgroups and before bubblewrap starts; a gateway that is not root runs commands as itself. {@link #open} checks
 * both with a real command.
 *
 * <p>This class decides what to run ({@link #prepare}) and starts it ({@link #start}); draining, the timeout and the
 * kill are the caller's (the server runs the prepared command with the agent runtime's process runner). Killing the
 * first process kills everything: it is bwrap, whose pid namespace ends with it.
 *
 * <p>Processes are started from one long-lived thread of this class: {@code --die-with-parent} makes the sandbox die
 * when the <em>thread</em> that started it ends, and a pooled (or virtual thread's carrier) thread may end while the
 * command still runs.
 */
public final class Bubblewrap implements AutoCloseable {

    /** Where the egress proxy's socket appears inside the sandbox. */
    public static final String PROXY_SOCKET_INSIDE = "/run/carapace/proxy.sock";
    /** Where the bridge to the egress proxy listens inside the sandbox. */
    public static final int BRIDGE_PORT = 3128;
    public static final String PROXY_URL = "http://127.0.0.1:" + BRIDGE_PORT;

    /** The system, read-only; symbolic links among them (merged /usr) are recreated as links. */
    static final List<Path> SYSTEM = paths("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc");
    /** Files under the system directories that a process running as the gateway's user could read but must not. */
    static final List<Path> SECRETS = paths("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
            "/etc/ssh", "/etc/ssl/private", "/etc/sudoers", "/etc/sudoers.d");

    /** Kernel interfaces under /proc bound read-only over themselves: bwrap covers them only when it is setuid. */
    static final List<String> PROC_READ_ONLY = List.of("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus");

    private static final Path PRLIMIT = Path.of("/usr/bin/prlimit");
    private static final Path SOCAT = Path.of("/usr/bin/socat");
    private static final Path SETPRIV = Path.of("/usr/bin/setpriv");

    /**
     * Starts the bridge, waits (reading /proc/net/tcp with shell built-ins only) until it listens, runs the command,
     * then stops the bridge before exiting with the command's status: left running, the bridge would be counted among
     * the command's leftover background processes (and the model told so after every command). 0100007F:0C38 is
     * 127.0.0.1:3128; state 0A is LISTEN.
     */
    private static final String BRIDGE = """
            %s TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:%s </dev/null >/dev/null 2>&1 &
            bridge=$! ok= n=0
            while [ -z "$ok" ] && [ $n -lt 20000 ]; do
              while read -r _ a _ s _; do
                if [ "$a" = 0100007F:%04X ] && [ "$s" = 0A ]; then ok=1; break; fi
              done </proc/net/tcp
              n=$((n+1))
            done
            [ -n "$ok" ] || echo "sandbox: the bridge to the egress proxy did not start" >&2
            "$@"
            rc=$?
            kill "$bridge" 2>/dev/null
            wait "$bridge" 2>/dev/null
            exit $rc
            """.formatted(SOCAT, BRIDGE_PORT, PROXY_SOCKET_INSIDE, BRIDGE_PORT);

    private final Path bwrap;
    private final SandboxLimits limits;
    private final Path proxySocket;
    private final List<Path> hidden;
    private final Cgroups cgroups;
    /** Whom commands run as on the host when the gateway is root; null: as the gateway's own (non-root) user. */
    private final SandboxUser dropTo;
    /** Whether /proc's kernel interfaces are bound read-only; false only in the probe's tests. */
    private final boolean coverProc;
    private final ExecutorService launcher;

    private Bubblewrap(Path bwrap, SandboxLimits limits, Path proxySocket, List<Path> hidden, Cgroups cgroups,
                       SandboxUser dropTo, boolean coverProc) {
        this.coverProc = coverProc;
        this.bwrap = bwrap;
        this.limits = limits;
        this.proxySocket = proxySocket;
        this.hidden = hidden;
        this.cgroups = cgroups;
        this.dropTo = dropTo;
        this.launcher = Executors.newSingleThreadExecutor(
                r -> Thread.ofPlatform().daemon().name("sandbox-launcher").unstarted(r));
    }

    /** As {@link #open(Path, SandboxLimits, Path, List, SandboxUser)} with {@link SandboxUser#NOBODY}. */
    public static Bubblewrap open(Path bwrap, SandboxLimits limits, Path proxySocket, List<Path> hidden) {
        return open(bwrap, limits, proxySocket, hidden, SandboxUser.NOBODY);
    }

    /**
     * A sandbox, checked by running a command in it: fails with a message saying what is missing if bubblewrap is
     * not installed, user namespaces do not work, the egress bridge cannot run, (as root) there is no way to
     * bound the number of processes, or a command in it could act as the host's root (own files as uid 0, write
     * {@code /proc/sys}, read a root-only file).
     *
     * @param bwrap       the bubblewrap executable, e.g. {@code /usr/bin/bwrap}
     * @param limits      kernel limits of every command
     * @param proxySocket the egress proxy's Unix socket on the host, or null for no network at all
     * @param hidden      host paths never to show inside (the gateway's data and config), even when they lie in a
     *                    system directory or a workspace
     * @param user        whom commands run as when the gateway runs as root
     */
    public static Bubblewrap open(Path bwrap, SandboxLimits limits, Path proxySocket, List<Path> hidden,
                                  SandboxUser user) {
        Objects.requireNonNull(user, "user");
        return checked(bwrap, limits, proxySocket, hidden, runningAsRoot() ? user : null);
    }

    /**
     * A sandbox that does not switch users even when the gateway is root, and (with {@code procWritable}) leaves
     * /proc's kernel interfaces as bwrap does: for tests only, to show that the probe catches each.
     */
    static Bubblewrap openKeepingPrivileges(Path bwrap, SandboxLimits limits, boolean procWritable) {
        return checked(bwrap, limits, null, List.of(), null, !procWritable);
    }

    private static Bubblewrap checked(Path bwrap, SandboxLimits limits, Path proxySocket, List<Path> hidden,
                                      SandboxUser dropTo) {
        return checked(bwrap, limits, proxySocket, hidden, dropTo, true);
    }

    private static Bubblewrap checked(Path bwrap, SandboxLimits limits, Path proxySocket, List<Path> hidden,
                                      SandboxUser dropTo, boolean coverProc) {
        Objects.requireNonNull(limits, "limits");
        if (!Files.isExecutable(bwrap)) {
            throw new SandboxUnavailableException("bubblewrap is not installed (no executable " + bwrap + "): install"
                    + " it (Debian/Ubuntu: apt-get install bubblewrap), or set 'tools: {exec: local}' to run commands"
                    + " without isolation");
        }
        if (!Files.isExecutable(PRLIMIT)) {
            throw new SandboxUnavailableException("the sandbox sets its limits with " + PRLIMIT + " (util-linux),"
                    + " which is missing");
        }
        if (dropTo != null && !Files.isExecutable(SETPRIV)) {
            throw new SandboxUnavailableException("the gateway runs as root and starts sandboxed commands as the"
                    + " sandbox user " + dropTo + " with " + SETPRIV + " (util-linux), which is missing");
        }
        if (dropTo != null && proxySocket != null) {
            String barrier = WorkspaceOwner.socketBarrier(proxySocket, dropTo);
            if (barrier != null) {
                throw new SandboxUnavailableException("the sandbox user " + dropTo + " cannot use the egress proxy's"
                        + " socket " + proxySocket + ": " + barrier);
            }
        }
        if (proxySocket != null && !Files.isExecutable(SOCAT)) {
            throw new SandboxUnavailableException("the sandbox reaches the egress proxy through socat (" + SOCAT
                    + "), which is missing: apt-get install socat");
        }
        Cgroups cgroups = Cgroups.find();
        if (runningAsRoot() && !cgroups.limitsProcesses()) {
            throw new SandboxUnavailableException("the gateway runs as root, whom the kernel's process limit"
                    + " (RLIMIT_NPROC) does not bind, and no writable pids cgroup was found to bound a command's"
                    + " processes instead: run Carapace as an unprivileged user");
        }
        cgroups.sweep();
        Bubblewrap b = new Bubblewrap(bwrap, limits, proxySocket, realPaths(hidden), cgroups, dropTo, coverProc);
        try {
            new SandboxProbe(b, dropTo).run();
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return b;
    }

    public SandboxLimits limits() {
        return limits;
    }

    /** The egress proxy's socket on the host, or null when the sandbox has no way out. */
    public Path proxySocket() {
        return proxySocket;
    }

    /** Whom commands run as on the host: the sandbox user when the gateway is root, else null (the gateway's user). */
    public SandboxUser commandUser() {
        return dropTo;
    }

    /**
     * Makes {@code workspace} usable by the commands: when they run as the sandbox user (the gateway is root), gives
     * it and everything in it to that user (symlinks and hard-linked files are not followed, the hidden paths are
     * skipped) and checks the user can reach it. Does nothing when commands run as the gateway's own user. Call it
     * at start-up, for every workspace, before any command runs there.
     *
     * @throws SandboxUnavailableException the workspace cannot be handed over or reached
     */
    public void handOver(Path workspace) {
        if (dropTo != null) WorkspaceOwner.give(workspace, dropTo, hidden);
    }

    /**
     * What to run for {@code argv} in {@code workspace}: the wrapped argv, to be started with an empty environment
     * (the command's is in the arguments). Close the launch
     * when the command has ended (it releases the command's cgroup, killing anything left in it).
     *
     * @param workspace        the agent's workspace, the one writable directory besides /tmp; bound at its own path
     * @param workingDirectory where the command starts, inside the workspace
     * @param environment      the command's environment; the proxy variables are added when there is a proxy
     */
    public Launch prepare(Path workspace, Path workingDirectory, Map<String, String> environment, List<String> argv)
            throws IOException {
        return prepare(workspace, List.of(), workingDirectory, environment, argv, proxySocket);
    }

    /**
     * As {@link #prepare(Path, Path, Map, List)}, with more host directories shown at their own paths. Those that do
     * not exist are left out; the hidden paths stay hidden inside them.
     *
     * @param readOnly  directories shown read-only
     * @param readWrite directories shown writable; the deeper of two nested ones decides
     */
    public Launch prepare(Path workspace, List<Path> readOnly, List<Path> readWrite, Path workingDirectory,
                          Map<String, String> environment, List<String> argv) throws IOException {
        List<Mount> mounts = new ArrayList<>();
        for (Path p : readOnly) mounts.add(new Mount(p.toAbsolutePath(), Mount.Access.READ_ONLY));
        for (Path p : readWrite) mounts.add(new Mount(p.toAbsolutePath(), Mount.Access.READ_WRITE));
        return prepare(workspace, mounts, workingDirectory, environment, argv, proxySocket);
    }

    /**
     * The general form: an agent's file-system layer and a proxy socket of the caller's (the gateway gives each
     * agent its own, so the egress proxy knows whose request it judges).
     *
     * @param mounts      host paths shown, read-only, writable or hidden (see {@link Mount}); the workspace is
     *                    writable unless one of them names it. A path that is no longer its own real path (a symlink
     *                    was put on the way since it was named) is not mounted: following it could show what no
     *                    policy named. Paths under /proc, /dev, /sys, and / and /run themselves, are never
     *                    mounted.
     * @param proxySocket the egress proxy's Unix socket for this command, or null for no network at all
     */
    public Launch prepare(Path workspace, List<Mount> mounts, Path workingDirectory, Map<String, String> environment,
                          List<String> argv, Path proxySocket) throws IOException {
        if (proxySocket != null && this.proxySocket == null) {
            throw new IllegalArgumentException("this sandbox was opened without a proxy (socat was not checked)");
        }
        Path root = workspace.toRealPath();
        Path cwd = workingDirectory.toRealPath();
        if (!Files.isDirectory(root)) throw new IOException("workspace " + root + " is not a directory");
        if (!cwd.startsWith(root)) throw new IOException("working directory " + cwd + " is outside workspace " + root);
        if (argv.isEmpty()) throw new IllegalArgumentException("argv is empty");

        Cgroups.Slot slot = cgroups.parents().isEmpty() ? null : cgroups.open(limits.processes(), limits.memoryBytes());
        List<String> a = new ArrayList<>();
        if (slot != null) {
            // Joins the cgroups before bwrap starts (and while still root: the cgroup files are root's), so that
            // nothing the command forks is ever outside them.
            List<Path> procs = slot.procs();
            a.addAll(List.of("/bin/sh", "-c", "echo $$ > \"$0\" && echo $$ > \"$1\" && shift && exec \"$@\"",
                    procs.get(0).toString(), procs.get(procs.size() - 1).toString()));
        }
        if (dropTo != null) {
            // The same process, as the sandbox user with no groups and no capabilities left to regain, becomes bwrap.
            a.addAll(List.of(SETPRIV.toString(), "--reuid=" + dropTo.uid(), "--regid=" + dropTo.gid(),
                    "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"));
        }
        a.add(bwrap.toString());
        a.addAll(List.of("--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net",
                "--unshare-cgroup-try", "--disable-userns", "--die-with-parent", "--new-session",
                "--cap-drop", "ALL", "--hostname", "sandbox"));
        List<Path> mounted = new ArrayList<>();
        for (Path p : SYSTEM) {
            if (Files.isSymbolicLink(p)) {
                a.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), p.toString()));
            } else if (Files.isDirectory(p)) {
                a.addAll(List.of("--ro-bind", p.toString(), p.toString()));
                mounted.add(p);
            }
        }
        String tmpSize = Long.toString(limits.tmpBytes());
        a.addAll(List.of("--proc", "/proc"));
        // Inside a user namespace bwrap leaves these writable, and a command that is (or becomes) root on the host
        // could then change the host's kernel settings through them.
        if (coverProc) for (String p : PROC_READ_ONLY) a.addAll(List.of("--ro-bind-try", p, p));
        a.addAll(List.of("--dev", "/dev", "--size", tmpSize, "--tmpfs", "/dev/shm",
                "--size", tmpSize, "--tmpfs", "/tmp"));
        MountPlan.add(a, root, mounts, mounted);
        if (proxySocket != null) a.addAll(List.of("--bind", proxySocket.toString(), PROXY_SOCKET_INSIDE));
        List<Path> masks = new ArrayList<>(SECRETS);
        masks.addAll(hidden);
        for (Path h : masks) {
            if (!Files.exists(h) || mounted.stream().noneMatch(h::startsWith)) continue;
            if (Files.isDirectory(h)) {
                a.addAll(List.of("--tmpfs", h.toString()));
            } else {
                a.addAll(List.of("--ro-bind", "/dev/null", h.toString()));
            }
        }
        // The root and /dev are tmpfs of unbounded size: read-only, or they would be a way to fill the host's memory.
        a.addAll(List.of("--remount-ro", "/dev", "--remount-ro", "/", "--chdir", cwd.toString()));
        // The environment goes in as arguments, not inherited: host-side processes (sh, bwrap) run with none, so that
        // nothing in it (LD_PRELOAD, say) can act outside the sandbox.
        Map<String, String> env = new LinkedHashMap<>(environment);
        if (proxySocket != null) {
            for (String name : List.of("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                    "all_proxy")) {
                env.put(name, PROXY_URL);
            }
        }
        a.add("--clearenv");
        env.forEach((name, value) -> a.addAll(List.of("--setenv", name, value)));
        a.add("--");
        a.addAll(List.of(PRLIMIT.toString(),
                "--cpu=" + limits.cpuTime().toSeconds(),
                "--as=" + limits.memoryBytes(),
                "--nproc=" + limits.processes(),
                "--fsize=" + limits.fileBytes(),
                "--nofile=" + limits.openFiles(),
                "--core=0",
                "--"));
        if (proxySocket != null) a.addAll(List.of("/bin/sh", "-c", BRIDGE, "sandbox"));
        a.addAll(argv);
        return new Launch(a, slot);
    }

    /**
     * Starts {@code builder} from this sandbox's launcher thread (see the class comment). An interrupt while waiting
     * for the start does not lose the process: it is returned, with the interrupt status set, for the caller to kill.
     */
    public Process start(ProcessBuilder builder) throws IOException {
        Future<Process> started;
        try {
            started = launcher.submit(builder::start);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new IOException("the sandbox has been closed");
        }
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return started.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof IOException io) throw io;
                    throw new IOException("the sandbox could not be started", e.getCause());
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /** Stops the launcher thread: every sandbox it started that is still running is killed (--die-with-parent). */
    @Override
    public void close() {
        launcher.shutdownNow();
    }

    /**
     * A prepared command: bwrap and its arguments (the command's environment among them), ending with the command.
     * Start it with an empty environment.
     */
    public static final class Launch implements AutoCloseable {
        private final List<String> argv;
        private final Cgroups.Slot slot;

        private Launch(List<String> argv, Cgroups.Slot slot) {
            this.argv = List.copyOf(argv);
            this.slot = slot;
        }

        public List<String> argv() {
            return argv;
        }

        /** Releases the command's cgroup, if it has one, killing whatever is left in it. */
        @Override
        public void close() {
            if (slot != null) slot.close();
        }
    }

    static boolean runningAsRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) return line.split("\\s+")[1].equals("0");
            }
        } catch (IOException e) {
            // no /proc: assume the worst, which only asks for a cgroup
        }
        return true;
    }

    private static List<Path> realPaths(List<Path> paths) {
        List<Path> out = new ArrayList<>();
        for (Path p : paths) {
            Path abs = p.toAbsolutePath().normalize();
            out.add(abs);
            try {
                Path real = abs.toRealPath();
                if (!real.equals(abs)) out.add(real);
            } catch (IOException e) {
                // does not exist (yet): nothing to hide now
            }
        }
        return List.copyOf(out);
    }

    private static List<Path> paths(String... names) {
        return java.util.Arrays.stream(names).map(Path::of).toList();
    }
}