package dev.carapace.config;

import dev.carapace.agent.AgentSpec;
import dev.carapace.config.CarapaceConfig.Team;
import dev.carapace.config.WritableLayout.Site;
import dev.carapace.guard.policy.PolicyException;
import dev.carapace.guard.policy.PolicyLoader;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.Scalar;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.carapace.config.ConfigChecks.options;
import static dev.carapace.config.ConfigChecks.unknownReference;

/**
 * Reads the {@code guard:} section: the guard policies, each a file loaded and checked here, and who each applies
 * to. Read before the agents (an agent names its policy) and checked after them (a policy names its agents).
 */
final class GuardSection {

    private static final Map<String, CarapaceConfig.Guard.OnInvalidReload> ON_INVALID = options(CarapaceConfig.Guard.OnInvalidReload.values());

    /** One {@code guard.policies} entry as written, checked against the agents and teams once they are known. */
    private record PolicyEntry(String name, Path file, List<Scalar> agents, List<Scalar> teams, String path) {}

    private final ConfigChecks checks;
    private final Problems problems;
    /** What policy files are relative to: the config file's directory. */
    private final Path baseDir;
    private final WritableLayout layout;
    /** Where a policy file's own problems go, each file reported with its own name. */
    private final List<Problems> otherFiles;

    private final List<PolicyEntry> entries = new ArrayList<>();
    private CarapaceConfig.Guard.OnInvalidReload onInvalid = CarapaceConfig.Guard.OnInvalidReload.KEEP;
    /** Names of guard.policies, read before the agents so an agent's {@code policy:} can be checked. */
    private Set<String> guardPolicies = Set.of();

    GuardSection(ConfigChecks checks, Path baseDir, WritableLayout layout, List<Problems> otherFiles) {
        this.checks = checks;
        this.problems = checks.problems();
        this.baseDir = baseDir;
        this.layout = layout;
        this.otherFiles = otherFiles;
    }

    /** Reads the section as written; {@link #check} checks it once the agents and teams are known. */
    void read(MapReader r) {
        onInvalid = r.choice("on_invalid_reload", ON_INVALID, onInvalid);
        for (Entry e : r.entries("policies")) {
            String path = KeyPath.key(KeyPath.key(r.path(), "policies"), e.key());
            checks.checkName(e.line(), e.column(), path, e.key(), "policy name");
            MapReader p = MapReader.of(e.value(), path, e.line(), e.column(), problems);
            Scalar fileAt = p.requiredScalar("file", "the policy file (relative to this config)");
            List<Scalar> agents = p.scalars("agents", "a list of agent ids", "an agent id, channel:ID or *");
            List<Scalar> teams = p.scalars("teams", "a list of team names", "a team name");
            p.finish();
            if (fileAt == null) continue;
            Path file;
            try {
                file = baseDir.resolve(fileAt.text()).toAbsolutePath().normalize();
            } catch (java.nio.file.InvalidPathException ex) {
                p.error(fileAt, "file", "not a valid path: " + YamlTree.describe(fileAt));
                continue;
            }
            checkPolicyFile(fileAt, p.pathOf("file"), file, e.key());
            entries.add(new PolicyEntry(e.key(), file, agents == null ? List.of() : agents,
                    teams == null ? List.of() : teams, path));
        }
        r.finish();
        Set<String> names = new LinkedHashSet<>();
        entries.forEach(e -> names.add(e.name()));
        guardPolicies = Set.copyOf(names);
    }

    /** The policy file must exist and load: its own problems are reported with their own file and line. */
    private void checkPolicyFile(Scalar at, String path, Path file, String name) {
        if (!Files.isRegularFile(file)) {
            problems.error(at.line(), at.column(), path, "policy file '" + file + "' does not exist");
            return;
        }
        try {
            layout.policy(new Site(name, file, problems, at.line(), at.column(), path),
                    PolicyLoader.load(file, name));
        } catch (PolicyException ex) {
            Problems fileProblems = new Problems(file.toString());
            otherFiles.add(fileProblems);
            for (var pr : ex.problems()) fileProblems.error(pr.line(), pr.column(), pr.path(), pr.message());
        }
    }

    /** The names of the policies, for checking an agent's {@code policy:}. */
    Set<String> policyNames() {
        return guardPolicies;
    }

    /**
     * The section checked against the agents, teams and channels, which are read after it.
     *
     * @param channels the configured channels' ids: a policy may name {@code channel:ID} among its agents, the caller
     *                 a channel's outbound webhooks go through the egress proxy as
     */
    CarapaceConfig.Guard check(Map<String, AgentSpec> agents, Map<String, Team> teams, Set<String> channels) {
        Map<String, CarapaceConfig.Guard.PolicyRef> refs = new LinkedHashMap<>();
        for (PolicyEntry e : entries) {
            List<String> as = new ArrayList<>();
            for (Scalar s : e.agents()) {
                boolean channel = s.text().startsWith("channel:") && channels.contains(s.text().substring(8));
                if (!s.text().equals("*") && !agents.containsKey(s.text()) && !channel) {
                    problems.error(s.line(), s.column(), KeyPath.key(e.path(), "agents"),
                            unknownReference(s.text(), agents.keySet(), "agent") + "; or * for every agent, or "
                                    + "channel:ID for a channel's outbound webhooks");
                } else {
                    as.add(s.text());
                }
            }
            for (AgentSpec a : agents.values()) {
                if (e.name().equals(a.policy()) && !as.contains(a.id()) && !as.contains("*")) as.add(a.id());
            }
            List<String> ts = new ArrayList<>();
            for (Scalar s : e.teams()) {
                if (!teams.containsKey(s.text())) {
                    problems.error(s.line(), s.column(), KeyPath.key(e.path(), "teams"),
                            unknownReference(s.text(), teams.keySet(), "team"));
                } else {
                    ts.add(s.text());
                }
            }
            refs.put(e.name(), new CarapaceConfig.Guard.PolicyRef(e.name(), e.file(), as, ts));
        }
        return new CarapaceConfig.Guard(refs, onInvalid);
    }
}
