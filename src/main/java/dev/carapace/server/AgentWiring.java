package dev.carapace.server;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.Agents;
import dev.carapace.agent.ContextSource;
import dev.carapace.agent.Guard;
import dev.carapace.agent.RunEvents;
import dev.carapace.agent.WorkspaceGuard;
import dev.carapace.agent.tools.BuiltinTools;
import dev.carapace.agent.tools.DirectEgress;
import dev.carapace.agent.tools.LocalRunner;
import dev.carapace.agent.tools.Sandbox;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.fs.RealPaths;
import dev.carapace.gateway.Gateway;
import dev.carapace.guard.ActingFor;
import dev.carapace.guard.AuditSink;
import dev.carapace.guard.NetworkRules;
import dev.carapace.guard.approval.ApprovalQueue;
import dev.carapace.guard.audit.AuditLog;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.guard.egress.Resolver;
import dev.carapace.guard.egress.SecretStore;
import dev.carapace.guard.policy.PolicyWatcher;
import dev.carapace.guard.sandbox.Bubblewrap;
import dev.carapace.guard.sandbox.SandboxUnavailableException;
import dev.carapace.guard.sandbox.SandboxUser;
import dev.carapace.identity.KeyAdmin;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.server.adapter.AuditedSpawns;
import dev.carapace.skill.FolderSkillSource;
import dev.carapace.skill.SkillSource;
import dev.carapace.skill.repo.InstalledSkillSource;
import dev.carapace.skill.SkillCatalog;
import dev.carapace.skill.SkillHost;
import dev.carapace.skill.SkillSettings;
import dev.carapace.server.adapter.BwrapExec;
import dev.carapace.server.adapter.EgressSockets;
import dev.carapace.server.adapter.GrantingGuard;
import dev.carapace.server.adapter.PolicyGuard;
import dev.carapace.server.adapter.ProxyEgress;
import dev.carapace.server.adapter.QueuedApprovals;
import dev.carapace.server.adapter.SkillEgress;
import dev.carapace.server.adapter.SkillGuard;
import dev.carapace.skill.FollowedSkills;
import dev.carapace.server.adapter.StoreSessions;
import dev.carapace.store.ApiKeys;
import dev.carapace.store.Store;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Builds the agent runtime for {@link Carapace}, the composition root: the agents, their tools, the guard in front of
 * every tool call, and what the tools run in (the exec sandbox, the egress proxy for web fetches). Beside
 * {@link GuardWiring}, which builds the policy these parts ask.
 */
final class AgentWiring {

    private AgentWiring() {}

    /**
     * The agents of the config and the runtime that runs them, calling models through {@code gateway}. Every tool
     * call passes the guard (the attached policy, else the agents' tool lists); calls it asks about wait in
     * {@code approvals}, and standing grants allow them without asking. Every decision goes to {@code audit}.
     */
    static AgentRuntime agentRuntime(CarapaceConfig config, Store store, Gateway gateway, Clock clock,
                                     EgressProxy egressProxy, PolicyWatcher policy,
                                     Sandbox sandboxed, AuditLog audit, ApprovalQueue approvals, List<AgentTool> extra,
                                     List<ContextSource> context, FollowedSkills followed) {
        Agents agents = new Agents(config.agents().values());
        // The guard is built before the runtime it asks who a run is for: the runtime is set once it exists.
        AtomicReference<AgentRuntime> built = new AtomicReference<>();
        ActingFor actingFor = actingFor(config.org(), agents, built::get);
        CarapaceConfig.Tools chosen = config.tools();
        Sandbox exec = switch (chosen.exec()) {
            case OFF -> null;
            case LOCAL -> new LocalRunner();
            case BWRAP -> Objects.requireNonNull(sandboxed, "exec: bwrap needs the sandbox");
        };
        List<AgentTool> tools = BuiltinTools.all(exec,
                switch (chosen.webFetch()) {
                    case OFF -> null;
                    case DIRECT -> new DirectEgress();
                    case PROXY -> new ProxyEgress(egressProxy, null);
                });
        tools = new java.util.ArrayList<>(tools);
        tools.addAll(extra);
        Guard decided = policy == null ? new WorkspaceGuard(agents)
                : new PolicyGuard(agents, policy::current, audit, clock, tools, actingFor);
        // Outermost: a followed skill narrows what the policy (with its standing grants) allows, never widens it.
        Guard guard = new SkillGuard(new GrantingGuard(decided, approvals, audit, clock, actingFor), followed, audit,
                clock, actingFor, chosen.exec() == CarapaceConfig.Tools.Exec.BWRAP);
        AgentRuntime runtime = new AgentRuntime(agents, gateway, new StoreSessions(store.sessions()), guard,
                new QueuedApprovals(approvals, actingFor), tools, agent -> agentPrincipal(config.org(), agent, store),
                new RunEvents(), clock, new AuditedSpawns(audit), context);
        built.set(runtime);
        return runtime;
    }

    /**
     * The skills of each agent: the config's {@code skills.dirs}, then what the org repository installed for it
     * ({@code installed}: agent, team, org scope), then its workspace's {@code skills/} and {@code .agents/skills/}
     * folders (OpenClaw's workspace and project skills); the first holding a name wins. Each is checked against this
     * host ({@code env} for {@code requires.env}, the config's secrets too).
     */
    static SkillCatalog skillCatalog(CarapaceConfig config, Function<String, String> env, InstalledSkillSource installed) {
        SkillSettings settings = config.skills();
        // The operator's folders, then reviewed installs, then the agent's own workspace: an agent that can write its
        // workspace must not shadow a reviewed skill with an unreviewed one of the same name.
        FolderSkillSource operator = new FolderSkillSource(id -> config.agents().containsKey(id)
                ? settings.dirs().stream().map(d -> new FolderSkillSource.Root(d, "dir")).toList() : List.of());
        FolderSkillSource workspaces = new FolderSkillSource(id -> {
            AgentSpec a = config.agents().get(id);
            if (a == null) return List.of();
            Path workspace = RealPaths.real(a.workspace());
            return List.of(new FolderSkillSource.Root(a.workspace().resolve("skills"), "workspace", workspace),
                    new FolderSkillSource.Root(a.workspace().resolve(".agents/skills"), "workspace", workspace));
        });
        return new SkillCatalog(SkillSource.firstWins(List.of(operator, installed, workspaces)),
                SkillHost.of(env, config.secrets()), settings);
    }

    /** A user's team: that of their newest active key, or null when they have none. */
    static String teamOf(String user, Store store) {
        return store.apiKeys().list().stream()
                .filter(k -> user.equals(k.user()) && !k.revoked() && k.team() != null)
                .reduce((first, second) -> second).map(ApiKeys.StoredKey::team).orElse(null);
    }

    /**
     * Whom the guard's records and approvals name for an agent's act: who asked for the session's running run
     * ({@link AgentRuntime#requester}), else the agent's owner ({@link #auditPrincipal}).
     *
     * @param runtime the runtime, or null while it is being built
     */
    static ActingFor actingFor(String org, Agents agents, Supplier<AgentRuntime> runtime) {
        return (agent, session) -> {
            AgentRuntime r = runtime.get();
            Principal asked = r == null ? null : r.requester(session).orElse(null);
            return asked != null ? asked.path() : auditPrincipal(org, agents, agent);
        };
    }

    /** The principal of an agent's audit records: its owner, {@code org/team[/user]}; never fails. */
    static String auditPrincipal(String org, Agents agents, String agentId) {
        AgentSpec a = agents.find(agentId).orElse(null);
        if (a == null) return org;
        AgentSpec.Owner o = a.owner();
        return org + "/" + (o.team() == null ? "-" : o.team()) + (o.user() == null ? "" : "/" + o.user());
    }

    /**
     * The egress proxy for {@code web_fetch: proxy}. Its rules are the attached guard policy's network layer; with no
     * policy attached, agents may reach public addresses on ports 80 and 443 only (the proxy's SSRF defence refuses
     * everything internal either way).
     */
    static EgressProxy egressProxy(CarapaceConfig config, Function<String, String> env, Clock clock,
                                   PolicyWatcher policy, AuditSink audit, SkillEgress skills) {
        NetworkRules rules = policy != null ? policy.networkRules()
                : r -> r.port() == 80 || r.port() == 443
                ? new NetworkRules.NetworkDecision(NetworkRules.Verdict.ALLOW, "tools.web_fetch", "public web on ports 80"
                + " and 443 (no network policy attached)", false, List.of(), List.of())
                : new NetworkRules.NetworkDecision(NetworkRules.Verdict.DENY, "tools.web_fetch", "only ports 80 and"
                + " 443 are reachable without a network policy", false, List.of(), List.of());
        return new EgressProxy(skills.around(rules), Resolver.SYSTEM, SecretStore.of(config.secrets(), env), audit, clock,
                EgressProxy.Options.defaults());
    }

    /**
     * Exec in the sandbox: each agent's commands with its own workspace and egress socket, and (with a guard policy)
     * the file-system layer of the policy in force at each command.
     */
    static BwrapExec bwrapExec(CarapaceConfig config, Bubblewrap bubblewrap, EgressSockets sockets,
                               PolicyWatcher policy, SkillEgress skills) {
        Map<String, BwrapExec.AgentSandbox> agents = new LinkedHashMap<>();
        for (AgentSpec a : config.agents().values()) {
            agents.put(a.id(), new BwrapExec.AgentSandbox(a.workspace(), sockets.byAgent().get(a.id())));
        }
        return new BwrapExec(bubblewrap, agents, policy == null ? null : policy::current, skills);
    }

    /**
     * The bubblewrap sandbox for exec, checked by running a command in it. What steers the gateway is hidden inside
     * even where it lies in a system directory (a secret file under /etc, say): the data folder, the config and
     * policy files, and the files the egress proxy injects secrets from. Sandboxed commands reach the network only
     * through the egress proxy's sockets; with none, not at all.
     */
    static Bubblewrap openSandbox(CarapaceConfig config, Path configFile, Path dataDir, Function<String, String> env,
                                  EgressSockets sockets, SandboxUser user) {
        String path = env.apply("PATH") == null ? "/usr/local/bin:/usr/bin:/bin" : env.apply("PATH");
        Path bwrap = executable("bwrap", path);
        if (bwrap == null) {
            throw new SandboxUnavailableException("bubblewrap is not installed (no bwrap on"
                    + " PATH " + path + "): install it (Debian/Ubuntu: apt-get install bubblewrap), or set"
                    + " 'tools: {exec: local}' to run commands without isolation");
        }
        return Bubblewrap.open(bwrap, config.tools().sandbox(), sockets == null ? null : sockets.any(),
                hiddenFromSandboxes(config, configFile, dataDir, sockets), user);
    }

    /**
     * What no sandbox shows even under a policy root: the data folder, the config and policy files, secret files, and
     * the folder of the egress proxy's sockets (each command reaches its own agent's socket, bound elsewhere).
     */
    static List<Path> hiddenFromSandboxes(CarapaceConfig config, Path configFile, Path dataDir, EgressSockets sockets) {
        List<Path> hidden = new ArrayList<>(List.of(dataDir));
        if (configFile != null) hidden.add(configFile);
        config.guard().policies().values().forEach(r -> hidden.add(r.file()));
        config.secrets().values().stream().filter(ref -> ref.startsWith("file:"))
                .forEach(ref -> hidden.add(Path.of(ref.substring("file:".length()))));
        if (sockets != null) hidden.add(sockets.dir());
        return hidden;
    }

    /** The first executable {@code name} in the directories of {@code path}, or null. */
    static Path executable(String name, String path) {
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, name);
            if (java.nio.file.Files.isExecutable(p)) return p;
        }
        return null;
    }

    /**
     * Whom an agent calls models as: its owner's team (and user), with its own id so its budget applies too. A
     * user-owned agent without a configured team takes the team of its owner's newest active key.
     */
    static Principal agentPrincipal(String org, AgentSpec agent, Store store) {
        AgentSpec.Owner owner = agent.owner();
        if (KeyAdmin.revokedUser(store.apiKeys(), owner.user())) {
            throw new ApiException(ApiException.Kind.PERMISSION, "Agent '" + agent.id() + "' is owned by user '"
                    + owner.user() + "', who has had every API key revoked; it runs for no one until an admin gives it"
                    + " another owner in the config or the user a key.", null, "agent_owner_revoked", null, false);
        }
        String team = owner.team();
        if (team == null) {
            team = teamOf(owner.user(), store);
            if (team == null) {
                throw new ApiException(ApiException.Kind.PERMISSION, "Agent '" + agent.id() + "' is owned by user '"
                        + owner.user() + "', who has no active API key to tell their team; set owner.team in the config.",
                        null, "agent_owner_unresolved", null, false);
            }
        }
        return Principal.agent(org, team, owner.user(), agent.id());
    }
}
