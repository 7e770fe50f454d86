package dev.carapace.server.adapter;

import dev.carapace.agent.tools.LocalRunner;
import dev.carapace.agent.tools.Sandbox;
import dev.carapace.guard.policy.PolicyEngine;
import dev.carapace.guard.sandbox.Bubblewrap;
import dev.carapace.guard.sandbox.Mount;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The {@code exec} tool's sandbox when the config says {@code tools: {exec: bwrap}}: each command runs in
 * {@link Bubblewrap} as the agent that made the call. The process handling (output drained within the cap, timeout,
 * tree kill, interrupt) is {@link LocalRunner}'s, started from the sandbox's launcher thread; killing the first
 * process (bwrap) ends the sandbox's pid namespace and with it every process in it.
 *
 * <p>Whom a command runs as comes from the call ({@link Sandbox.Command#agentId()}), never from where it runs:
 * workspaces may nest, and a command of agent {@code main} whose working directory is inside agent {@code inner}'s
 * workspace is still {@code main}'s, with {@code main}'s workspace, egress socket and file-system layer. A working
 * directory outside the calling agent's workspace is refused.
 *
 * <p>A command of a run that follows skills gets the network those skills declared, through {@link SkillEgress}:
 * none, or a socket of its own judged against their hosts.
 *
 * <p>With a guard policy, the agent's file-system layer is read from the engine in force at each command (a reload
 * applies to the next one): the workspace is writable, read-only or hidden as the policy decides for it, and every
 * root of the agent's policies is mounted with its mode (see {@link Mount} for the order). Without a policy the
 * workspace is writable and nothing else is shown.
 */
public final class BwrapExec implements Sandbox {

    /** An agent's place: its workspace and the egress socket its commands use (null: no network). */
    public record AgentSandbox(Path workspace, Path proxySocket) {}

    private final Bubblewrap bwrap;
    private final LocalRunner runner;
    private final Map<String, AgentSandbox> agents;
    /** The policy engine in force, or null without a guard policy. */
    private final Supplier<PolicyEngine> policy;
    /** Narrows the network of a command whose run follows skills; null: such a command gets none. */
    private final SkillEgress skills;

    /**
     * @param agents every agent by id
     * @param policy the engine in force for each command (a {@code PolicyWatcher::current}), or null without one
     */
    public BwrapExec(Bubblewrap bwrap, Map<String, AgentSandbox> agents, Supplier<PolicyEngine> policy) {
        this(bwrap, agents, policy, null);
    }

    /** @param skills narrows the network of commands whose runs follow skills (null: they get no network) */
    public BwrapExec(Bubblewrap bwrap, Map<String, AgentSandbox> agents, Supplier<PolicyEngine> policy,
                     SkillEgress skills) {
        this.bwrap = bwrap;
        this.runner = new LocalRunner(bwrap::start);
        this.agents = Map.copyOf(agents);
        this.policy = policy;
        this.skills = skills;
    }

    @Override
    public Result run(Command command) throws IOException, InterruptedException {
        if (command.agentId() == null) throw new IOException("the command names no agent to run as");
        AgentSandbox agent = agents.get(command.agentId());
        if (agent == null) throw new IOException("unknown agent '" + command.agentId() + "'");
        Path workspace = agent.workspace().toRealPath();
        Path cwd = command.workingDirectory().toRealPath();
        if (!cwd.startsWith(workspace)) {
            throw new IOException("working directory is outside agent '" + command.agentId() + "''s workspace");
        }
        List<Mount> mounts = policy == null ? List.of() : layer(policy.get(), command.agentId(), workspace);
        try (SkillEgress.Lease network = network(command, agent.proxySocket());
             Bubblewrap.Launch launch = bwrap.prepare(workspace, mounts, cwd, command.environment(), command.argv(),
                     network.socket())) {
            return runner.run(new Command(command.agentId(), launch.argv(), cwd, Map.of(), command.timeout(),
                    command.maxOutputBytes()));
        }
    }

    /** The command's way out: its agent's socket, or what the skills its run follows leave of it. */
    private SkillEgress.Lease network(Command command, Path agentSocket) throws IOException {
        if (command.following() == null || !command.following().any()) return SkillEgress.Lease.of(agentSocket);
        if (skills == null) return SkillEgress.Lease.of(null);
        return skills.socketFor(command.agentId(), command.following(), agentSocket);
    }

    /** How many files and folders may be looked at to apply an agent's read rules to one command. */
    static final int MAX_RULE_WALK = 100_000;

    /**
     * The agent's file-system layer as mounts: the workspace as the policy decides for it, then every root, then
     * what its read rules keep from a command (hidden).
     */
    static List<Mount> layer(PolicyEngine engine, String agent, Path workspace) throws IOException {
        List<Mount> mounts = new ArrayList<>();
        Mount.Access own = engine.filesystem(agent, workspace, PolicyEngine.Mode.WRITE).allowed() ? Mount.Access.READ_WRITE
                : engine.filesystem(agent, workspace, PolicyEngine.Mode.READ).allowed() ? Mount.Access.READ_ONLY
                : Mount.Access.HIDDEN;
        mounts.add(new Mount(workspace, own));
        for (PolicyEngine.FilesystemRoot r : engine.filesystemRoots(agent)) {
            if (r.path().equals(workspace)) continue; // decided above, with every root that covers it
            mounts.add(new Mount(r.path(), r.writable() ? Mount.Access.READ_WRITE : Mount.Access.READ_ONLY));
        }
        List<Path> visible = mounts.stream().filter(m -> m.access() != Mount.Access.HIDDEN).map(Mount::path).toList();
        try {
            for (Path p : engine.unreadable(agent, visible, MAX_RULE_WALK)) mounts.add(new Mount(p, Mount.Access.HIDDEN));
        } catch (IllegalStateException tooMany) {
            throw new IOException(tooMany.getMessage());
        }
        return mounts;
    }
}
