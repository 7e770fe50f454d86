package dev.carapace.guard.sandbox;

import dev.carapace.testing.SandboxDirs;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sandbox under a gateway that is not root, in the same CI run as the root one: when the tests run as root,
 * {@link UnprivilegedGatewayCheck} runs in a child JVM started through {@code setpriv} as nobody (65534), with a
 * copy of the classes it can read (the build's own folders may be under a 0700 home). Its start-up probe must pass,
 * and its commands must be unprivileged with the host's kernel settings and root's files out of reach.
 */
class UnprivilegedGatewayTest {

    @Test
    void theSandboxWorksAndHoldsUnderAnUnprivilegedGateway() throws Exception {
        Assumptions.assumeTrue(SandboxDirs.root(), "run as root: the test starts the unprivileged gateway itself");
        Path top = Files.createTempDirectory("carapace-unprivileged-");
        try {
            Files.setPosixFilePermissions(top, PosixFilePermissions.fromString("rwxr-xr-x"));
            List<String> classpath = new ArrayList<>();
            for (Class<?> c : List.of(Bubblewrap.class, UnprivilegedGatewayCheck.class, Logger.class)) {
                Path from = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
                Path to = top.resolve("cp" + classpath.size() + (Files.isDirectory(from) ? "" : ".jar"));
                SandboxDirs.copyReadable(from, to);
                classpath.add(to.toString());
            }
            Path ws = Files.createDirectories(top.resolve("ws"));
            Files.setAttribute(ws, "unix:uid", SandboxUser.NOBODY.uid());
            Path secret = Files.writeString(ws.resolve("root-only.txt"), "root's secret");
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
            Path setting = Path.of("/proc/sys/fs/lease-break-time");
            String before = Files.readString(setting).strip();

            String java = ProcessHandle.current().info().command().orElseThrow();
            Process p = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx128m",
                    "-cp", String.join(":", classpath), UnprivilegedGatewayCheck.class.getName(), ws.toString())
                    .directory(top.toFile()).redirectErrorStream(true).start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.exitValue()).as(out).isZero();

            assertThat(out).contains("gateway-uid=65534\n"); // the gateway itself was unprivileged
            assertThat(out).contains("made-uid=65534\n");    // and so were its commands, on the host
            assertThat(out).doesNotContain("SYSCTL-CHANGED").doesNotContain("root's secret")
                    .contains("root-only.txt: Permission denied").contains("|end|");
            assertThat(Files.readString(setting).strip()).isEqualTo(before);
        } finally {
            try (Stream<Path> all = Files.walk(top)) {
                all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
