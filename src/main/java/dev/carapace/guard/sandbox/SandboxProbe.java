package dev.carapace.guard.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The check {@link Bubblewrap#open} runs before the sandbox is used: a real command inside it must find itself
 * isolated, and must not act as the host's root. A sandbox that fails it is refused with what was found.
 */
final class SandboxProbe {

    private final Bubblewrap sandbox;
    /** Whom commands run as on the host when the gateway is root; null: as the gateway's own (non-root) user. */
    private final SandboxUser dropTo;

    SandboxProbe(Bubblewrap sandbox, SandboxUser dropTo) {
        this.sandbox = sandbox;
        this.dropTo = dropTo;
    }

    /** Kernel settings of the host the probe tries to open for writing (without writing anything). */
    static final List<String> PROBED_SETTINGS = List.of("/proc/sys/fs/lease-break-time", "/proc/sys/kernel/core_pattern");

    /**
     * Runs a check inside a sandbox, as {@link Bubblewrap#open} does: it must start, and see no capabilities, no_new_privs set
     * and no network device but loopback; and it must not act as the host's root: a file it makes in its workspace
     * must not belong to uid 0, it must not be able to open the host's kernel settings for writing, and (when the
     * gateway is root) it must not be able to read a root-only file (mode 0600) the probe puts in its workspace.
     */
    void run() {
        Path dir;
        try {
            dir = Files.createTempDirectory("carapace-sandbox-probe");
            sandbox.handOver(dir);
            // A gateway that is not root runs commands as itself: its own files are theirs by design (the hidden
            // paths aside). Only root's must be out of reach.
            if (Bubblewrap.runningAsRoot()) {
                Path secret = Files.writeString(dir.resolve("root-only"), "root's own");
                Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
            }
        } catch (IOException e) {
            throw new SandboxUnavailableException("cannot check the sandbox: no temporary directory (" + e.getMessage()
                    + ")");
        }
        StringBuilder script = new StringBuilder("""
                grep -E '^(NoNewPrivs|CapEff):' /proc/self/status
                tail -n +3 /proc/net/dev | cut -d: -f1 | while read -r d; do echo "net-device=$d"; done
                (: > owned-by) 2>/dev/null
                (: < root-only) 2>/dev/null && echo "readable=root-only"
                """);
        for (String f : PROBED_SETTINGS) script.append("(: >> ").append(f).append(") 2>/dev/null && echo writable=")
                .append(f).append('\n');
        script.append("exit 0\n");
        try (Bubblewrap.Launch launch = sandbox.prepare(dir, dir, Map.of("PATH", "/usr/bin:/bin"),
                List.of("/bin/sh", "-c", script.toString()))) {
            ProcessBuilder pb = new ProcessBuilder(launch.argv()).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().clear();
            Process p = sandbox.start(pb);
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new SandboxUnavailableException("bubblewrap did not run a test command within 20 s");
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.exitValue() != 0) {
                throw new SandboxUnavailableException("bubblewrap cannot create the sandbox (exit " + p.exitValue()
                        + "): " + firstLines(out) + "; user namespaces must be enabled (sysctl"
                        + " kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0; no AppArmor or"
                        + " seccomp profile forbidding them)");
            }
            List<String> lines = out.lines().map(String::strip).toList();
            if (lines.stream().noneMatch(l -> l.matches("NoNewPrivs:\\s+1"))) {
                throw new SandboxUnavailableException("the sandbox does not set no_new_privs: " + firstLines(out));
            }
            if (lines.stream().noneMatch(l -> l.matches("CapEff:\\s+0+"))) {
                throw new SandboxUnavailableException("the sandbox keeps capabilities: " + firstLines(out));
            }
            List<String> devices = lines.stream().filter(l -> l.startsWith("net-device="))
                    .map(l -> l.substring("net-device=".length())).toList();
            if (!devices.equals(List.of("lo"))) {
                throw new SandboxUnavailableException("the sandbox's network is not isolated (devices " + devices + ")");
            }
            checkNotHostRoot(dir.resolve("owned-by"), lines);
        } catch (IOException e) {
            throw new SandboxUnavailableException("bubblewrap could not be run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxUnavailableException("interrupted while checking the sandbox");
        } finally {
            for (String name : List.of("owned-by", "root-only", "")) {
                try {
                    Files.deleteIfExists(dir.resolve(name));
                } catch (IOException e) {
                    // a small temporary file left behind
                }
            }
        }
    }

    private void checkNotHostRoot(Path made, List<String> lines) throws IOException {
        String fix = dropTo == null && Bubblewrap.runningAsRoot()
                ? "the gateway runs as root and its sandbox does not switch to an unprivileged user"
                : "check tools.sandbox_user";
        if (!Files.exists(made, LinkOption.NOFOLLOW_LINKS)) {
            throw new SandboxUnavailableException("a command in the sandbox cannot create a file in its workspace"
                    + (dropTo == null ? "" : " as the sandbox user " + dropTo));
        }
        List<String> holes = new ArrayList<>();
        if ((int) Files.getAttribute(made, "unix:uid", LinkOption.NOFOLLOW_LINKS) == 0) {
            holes.add("a file one made belongs to uid 0");
        }
        lines.stream().filter(l -> l.startsWith("writable=")).map(l -> l.substring("writable=".length()))
                .forEach(f -> holes.add("it opened " + f + " for writing"));
        if (lines.contains("readable=root-only")) holes.add("it read a root-only (mode 0600) file");
        if (!holes.isEmpty()) {
            throw new SandboxUnavailableException("commands in the sandbox would act as root on the host ("
                    + String.join("; ", holes) + "): " + fix);
        }
    }

    private static String firstLines(String s) {
        String one = String.join(" | ", s.lines().limit(3).toList());
        return one.length() > 300 ? one.substring(0, 300) + "..." : one;
    }
}
