package dev.carapace.guard.sandbox;

import com.sun.net.httpserver.HttpServer;
import dev.carapace.agent.tools.LocalRunner;
import dev.carapace.agent.tools.Sandbox;
import dev.carapace.testing.SandboxDirs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The sandbox against real escapes: each case runs a real command in real bubblewrap (as the server's adapter does:
 * {@link Bubblewrap#prepare} run by {@link LocalRunner} from the sandbox's launcher thread) and asserts it was
 * blocked; then the cases that must work. Needs bubblewrap and socat installed (run-tests installs them).
 */
class BubblewrapTest {

    private static final SandboxLimits LIMITS = new SandboxLimits(Duration.ofSeconds(1), 512L << 20, 48, 8L << 20,
            16L << 20, 256);

    @TempDir
    static Path shared;
    private static HttpServer upstream;
    private static final AtomicInteger upstreamHits = new AtomicInteger();
    private static TestUnixProxy proxy;
    private static Bubblewrap bwrap;
    private static LocalRunner runner;
    private static Path dataDir;

    private Path workspace;
    private Path otherAgent;

    @BeforeAll
    static void open() throws IOException {
        upstream = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        upstream.createContext("/", exchange -> {
            upstreamHits.incrementAndGet();
            byte[] body = ("upstream saw " + exchange.getRequestURI()).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        upstream.start();
        SandboxDirs.searchable(shared);
        proxy = new TestUnixProxy(shared.resolve("proxy.sock"), upstream.getAddress());
        SandboxDirs.connectable(proxy.socket());
        dataDir = Files.createDirectories(shared.resolve("data"));
        Files.writeString(dataDir.resolve("carapace.db"), "gateway data");
        bwrap = Bubblewrap.open(Path.of("/usr/bin/bwrap"), LIMITS, proxy.socket(), List.of(dataDir));
        runner = new LocalRunner(bwrap::start);
    }

    @AfterAll
    static void close() throws IOException {
        if (bwrap != null) bwrap.close();
        if (proxy != null) proxy.close();
        if (upstream != null) upstream.stop(0);
    }

    @BeforeEach
    void workspaces(@TempDir Path dir) throws IOException {
        SandboxDirs.searchable(dir);
        workspace = Files.createDirectories(dir.resolve("agents/a"));
        otherAgent = Files.createDirectories(dir.resolve("agents/b"));
        Files.writeString(otherAgent.resolve("secret.txt"), "b's secret");
        bwrap.handOver(workspace);
    }

    private Sandbox.Result sh(String script) throws Exception {
        return sh(script, Duration.ofSeconds(20), 64 * 1024);
    }

    private Sandbox.Result sh(String script, Duration timeout, int maxOutput) throws Exception {
        Map<String, String> env = Map.of("PATH", "/usr/bin:/bin", "HOME", workspace.toString(), "LANG", "C.UTF-8");
        try (Bubblewrap.Launch launch = bwrap.prepare(workspace, workspace, env, List.of("/bin/bash", "-c", script))) {
            return runner.run(new Sandbox.Command(launch.argv(), workspace, Map.of(), timeout, maxOutput));
        }
    }

    // ---- the network: nothing but the egress proxy ----

    @Test
    void directConnectionsFindNoNetwork() throws Exception {
        Sandbox.Result r = sh("echo > /dev/tcp/1.1.1.1/80");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.output()).contains("Network is unreachable");

        // The host's loopback is not the sandbox's: the test server on it cannot be reached directly.
        int before = upstreamHits.get();
        Sandbox.Result loop = sh("echo > /dev/tcp/127.0.0.1/" + upstream.getAddress().getPort());
        assertThat(loop.exitCode()).isNotZero();
        assertThat(loop.output()).contains("Connection refused");
        assertThat(upstreamHits.get()).isEqualTo(before);

        Sandbox.Result devices = sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
        assertThat(devices.output().strip()).isEqualTo("lo");
    }

    @Test
    void curlWithoutTheProxyFails() throws Exception {
        Sandbox.Result r = sh("curl -sS --noproxy '*' --max-time 5 http://1.1.1.1/ ; echo rc=$?");
        assertThat(r.output()).containsAnyOf("Couldn't connect", "Network is unreachable", "Failed to connect");
        assertThat(r.output()).doesNotContain("rc=0");
    }

    @Test
    void httpThroughTheProxyReachesTheServer() throws Exception {
        int before = upstreamHits.get();
        Sandbox.Result r = sh("curl -sS --max-time 10 http://service.test/hello?x=1");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).isEqualTo("upstream saw /hello?x=1");
        assertThat(upstreamHits.get()).isEqualTo(before + 1);
        assertThat(proxy.requests).contains("GET http://service.test/hello?x=1 HTTP/1.1");

        Sandbox.Result env = sh("echo $HTTP_PROXY $https_proxy");
        assertThat(env.output().strip()).isEqualTo(Bubblewrap.PROXY_URL + " " + Bubblewrap.PROXY_URL);
    }

    // ---- the file system: the workspace and a private /tmp, the system read-only, nothing else ----

    @Test
    void otherHomesAndDataAreNotThere() throws Exception {
        Sandbox.Result r = sh("for p in /root /work /home /var /srv /opt " + otherAgent
                + "; do ls \"$p\" >/dev/null 2>&1 && echo \"SEEN $p\" || echo \"absent $p\"; done; cat "
                + otherAgent.resolve("secret.txt") + "; echo; ls -A " + workspace.getParent());
        assertThat(r.output()).doesNotContain("SEEN").doesNotContain("b's secret");
        assertThat(r.output()).contains("absent /root", "absent /work", "absent " + otherAgent);
        // The workspace's parents exist only as the empty directories leading to it.
        assertThat(r.output()).endsWith("\na\n");
    }

    @Test
    void theGatewaysDataIsHiddenEvenInsideAWorkspace() throws Exception {
        // A data folder carelessly placed in the workspace is still not readable from it.
        Path inside = Files.createDirectories(workspace.resolve("data"));
        Files.writeString(inside.resolve("carapace.db"), "gateway data");
        Bubblewrap hiding = Bubblewrap.open(Path.of("/usr/bin/bwrap"), LIMITS, null, List.of(inside));
        try (hiding; Bubblewrap.Launch launch = hiding.prepare(workspace, workspace, Map.of("PATH", "/usr/bin:/bin"),
                List.of("/bin/sh", "-c", "ls -A data; cat data/carapace.db; echo end"))) {
            Sandbox.Result r = new LocalRunner(hiding::start).run(new Sandbox.Command(launch.argv(), workspace,
                    Map.of(), Duration.ofSeconds(20), 4096));
            assertThat(r.output()).doesNotContain("gateway data").contains("No such file").endsWith("end\n");
        }
    }

    @Test
    void symlinksInTheWorkspaceResolveInsideTheSandbox() throws Exception {
        Files.createSymbolicLink(workspace.resolve("theirs"), otherAgent);
        Files.createSymbolicLink(workspace.resolve("roothome"), Path.of("/root"));
        Sandbox.Result r = sh("cat theirs/secret.txt; ls roothome/ 2>&1; echo x > theirs/planted");
        assertThat(r.output()).doesNotContain("b's secret");
        assertThat(r.output()).contains("theirs/secret.txt: No such file", "roothome/': No such file");
        assertThat(otherAgent.resolve("planted")).doesNotExist();
    }

    @Test
    void concurrentCommandsEachGetTheirOwnSandbox() throws Exception {
        List<CompletableFuture<Sandbox.Result>> runs = new java.util.ArrayList<>();
        for (int i = 0; i < 6; i++) {
            String n = Integer.toString(i);
            runs.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return sh("echo " + n + " > /tmp/mine; sleep 0.3; echo \"$(cat /tmp/mine) $(ls /tmp | wc -l)\"");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()));
        }
        for (int i = 0; i < runs.size(); i++) {
            // Its own /tmp: its own file, and besides it only the way to the workspace.
            assertThat(runs.get(i).get(60, TimeUnit.SECONDS).output()).isEqualTo(i + " 2\n");
        }
    }

    @Test
    void aClosedSandboxStartsNothing() throws Exception {
        Bubblewrap closing = Bubblewrap.open(Path.of("/usr/bin/bwrap"), LIMITS, null, List.of());
        closing.close();
        assertThatThrownBy(() -> closing.start(new ProcessBuilder("/bin/true")))
                .isInstanceOf(IOException.class).hasMessageContaining("closed");
    }

    @Test
    void shadowPasswordsAreMasked() throws Exception {
        // Masked with /dev/null on a nodev mount: unreadable, where the real file would be readable by the
        // gateway's own user when that is root.
        Sandbox.Result r = sh("cat /etc/shadow /etc/gshadow; ls /etc/ssh | wc -l; head -1 /etc/passwd");
        assertThat(r.output()).contains("/etc/shadow: Permission denied", "/etc/gshadow: Permission denied")
                .contains("\n0\nroot:x:0:0").doesNotContain("root:$").doesNotContain("root:*:");
    }

    @Test
    void writesOutsideTheWorkspaceAndTmpFail() throws Exception {
        String probe = "h-sandbox-escape-" + ProcessHandle.current().pid();
        Sandbox.Result r = sh("for p in /usr/" + probe + " /etc/" + probe + " /" + probe + " /dev/" + probe + " "
                + otherAgent + "/" + probe + "; do touch \"$p\" 2>/dev/null && echo \"WROTE $p\" || echo \"refused $p\";"
                + " done");
        assertThat(r.output()).doesNotContain("WROTE");
        assertThat(r.output().lines().filter(l -> l.startsWith("refused"))).hasSize(5);
        assertThat(Path.of("/usr", probe)).doesNotExist();
        assertThat(Path.of("/etc", probe)).doesNotExist();
        assertThat(otherAgent.resolve(probe)).doesNotExist();
    }

    @Test
    void procSelfRootLeadsBackIntoTheSandbox() throws Exception {
        Sandbox.Result r = sh("ls /proc/self/root/root /proc/1/root/root /proc/1/root/work 2>&1; "
                + "cat /proc/1/root/etc/shadow | wc -c; readlink /proc/self/root; cat /proc/1/cmdline | tr '\\0' ' '");
        assertThat(r.output()).contains("'/proc/self/root/root': No such file", "'/proc/1/root/root': No such file",
                "'/proc/1/root/work': No such file");
        assertThat(r.output()).contains("/proc/1/root/etc/shadow: Permission denied\n0\n");
        assertThat(r.output()).contains("bwrap"); // pid 1 is the sandbox's own init, not the host's
    }

    // ---- processes and privileges ----

    @Test
    void hostProcessesAreNotVisible() throws Exception {
        long javaPid = ProcessHandle.current().pid();
        Sandbox.Result r = sh("ls /proc | grep -c '^[0-9]'; ps ax -o pid=,comm=; kill -0 " + javaPid + " && echo ALIVE");
        int count = Integer.parseInt(r.output().lines().findFirst().orElseThrow().strip());
        assertThat(count).isLessThanOrEqualTo(8);
        assertThat(r.output()).doesNotContain("java").doesNotContain("ALIVE");
    }

    @Test
    void noCapabilitiesNoNewPrivilegesNoNewNamespaces() throws Exception {
        Sandbox.Result r = sh("grep -E '^(NoNewPrivs|CapInh|CapPrm|CapEff|CapBnd|CapAmb):' /proc/self/status;"
                + " unshare -U true && echo USERNS; unshare -n true && echo NETNS;"
                + " mount -t tmpfs none /tmp 2>/dev/null && echo MOUNTED; hostname");
        assertThat(r.output()).containsPattern("NoNewPrivs:\\s+1");
        for (String cap : List.of("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")) {
            assertThat(r.output()).containsPattern(cap + ":\\s+0000000000000000");
        }
        assertThat(r.output()).doesNotContain("USERNS").doesNotContain("NETNS").doesNotContain("MOUNTED");
        assertThat(r.output().strip()).endsWith("sandbox");
    }

    @Test
    void setuidBinariesGiveNothing() throws Exception {
        // nosuid mounts and no_new_privs: a setuid-root program runs with the caller's (empty) privileges.
        Sandbox.Result r = sh("grep ' /usr ' /proc/mounts; su -c id nobody </dev/null 2>&1; echo su=$?");
        assertThat(r.output()).contains("nosuid");
        assertThat(r.output()).doesNotContain("su=0");
    }

    // ---- never the host's root ----

    @Test
    void commandsRunAsAnUnprivilegedHostUser() throws Exception {
        Sandbox.Result r = sh("touch made; grep '^Uid:' /proc/self/status");
        assertThat(r.exitCode()).as(r.output()).isZero();
        int owner = (int) Files.getAttribute(workspace.resolve("made"), "unix:uid", LinkOption.NOFOLLOW_LINKS);
        assertThat(owner).as("host uid of a file the command made").isNotZero();
        if (SandboxDirs.root()) assertThat(owner).isEqualTo(SandboxUser.NOBODY.uid());
    }

    @Test
    void hostKernelSettingsCannotBeChanged() throws Exception {
        Path setting = Path.of("/proc/sys/fs/lease-break-time");
        String before = Files.readString(setting).strip();
        Sandbox.Result r = sh("v=$(cat " + setting + "); echo $((v+1)) > " + setting + " && echo CHANGED;"
                + " echo c > /proc/sysrq-trigger && echo SYSRQ; (: >> /proc/sys/kernel/core_pattern) && echo CORE;"
                + " grep ' /proc/sys ' /proc/self/mountinfo | cut -d' ' -f6 | cut -d, -f1");
        assertThat(Files.readString(setting).strip()).isEqualTo(before);
        assertThat(r.output()).doesNotContain("CHANGED").doesNotContain("SYSRQ").doesNotContain("CORE");
        assertThat(r.output().strip()).endsWith("ro"); // /proc/sys is a read-only mount, whoever runs the command
    }

    @Test
    void aRootOnlyHostFileIsNotReadable() throws Exception {
        Assumptions.assumeTrue(SandboxDirs.root(), "the gateway's own files are its commands' too"
                + " when it is not root; the unprivileged run is UnprivilegedGatewayTest");
        Path secret = workspace.resolve("root-only.txt");
        Files.writeString(secret, "root's secret");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Files.setAttribute(secret, "unix:uid", 0);
        Sandbox.Result r = sh("cat root-only.txt; echo end");
        assertThat(r.output()).doesNotContain("root's secret").contains("Permission denied").endsWith("end\n");
    }

    @Test
    void theProbeRefusesASandboxWhoseCommandsWouldBeHostRoot() throws Exception {
        Assumptions.assumeTrue(SandboxDirs.root(), "only a root gateway can start root commands");
        assertThatThrownBy(() -> Bubblewrap.openKeepingPrivileges(Path.of("/usr/bin/bwrap"), LIMITS, false))
                .isInstanceOf(SandboxUnavailableException.class)
                .hasMessageContaining("would act as root on the host")
                .hasMessageContaining("a file one made belongs to uid 0")
                .hasMessageContaining("it read a root-only (mode 0600) file")
                .hasMessageContaining("does not switch to an unprivileged user")
                .hasMessageNotContaining("for writing"); // /proc/sys stays read-only even then
        // bwrap alone, as root, leaves the host's kernel settings writable: the probe says so.
        assertThatThrownBy(() -> Bubblewrap.openKeepingPrivileges(Path.of("/usr/bin/bwrap"), LIMITS, true))
                .isInstanceOf(SandboxUnavailableException.class)
                .hasMessageContaining("it opened /proc/sys/fs/lease-break-time for writing");
    }

    // ---- limits ----

    @Test
    void aForkBombIsStoppedByTheProcessLimit() throws Exception {
        // dash, which does not retry a failed fork as bash does (it gives up at the first); bash counts with
        // built-ins only, since no process can be started once the limit is reached.
        Sandbox.Result bounded = sh("sh -c 'i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); done' 2>/dev/null;"
                + " n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo $n");
        int count = Integer.parseInt(bounded.output().strip());
        assertThat(count).isBetween(10, LIMITS.processes() + 2);

        long start = System.nanoTime();
        Sandbox.Result bomb = sh("sh -c 'bomb() { bomb | bomb & }; bomb'; sleep 5", Duration.ofSeconds(3), 8192);
        assertThat(bomb.timedOut()).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        assertThat(bomb.output()).containsAnyOf("Cannot fork", "Resource temporarily unavailable");
        assertThat(leftoverSandboxProcesses()).isEmpty();
        assertThat(leftoverCgroups()).isEmpty();
    }

    @Test
    void aMemoryHogIsStoppedByTheMemoryLimit() throws Exception {
        Sandbox.Result r = sh("perl -e '$x = \"x\" x (1024 * 1024 * 1024); print \"allocated\\n\"'; echo rc=$?");
        assertThat(r.output()).contains("Out of memory").doesNotContain("allocated").doesNotContain("rc=0");
    }

    @Test
    void manyProcessesTogetherAreStoppedByTheMemoryCgroup() throws Exception {
        // Each stays under the address-space limit (512 MiB); four together are over the cgroup's 512 MiB.
        assertThat(Cgroups.find().limitsMemory()).as("a memory cgroup is available on this machine").isTrue();
        Sandbox.Result r = sh("pids=; for i in 1 2 3 4; do perl -e '$x = \"x\" x (200 * 1024 * 1024); sleep 2;"
                + " print \"survived\\n\"' & pids=\"$pids $!\"; done; k=0; for p in $pids; do wait $p || k=$((k+1));"
                + " done; echo killed=$k");
        assertThat(r.output()).containsPattern("killed=[1-4]");
    }

    @Test
    void aCpuSpinIsStoppedByTheCpuLimit() throws Exception {
        long start = System.nanoTime();
        Sandbox.Result r = sh("while :; do :; done", Duration.ofSeconds(30), 4096);
        assertThat(r.timedOut()).isFalse();
        assertThat(r.exitCode()).isIn(128 + 9, 128 + 24); // SIGKILL or SIGXCPU
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
    }

    @Test
    void wallTimeKillsTheWholeTree() throws Exception {
        Sandbox.Result r = sh("sleep 60 & sleep 60 & sleep 60", Duration.ofMillis(800), 4096);
        assertThat(r.timedOut()).isTrue();
        assertThat(leftoverSandboxProcesses()).isEmpty();
    }

    @Test
    void anInterruptKillsTheTreeAndThrows() throws Exception {
        CompletableFuture<Throwable> outcome = new CompletableFuture<>();
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                sh("sleep 60 & sleep 60", Duration.ofSeconds(60), 4096);
                outcome.complete(null);
            } catch (Throwable e) {
                outcome.complete(e);
            }
        });
        Thread.sleep(500);
        t.interrupt();
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
        assertThat(leftoverSandboxProcesses()).isEmpty();
    }

    @Test
    void hugeOutputIsCappedAndBigFilesRefused() throws Exception {
        Sandbox.Result r = sh("head -c 30000000 /dev/zero | tr '\\0' 'y'; dd if=/dev/zero of=big bs=1M count=20"
                + " 2>&1 | tail -1; ls -l big | cut -d' ' -f5", Duration.ofSeconds(30), 8000);
        assertThat(r.output().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(8000);
        assertThat(r.output()).contains("bytes of output cut");
        assertThat(r.outputBytes()).isGreaterThan(30_000_000L);
        assertThat(Files.size(workspace.resolve("big"))).isEqualTo(LIMITS.fileBytes());
    }

    @Test
    void tmpIsBounded() throws Exception {
        Sandbox.Result r = sh("for i in 1 2 3 4; do head -c 7000000 /dev/zero > /tmp/f$i || echo FULL; done");
        assertThat(r.output()).contains("No space left on device");
    }

    // ---- what must work ----

    @Test
    void theWorkspaceIsReadWrite() throws Exception {
        Files.writeString(workspace.resolve("in.txt"), "from the host");
        Sandbox.Result r = sh("cat in.txt; mkdir -p sub && echo 'from the sandbox' > sub/out.txt && cat sub/out.txt;"
                + " pwd; echo $HOME");
        assertThat(r.exitCode()).isZero();
        assertThat(r.output()).isEqualTo("from the host" + "from the sandbox\n" + workspace + "\n" + workspace + "\n");
        assertThat(Files.readString(workspace.resolve("sub/out.txt"))).isEqualTo("from the sandbox\n");
    }

    @Test
    void tmpIsPrivateToEachRun() throws Exception {
        String name = "h-sandbox-private-" + System.nanoTime();
        assertThat(sh("echo mine > /tmp/" + name + " && cat /tmp/" + name).output()).isEqualTo("mine\n");
        assertThat(Path.of("/tmp", name)).doesNotExist();
        // Only the way to the workspace (which lies under /tmp here) is in the next run's /tmp.
        assertThat(sh("cat /tmp/" + name + " 2>&1; ls -A /tmp").output())
                .isEqualTo("cat: /tmp/" + name + ": No such file or directory\n"
                        + workspace.getName(1) + "\n");
    }

    @Test
    void exitCodesAndTheEnvironmentAreExact() throws Exception {
        assertThat(sh("exit 42").exitCode()).isEqualTo(42);
        assertThat(sh("true").exitCode()).isZero();
        assertThat(sh("kill -TERM $$").exitCode()).isEqualTo(128 + 15);
        Sandbox.Result env = sh("env | cut -d= -f1 | sort | tr '\\n' ' '");
        assertThat(env.output().strip()).isEqualTo(
                "ALL_PROXY HOME HTTPS_PROXY HTTP_PROXY LANG PATH PWD SHLVL _ all_proxy http_proxy https_proxy");
        assertThat(sh("read line; echo \"[$line] $?\"").output()).isEqualTo("[] 1\n"); // stdin is empty
    }

    @Test
    void extraDirectoriesFromAPolicyAreShownWithTheirMode(@TempDir Path extra) throws Exception {
        Path docs = Files.createDirectories(extra.resolve("docs"));
        Files.writeString(docs.resolve("readme.txt"), "shared docs");
        Path cache = Files.createDirectories(extra.resolve("cache"));
        SandboxDirs.searchable(extra);
        bwrap.handOver(cache); // writable by the commands' user
        Path hiddenInside = Files.createDirectories(docs.resolve("data")); // hidden, as the gateway's data is
        Files.writeString(hiddenInside.resolve("x"), "secret");
        Bubblewrap b = Bubblewrap.open(Path.of("/usr/bin/bwrap"), LIMITS, null, List.of(hiddenInside));
        try (b; Bubblewrap.Launch launch = b.prepare(workspace, List.of(docs, extra.resolve("missing")), List.of(cache),
                workspace, Map.of("PATH", "/usr/bin:/bin"), List.of("/bin/sh", "-c", "cat " + docs
                        + "/readme.txt; echo; touch " + docs + "/new 2>&1; echo c > " + cache + "/c && echo wrote;"
                        + " ls -A " + hiddenInside + " | wc -l"))) {
            Sandbox.Result r = new LocalRunner(b::start).run(new Sandbox.Command(launch.argv(), workspace, Map.of(),
                    Duration.ofSeconds(20), 4096));
            assertThat(r.output()).startsWith("shared docs\n").contains("Read-only file system").contains("wrote\n0\n");
        }
        assertThat(cache.resolve("c")).hasContent("c");
        assertThat(docs.resolve("new")).doesNotExist();
    }

    @Test
    void aWorkingDirectoryOutsideTheWorkspaceIsRefused() {
        assertThatThrownBy(() -> bwrap.prepare(workspace, otherAgent, Map.of(), List.of("true")))
                .isInstanceOf(IOException.class).hasMessageContaining("outside workspace");
    }

    @Test
    void aMissingBwrapIsAClearError() {
        assertThatThrownBy(() -> Bubblewrap.open(Path.of("/nonexistent/bwrap"), LIMITS, null, List.of()))
                .isInstanceOf(SandboxUnavailableException.class)
                .hasMessageContaining("bubblewrap is not installed").hasMessageContaining("apt-get install bubblewrap");
    }

    /** Processes of a sandbox still running: bwrap children of this JVM, or anything in the sandbox cgroups. */
    private static List<ProcessHandle> leftoverSandboxProcesses() throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            List<ProcessHandle> left = ProcessHandle.current().descendants()
                    .filter(h -> h.info().command().map(c -> c.endsWith("bwrap") || c.endsWith("sleep")).orElse(false))
                    .filter(ProcessHandle::isAlive)
                    .toList();
            if (left.isEmpty()) return left;
            Thread.sleep(20);
        }
        return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList();
    }

    private static List<Path> leftoverCgroups() throws IOException {
        List<Path> left = new java.util.ArrayList<>();
        for (Path parent : Cgroups.find().parents()) {
            try (var s = Files.list(parent)) {
                s.filter(p -> p.getFileName().toString().startsWith(Cgroups.PREFIX + ProcessHandle.current().pid() + "-"))
                        .forEach(left::add);
            }
        }
        return left;
    }
}
