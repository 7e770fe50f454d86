package dev.carapace.config;

import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.tools.BuiltinTools;
import dev.carapace.config.CarapaceConfig.Team;
import dev.carapace.config.CarapaceConfig.Tools;
import dev.carapace.config.WritableLayout.Site;
import dev.carapace.fs.RealPaths;
import dev.carapace.model.ModelKind;
import dev.carapace.model.ModelSpec;
import dev.carapace.schedule.heartbeat.HeartbeatSpec;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.carapace.config.ConfigChecks.options;
import static dev.carapace.config.ConfigChecks.unknownReference;
import static dev.carapace.config.SecretsSection.isSecretKey;
import static dev.carapace.config.SecretsSection.secretMessage;

/**
 * Reads the agents: the {@code agents:} section, then each {@code agents/NAME/agent.yaml} found next to the config
 * (reported as a file of its own), checking every reference to a model, tier, team, tool and guard policy.
 */
final class AgentsSection {

    private static final Map<String, AgentSpec.OnBusy> ON_BUSY = options(AgentSpec.OnBusy.values());
    /** Where agents are found besides the {@code agents:} section: {@code agents/NAME/agent.yaml} next to the config. */
    static final String AGENTS_DIR = "agents";
    static final String AGENT_FILE = "agent.yaml";
    /**
     * A discovered agent's default workspace, inside its folder: not the folder itself, which holds its
     * {@code agent.yaml} (an agent must never be able to rewrite its own definition).
     */
    static final String DISCOVERED_WORKSPACE = "workspace";

    private final ConfigChecks checks;
    private final Problems problems;
    /** What a relative workspace is relative to: the config's directory, or a discovered agent's folder. */
    private final Path baseDir;
    /** Where agent folders are discovered; null when checking text that has no file. */
    private final Path agentsDir;
    /** Names of guard.policies, read before the agents so an agent's {@code policy:} can be checked. */
    private final Set<String> guardPolicies;
    private final WritableLayout layout;
    /** The problems of each discovered agent file, reported with the config's own. */
    private final List<Problems> otherFiles;
    /** The agents' heartbeats, by agent id, shared with the readers of discovered agent files. */
    private final Map<String, HeartbeatSpec> heartbeats;

    AgentsSection(ConfigChecks checks, Path baseDir, Path agentsDir, Set<String> guardPolicies, WritableLayout layout,
                  List<Problems> otherFiles) {
        this(checks, baseDir, agentsDir, guardPolicies, layout, otherFiles, new LinkedHashMap<>());
    }

    private AgentsSection(ConfigChecks checks, Path baseDir, Path agentsDir, Set<String> guardPolicies,
                          WritableLayout layout, List<Problems> otherFiles, Map<String, HeartbeatSpec> heartbeats) {
        this.heartbeats = heartbeats;
        this.checks = checks;
        this.problems = checks.problems();
        this.baseDir = baseDir;
        this.agentsDir = agentsDir;
        this.guardPolicies = guardPolicies;
        this.layout = layout;
        this.otherFiles = otherFiles;
    }

    /** The {@code agents:} section, then every {@code agents/NAME/agent.yaml}; an id defined twice is an error. */
    Map<String, AgentSpec> agents(MapReader root, List<String> tiers, Map<String, ModelSpec> models,
                                  Map<String, Team> teams, Tools tools) {
        Map<String, AgentSpec> agents = new LinkedHashMap<>();
        for (Entry e : root.entries("agents")) {
            String path = KeyPath.key("agents", e.key());
            checks.checkName(e.line(), e.column(), path, e.key(), "agent id");
            MapReader r = MapReader.of(e.value(), path, e.line(), e.column(), problems);
            AgentSpec a = agent(r, e.key(), null, tiers, models, teams, tools);
            if (a != null) agents.put(e.key(), a);
        }
        if (agentsDir == null || !Files.isDirectory(agentsDir)) return Collections.unmodifiableMap(agents);
        List<Path> folders;
        try (var list = Files.list(agentsDir)) {
            folders = list.filter(d -> Files.isRegularFile(d.resolve(AGENT_FILE))).sorted().toList();
        } catch (IOException e) {
            problems.error(0, 0, "", "cannot list " + agentsDir + ": " + e.getClass().getSimpleName());
            return Collections.unmodifiableMap(agents);
        }
        for (Path folder : folders) {
            Path file = folder.resolve(AGENT_FILE);
            AgentSpec writer = agents.values().stream().filter(a -> inside(folder, a.workspace())).findFirst().orElse(null);
            if (writer != null) {
                // A file an agent could have written is no definition: were it read, the agent could give itself
                // tools, or stop the next start with a duplicate definition.
                problems.warning(0, 0, "agents", "ignored " + file + ": it lies in the workspace of agent '"
                        + writer.id() + "', which could have written it; define agents in the config or in folders "
                        + "no agent can write");
                continue;
            }
            Problems fileProblems = new Problems(file.toString());
            otherFiles.add(fileProblems);
            AgentsSection sub = new AgentsSection(checks.reportingTo(fileProblems), folder, null, guardPolicies,
                    layout, otherFiles, heartbeats);
            layout.definition(file);
            String id = folder.getFileName().toString();
            MapNode map = MapReader.readFile(file, fileProblems, "the agent's settings (key: value lines)");
            if (map == null) continue;
            sub.checks.checkName(1, 1, "", id, "agent id (the folder's name)");
            SecretsSection fileSecrets = new SecretsSection(fileProblems);
            for (Entry e : map.entries().values()) {
                if (isSecretKey(e.key())) fileProblems.error(e.line(), e.column(), e.key(), secretMessage(null));
                else fileSecrets.refuseSecrets(e.value(), e.key(), null, false);
            }
            AgentSpec a = sub.agent(MapReader.root(map, fileProblems), id, folder.resolve(DISCOVERED_WORKSPACE), tiers,
                    models, teams, tools);
            if (agents.containsKey(id)) {
                fileProblems.error(1, 1, "", "agent '" + id + "' is also defined in the config's agents: section");
            } else if (a != null) {
                agents.put(id, a);
            }
        }
        return Collections.unmodifiableMap(agents);
    }

    /** The heartbeats of the agents read so far (after {@link #agents}: of them all), by agent id. */
    Map<String, HeartbeatSpec> heartbeats() {
        return Collections.unmodifiableMap(heartbeats);
    }

    /** Whether {@code path} lies in {@code dir}, compared as real paths. */
    static boolean inside(Path path, Path dir) {
        return RealPaths.real(path).startsWith(RealPaths.real(dir));
    }

    /**
     * One agent's settings. {@code defaultWorkspace} is the agent's own folder for a discovered agent (where
     * {@code workspace} may be left out), null in the {@code agents:} section (where it is required).
     */
    private AgentSpec agent(MapReader r, String id, Path defaultWorkspace, List<String> tiers,
                            Map<String, ModelSpec> models, Map<String, Team> teams, Tools enabled) {
        Path workspace = defaultWorkspace;
        Scalar ws = defaultWorkspace == null ? r.requiredScalar("workspace", "the agent's folder (holding its AGENTS.md)")
                : r.scalar("workspace", "the agent's folder (holding its AGENTS.md)");
        if (ws == null && defaultWorkspace != null && !Files.isDirectory(defaultWorkspace)) {
            problems.error(1, 1, r.pathOf("workspace"), "not set, and its default folder '" + defaultWorkspace + "' does "
                    + "not exist (create it, with the agent's instructions in AGENTS.md, or set workspace:)");
        }
        if (ws != null) {
            try {
                workspace = baseDir.resolve(ws.text()).toAbsolutePath().normalize();
                if (!Files.isDirectory(workspace)) {
                    r.error(ws, "workspace", "folder '" + workspace + "' does not exist (create it, with the agent's "
                            + "instructions in AGENTS.md)");
                }
            } catch (java.nio.file.InvalidPathException e) {
                r.error(ws, "workspace", "not a valid path: " + YamlTree.describe(ws));
                workspace = null;
            }
        }
        String model = modelRef(r, r.requiredScalar("model", "a model id or tier:NAME"), "model", tiers, models);
        List<String> fallbacks = new ArrayList<>();
        List<Scalar> fb = r.scalars("fallbacks", "a list of model ids or tier:NAME", "a model id or tier:NAME");
        for (Scalar s : fb == null ? List.<Scalar>of() : fb) fallbacks.add(modelRef(r, s, "fallbacks", tiers, models));
        List<String> tools = new ArrayList<>();
        List<Scalar> ts = r.scalars("tools", "a list of tool names", "a tool name");
        for (Scalar s : ts == null ? List.<Scalar>of() : ts) {
            if (!BuiltinTools.accepted().contains(s.text())) {
                problems.error(s.line(), s.column(), r.pathOf("tools"), unknownReference(s.text(),
                        BuiltinTools.accepted().stream().sorted().toList(), "tool"));
            } else if (s.text().equals("exec") && enabled.exec() == Tools.Exec.OFF) {
                problems.error(s.line(), s.column(), r.pathOf("tools"), "tool 'exec' is off: commands run only where the"
                        + " config says: 'tools: {exec: bwrap}' (in a sandbox) or 'tools: {exec: local}' (on this host,"
                        + " with no isolation)");
            } else if (s.text().equals("web_fetch") && enabled.webFetch() == Tools.WebFetch.OFF) {
                problems.error(s.line(), s.column(), r.pathOf("tools"), "tool 'web_fetch' is off: turn it on with"
                        + " 'tools: {web_fetch: proxy}' (through the egress proxy) or 'tools: {web_fetch: direct}'"
                        + " (requests leave with no fence)");
            } else if (tools.contains(s.text())) {
                problems.error(s.line(), s.column(), r.pathOf("tools"), "tool '" + s.text() + "' is listed twice");
            } else {
                tools.add(s.text());
            }
        }
        AgentSpec.Owner owner = owner(r.requiredObject("owner", "{team: NAME} or {user: NAME}"), teams);
        AgentSpec.Limits limits = limits(r.object("limits"));
        AgentSpec.OnBusy onBusy = r.choice("on_busy", ON_BUSY, AgentSpec.OnBusy.QUEUE);
        String policy = r.string("policy", "the name of a policy under guard.policies", null);
        if (policy != null && !guardPolicies.contains(policy)) {
            r.error(r.value("policy"), "policy", unknownReference(policy, guardPolicies, "guard policy")
                    + " (define it under guard.policies)");
        }
        AgentSpec.SubAgents subagents = subagents(r.object("subagents"));
        AgentSpec.Compaction compaction = compaction(r.object("compaction"), tiers, models);
        HeartbeatSpec heartbeat = null;
        if (r.value("heartbeat") != null) {
            MapReader hb = r.object("heartbeat");
            String hbModel = modelRef(hb, hb.scalar("model", "a model id or tier:NAME"), "model", tiers, models);
            heartbeat = HeartbeatSection.read(hb, hbModel, enabled);
        }
        r.finish();
        if (workspace != null) {
            layout.workspace(ws != null ? new Site(id, workspace, problems, ws.line(), ws.column(), r.pathOf("workspace"))
                    : new Site(id, workspace, problems, 1, 1, ""));
        }
        if (workspace == null || model == null || owner == null) return null;
        if (heartbeat != null) heartbeats.put(id, heartbeat);
        return new AgentSpec(id, workspace, model, fallbacks, tools, owner, limits, onBusy, policy, subagents, compaction);
    }

    /** A model id or tier:NAME that the config defines; null (reported) otherwise. */
    private String modelRef(MapReader r, Scalar s, String key, List<String> tiers, Map<String, ModelSpec> models) {
        if (s == null) return null;
        String ref = s.text();
        if (ref.startsWith("tier:")) {
            String tier = ref.substring(5);
            if (!tiers.contains(tier)) {
                problems.error(s.line(), s.column(), r.pathOf(key), unknownReference(tier, tiers, "tier"));
                return null;
            }
            return ref;
        }
        if (!models.containsKey(ref)) {
            problems.error(s.line(), s.column(), r.pathOf(key), unknownReference(ref, models.keySet(), "model")
                    + "; or use tier:NAME");
            return null;
        }
        if (models.get(ref).kind() != ModelKind.CHAT) {   // an agent's turns are chat
            problems.error(s.line(), s.column(), r.pathOf(key), "'" + ref + "' is " + (models.get(ref).kind() == ModelKind.EMBEDDING ? "an " : "a ")
                    + models.get(ref).kind().label() + " model; an agent needs a chat model");
            return null;
        }
        return ref;
    }

    private AgentSpec.Owner owner(MapReader r, Map<String, Team> teams) {
        Scalar user = r.scalar("user", "a user name");
        Scalar team = r.scalar("team", "a team name");
        r.finish();
        if (user == null && team == null) {
            r.errorHere("expected {team: NAME} or {user: NAME} (a user may add team: NAME)");
            return null;
        }
        boolean ok = true;
        if (user != null && !checks.checkName(user.line(), user.column(), r.pathOf("user"), user.text(), "user name")) ok = false;
        if (team != null && !teams.containsKey(team.text())) {
            r.error(team, "team", unknownReference(team.text(), teams.keySet(), "team"));
            ok = false;
        }
        return ok ? new AgentSpec.Owner(user == null ? null : user.text(), team == null ? null : team.text()) : null;
    }

    private AgentSpec.Limits limits(MapReader r) {
        AgentSpec.Limits d = AgentSpec.Limits.DEFAULT;
        int maxSteps = r.integer("max_steps", 1, 10_000, d.maxSteps());
        Duration maxWall = r.duration("max_wall", Duration.ofMillis(100), d.maxWall());
        int maxTokens = r.integer("max_tokens", 1, Integer.MAX_VALUE, (int) d.maxTokens());
        Duration toolTimeout = r.duration("tool_timeout", Duration.ofMillis(100), d.toolTimeout());
        long maxToolOutput = r.size("max_tool_output", 1024, 16L * 1024 * 1024, d.maxToolOutputBytes());
        r.finish();
        return new AgentSpec.Limits(maxSteps, maxWall, maxTokens, toolTimeout, (int) maxToolOutput);
    }

    private AgentSpec.SubAgents subagents(MapReader r) {
        AgentSpec.SubAgents d = AgentSpec.SubAgents.DEFAULT;
        int maxDepth = r.integer("max_depth", 1, 16, d.maxDepth());
        int maxChildren = r.integer("max_children", 1, 1000, d.maxChildren());
        int maxConcurrency = r.integer("max_concurrency", 1, 10_000, d.maxConcurrency());
        r.finish();
        return new AgentSpec.SubAgents(maxDepth, maxChildren, maxConcurrency);
    }

    private AgentSpec.Compaction compaction(MapReader r, List<String> tiers, Map<String, ModelSpec> models) {
        AgentSpec.Compaction d = AgentSpec.Compaction.DEFAULT;
        double threshold = r.positiveNumber("threshold", d.threshold());
        Scalar thresholdAt = r.scalar("threshold", "a fraction of the context window, above 0 and at most 1");
        if (threshold > 1) {
            r.error(thresholdAt, "threshold", "expected a fraction of the context window, above 0 and at most 1 (0.75 "
                    + "is 75%), got " + threshold);
            threshold = d.threshold();
        }
        String model = modelRef(r, r.scalar("model", "a model id or tier:NAME"), "model", tiers, models);
        int keepTurns = r.integer("keep_turns", 1, 1000, d.keepTurns());
        r.finish();
        return new AgentSpec.Compaction(threshold, model, keepTurns);
    }
}
