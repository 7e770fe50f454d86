package dev.carapace.bench;

import dev.carapace.guard.sandbox.Bubblewrap;
import dev.carapace.guard.sandbox.SandboxLimits;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What never running commands as root costs at start-up: {@code /bin/true} from {@link Bubblewrap#prepare} to its
 * exit, with today's launch (as the sandbox user through {@code setpriv}, /proc's kernel interfaces bound
 * read-only) and with the launch before that change, alternately, in one run. The earlier launch is today's argv
 * without the {@code setpriv} prefix and the {@code --ro-bind-try /proc/...} mounts, which is exactly what
 * {@code prepare} produced before (same cgroups, same mounts otherwise). Run it as root, where the switch happens.
 *
 * <pre>java -cp ... dev.carapace.bench.SandboxDropBench [runs]</pre>
 */
public final class SandboxDropBench {

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        Path dir = Files.createTempDirectory("h-sandbox-drop-bench");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Map<String, String> env = Map.of("PATH", "/usr/bin:/bin", "HOME", ws.toString());
        try (Bubblewrap bwrap = Bubblewrap.open(Path.of("/usr/bin/bwrap"), SandboxLimits.DEFAULT, null, List.of())) {
            bwrap.handOver(ws);
            for (int i = 0; i < 10; i++) { // warm-up
                run(bwrap, ws, env, false);
                run(bwrap, ws, env, true);
            }
            long[] before = new long[runs];
            long[] now = new long[runs];
            for (int i = 0; i < runs; i++) {
                before[i] = run(bwrap, ws, env, true);
                now[i] = run(bwrap, ws, env, false);
            }
            System.out.printf(Locale.ROOT, "runs=%d user=%s sandbox user=%s%n", runs,
                    ProcessHandle.current().info().user().orElse("?"), bwrap.commandUser());
            double b = report("before (root in bwrap)", before);
            double n = report("now (setpriv + ro /proc)", now);
            System.out.printf(Locale.ROOT, "ratio now/before: mean %.3f  p50 %.3f%n", n / b,
                    median(now) / median(before));
        } finally {
            Files.deleteIfExists(ws);
            Files.deleteIfExists(dir);
        }
    }

    private static long run(Bubblewrap bwrap, Path ws, Map<String, String> env, boolean before) throws Exception {
        long t0 = System.nanoTime();
        try (Bubblewrap.Launch launch = bwrap.prepare(ws, ws, env, List.of("/bin/true"))) {
            ProcessBuilder pb = new ProcessBuilder(before ? withoutTheChange(launch.argv()) : launch.argv())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true);
            pb.environment().clear();
            int exit = bwrap.start(pb).waitFor();
            if (exit != 0) throw new IllegalStateException("exit " + exit + " for " + pb.command());
        }
        return System.nanoTime() - t0;
    }

    /** Today's argv as it was before commands stopped running as root. */
    static List<String> withoutTheChange(List<String> argv) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            if (a.equals("/usr/bin/setpriv")) {
                while (!argv.get(i + 1).endsWith("bwrap")) i++;
            } else if (a.equals("--ro-bind-try") && argv.get(i + 1).startsWith("/proc/")) {
                i += 2;
            } else {
                out.add(a);
            }
        }
        return out;
    }

    private static double median(long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static double report(String name, long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        double mean = Arrays.stream(s).average().orElse(0);
        System.out.printf(Locale.ROOT, "%-26s mean %6.2f ms  p50 %6.2f ms  p90 %6.2f ms  max %6.2f ms%n", name,
                mean / 1e6, s[s.length / 2] / 1e6, s[(int) Math.ceil(s.length * 0.9) - 1] / 1e6, s[s.length - 1] / 1e6);
        return mean;
    }
}
