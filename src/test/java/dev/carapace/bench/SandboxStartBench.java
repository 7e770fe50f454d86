package dev.carapace.bench;

import dev.carapace.guard.sandbox.Bubblewrap;
import dev.carapace.guard.sandbox.SandboxLimits;

import java.io.File;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the exec sandbox costs to start: {@code /bin/true} run plainly with ProcessBuilder, then inside bubblewrap
 * with no network, then inside bubblewrap with the bridge to an egress proxy socket (socat started and listening
 * before the command runs). Each run is start to exit, sequential; the three kinds are interleaved so that the
 * machine's noise hits them alike.
 *
 * <pre>java -cp ... dev.carapace.bench.SandboxStartBench [runs]</pre>
 */
public final class SandboxStartBench {

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 300;
        Path dir = Files.createTempDirectory("h-sandbox-bench");
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path sock = dir.resolve("proxy.sock");
        Map<String, String> env = Map.of("PATH", "/usr/bin:/bin", "HOME", ws.toString());
        try (ServerSocketChannel proxy = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            proxy.bind(UnixDomainSocketAddress.of(sock));
            try (Bubblewrap closed = Bubblewrap.open(Path.of("/usr/bin/bwrap"), SandboxLimits.DEFAULT, null, List.of());
                 Bubblewrap bridged = Bubblewrap.open(Path.of("/usr/bin/bwrap"), SandboxLimits.DEFAULT, sock, List.of())) {
                Kind[] kinds = {
                        new Kind("plain /bin/true", () -> time(new ProcessBuilder("/bin/true"), null)),
                        new Kind("bwrap, no network", () -> sandboxed(closed, ws, env)),
                        new Kind("bwrap + proxy bridge", () -> sandboxed(bridged, ws, env)),
                };
                for (int i = 0; i < 20; i++) for (Kind k : kinds) k.run.call(); // warm-up
                long[][] ns = new long[kinds.length][runs];
                for (int i = 0; i < runs; i++) {
                    for (int k = 0; k < kinds.length; k++) ns[k][i] = kinds[k].run.call();
                }
                System.out.printf(Locale.ROOT, "runs=%d root=%s%n", runs, rootNote());
                for (int k = 0; k < kinds.length; k++) report(kinds[k].name, ns[k]);
            }
        } finally {
            Files.deleteIfExists(sock);
            Files.deleteIfExists(ws);
            Files.deleteIfExists(dir);
        }
    }

    private record Kind(String name, java.util.concurrent.Callable<Long> run) {}

    private static long sandboxed(Bubblewrap bwrap, Path ws, Map<String, String> env) throws Exception {
        try (Bubblewrap.Launch launch = bwrap.prepare(ws, ws, env, List.of("/bin/true"))) {
            ProcessBuilder pb = new ProcessBuilder(launch.argv());
            pb.environment().clear();
            return time(pb, bwrap);
        }
    }

    private static long time(ProcessBuilder pb, Bubblewrap via) throws Exception {
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true);
        long t0 = System.nanoTime();
        Process p = via == null ? pb.start() : via.start(pb);
        int exit = p.waitFor();
        long t = System.nanoTime() - t0;
        if (exit != 0) throw new IllegalStateException("exit " + exit);
        return t;
    }

    private static String rootNote() {
        return ProcessHandle.current().info().user().orElse("?") + " (as root, each sandbox also gets a pids cgroup)";
    }

    private static void report(String name, long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        double mean = Arrays.stream(s).average().orElse(0) / 1e6;
        System.out.printf(Locale.ROOT, "%-22s mean %6.2f ms  p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms%n", name, mean,
                s[s.length / 2] / 1e6, s[(int) Math.ceil(s.length * 0.99) - 1] / 1e6, s[s.length - 1] / 1e6);
    }
}
