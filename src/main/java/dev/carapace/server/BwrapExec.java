package dev.carapace.server;

import dev.carapace.agent.tools.LocalRunner;
import dev.carapace.agent.tools.Sandbox;
import dev.carapace.guard.sandbox.Bubblewrap;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The {@code exec} tool's sandbox when the config says {@code tools: {exec: bwrap}}: each command runs in
 * {@link Bubblewrap} with its agent's workspace as the one writable directory. The process handling (output drained
 * within the cap, timeout, tree kill, interrupt) is {@link LocalRunner}'s, started from the sandbox's launcher thread;
 * killing the first process (bwrap) ends the sandbox's pid namespace and with it every process in it.
 *
 * <p>The command's workspace is the configured agent workspace that contains its working directory (the innermost,
 * if workspaces nest): the {@link Sandbox} seam carries no agent id, and a working directory outside every workspace
 * is refused.
 */
final class BwrapExec implements Sandbox {

    private final Bubblewrap bwrap;
    private final LocalRunner runner;
    private final List<Path> workspaces;
    /** Real workspace path to the egress proxy socket of its agent (absent: no network). */
    private final Map<Path, Path> sockets = new java.util.HashMap<>();

    /**
     * @param sockets every agent's workspace, to the egress proxy's socket for that agent's commands (null: no
     *                network); a command runs with the workspace holding its working directory
     */
    BwrapExec(Bubblewrap bwrap, Map<Path, Path> sockets) {
        this.bwrap = bwrap;
        this.runner = new LocalRunner(bwrap::start);
        List<Path> roots = new ArrayList<>();
        sockets.forEach((w, s) -> {
            Path root = real(w);
            roots.add(root);
            if (s != null) this.sockets.put(root, s);
        });
        roots.sort(Comparator.comparingInt(Path::getNameCount).reversed());
        this.workspaces = List.copyOf(roots);
    }

    @Override
    public Result run(Command command) throws IOException, InterruptedException {
        Path cwd = command.workingDirectory().toRealPath();
        Path workspace = workspaces.stream().filter(cwd::startsWith).findFirst()
                .orElseThrow(() -> new IOException("working directory is not inside any agent's workspace"));
        try (Bubblewrap.Launch launch = bwrap.prepare(workspace, List.of(), List.of(), cwd, command.environment(),
                command.argv(), sockets.get(workspace))) {
            return runner.run(new Command(launch.argv(), cwd, Map.of(), command.timeout(),
                    command.maxOutputBytes()));
        }
    }

    private static Path real(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize(); // not created yet; the workspace tool creates it on first use
        }
    }
}
