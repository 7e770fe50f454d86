package dev.carapace.guard.sandbox;

import dev.carapace.agent.tools.LocalRunner;
import dev.carapace.agent.tools.Sandbox;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What {@link UnprivilegedGatewayTest} runs in a JVM of an unprivileged user, as a gateway not run as root would:
 * opens the sandbox (its start-up probe must pass), runs one command in the workspace given as the argument, and
 * prints what the parent checks: its own uid, the host owner of a file the command made, and the command's output.
 */
public final class UnprivilegedGatewayCheck {

    public static void main(String[] args) throws Exception {
        Path ws = Path.of(args[0]);
        try (Bubblewrap bwrap = Bubblewrap.open(Path.of("/usr/bin/bwrap"), SandboxLimits.DEFAULT, null, List.of())) {
            bwrap.handOver(ws); // as not root: nothing to do, the commands are the gateway's own user
            String script = "touch made; echo 1 > /proc/sys/fs/lease-break-time && echo SYSCTL-CHANGED;"
                    + " cat root-only.txt; echo end";
            Sandbox.Result r;
            try (Bubblewrap.Launch launch = bwrap.prepare(ws, ws, Map.of("PATH", "/usr/bin:/bin"),
                    List.of("/bin/sh", "-c", script))) {
                r = new LocalRunner(bwrap::start).run(new Sandbox.Command(launch.argv(), ws, Map.of(),
                        Duration.ofSeconds(20), 16_000));
            }
            System.out.println("gateway-uid=" + Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
            System.out.println("made-uid=" + Files.getAttribute(ws.resolve("made"), "unix:uid", LinkOption.NOFOLLOW_LINKS));
            System.out.println("output=" + r.output().replace('\n', '|'));
        }
    }
}
