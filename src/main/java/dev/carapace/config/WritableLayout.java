package dev.carapace.config;

import dev.carapace.fs.RealPaths;
import dev.carapace.guard.policy.Policy;
import dev.carapace.yaml.Problems;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What agents can write (their workspaces, the read_write roots of their policies) against what steers the gateway
 * (the config file, agent definitions, policy and secret files): the sections record where each was set, and
 * {@link #check} reports every overlap at the key that set it.
 */
final class WritableLayout {

    /** A key (or a whole file, at 1:1) that a layout problem is reported at. */
    record Site(String name, Path path, Problems problems, int line, int column, String keyPath) {}

    record PolicySite(Site site, Policy policy) {}

    /** The config's own problems: a guarded file reached through a link is reported there, at 0:0. */
    private final Problems problems;
    /** The config file being read, or null when checking text that has no file. */
    private final Path configFile;
    /** Where agent folders are discovered; null when checking text that has no file. */
    private final Path agentsDir;
    /** Where each agent's workspace was set (or defaulted), shared with the loaders of discovered agent files. */
    private final List<Site> workspaceSites = new ArrayList<>();
    /** Where each guard policy was named, and the policy when it loaded. */
    private final List<PolicySite> policySites = new ArrayList<>();
    /** The discovered {@code agents/NAME/agent.yaml} files, whether or not they loaded. */
    private final List<Path> definitionFiles = new ArrayList<>();

    WritableLayout(Problems problems, Path configFile, Path agentsDir) {
        this.problems = problems;
        this.configFile = configFile;
        this.agentsDir = agentsDir;
    }

    /** An agent's workspace, where it was set (or defaulted). */
    void workspace(Site site) {
        workspaceSites.add(site);
    }

    /** A guard policy that loaded, where it was named. */
    void policy(Site site, Policy policy) {
        policySites.add(new PolicySite(site, policy));
    }

    /** A discovered {@code agents/NAME/agent.yaml}, whether or not it loaded. */
    void definition(Path file) {
        definitionFiles.add(file);
    }

    /** How a message names the writable root that holds {@code link}. */
    private static String holder(List<WritableRoots.Root> roots, Path link) {
        Path dir = RealPaths.real(link.getParent());
        return roots.stream().filter(r -> dir.startsWith(r.path())).findFirst().map(WritableRoots.Root::what)
                .orElse("a writable root");
    }

    /**
     * Agents' workspaces must not overlap, and none of them nor any policy's read_write root may hold what steers the
     * gateway: the config file, agent definitions (and the folder they are found in), policy files, secret files.
     * Compared by real path. (The data folder is not named in the config: {@code serve} and {@code config check}
     * check it with {@link WritableRoots#dataDirProblem}.)
     */
    void check(Map<String, String> secrets) {
        record Guarded(Path path, String what) {}
        List<Guarded> guarded = new ArrayList<>();
        if (configFile != null) guarded.add(new Guarded(configFile, "the config file " + configFile));
        for (Path f : definitionFiles) {
            guarded.add(new Guarded(f, "the definition of agent '" + f.getParent().getFileName() + "' (" + f + ")"));
        }
        for (PolicySite p : policySites) {
            guarded.add(new Guarded(p.site().path(), "the file of guard policy '" + p.site().name() + "' ("
                    + p.site().path() + ")"));
        }
        secrets.forEach((name, ref) -> {
            if (ref.startsWith("file:")) {
                Path f = Path.of(ref.substring(5));
                guarded.add(new Guarded(f, "the file of secret '" + name + "' (" + f + ")"));
            }
        });
        Path agentsReal = agentsDir == null || !Files.isDirectory(agentsDir) ? null : RealPaths.real(agentsDir);

        List<Site> rootSites = new ArrayList<>();
        List<WritableRoots.Root> roots = new ArrayList<>();
        for (Site s : workspaceSites) {
            rootSites.add(s);
            roots.add(WritableRoots.workspace(s.name(), s.path()));
        }
        for (PolicySite p : policySites) {
            for (WritableRoots.Root r : WritableRoots.policyRoots(p.site().name(), p.policy())) {
                rootSites.add(p.site());
                roots.add(r);
            }
        }

        // Overlapping workspaces: one agent could read and rewrite another's files (and its AGENTS.md).
        for (int j = 0; j < workspaceSites.size(); j++) {
            for (int i = 0; i < j; i++) {
                Path a = roots.get(i).path();
                Path b = roots.get(j).path();
                String how = a.equals(b) ? "is the same folder as" : b.startsWith(a) ? "lies inside"
                        : a.startsWith(b) ? "contains" : null;
                if (how == null) continue;
                Site s = workspaceSites.get(j);
                Site other = workspaceSites.get(i);
                s.problems().error(s.line(), s.column(), s.keyPath(), "the workspace of agent '" + s.name() + "' ("
                        + s.path() + realSuffix(s.path(), b) + ") " + how + " the workspace of agent '" + other.name()
                        + "' (" + other.path() + realSuffix(other.path(), a) + "): agents' workspaces must not overlap, "
                        + "or one agent could read and rewrite another's files; give each agent a folder of its own");
            }
        }
        // Reached through a link an agent can repoint: that agent could move the workspace, or the file, to its own.
        for (int j = 0; j < workspaceSites.size(); j++) {
            List<Path> others = new ArrayList<>();
            for (int k = 0; k < roots.size(); k++) if (k != j) others.add(roots.get(k).path());
            Path link = RealPaths.linkInside(workspaceSites.get(j).path(), others);
            if (link == null) continue;
            Site s = workspaceSites.get(j);
            s.problems().error(s.line(), s.column(), s.keyPath(), "the workspace of agent '" + s.name() + "' ("
                    + s.path() + ") is reached through the symbolic link " + link + ", which lies in "
                    + holder(roots, link) + ": that agent could repoint it and take this workspace over; name the "
                    + "workspace by its real path");
        }
        List<Path> writable = roots.stream().map(WritableRoots.Root::path).toList();
        for (Guarded g : guarded) {
            Path link = RealPaths.linkInside(g.path(), writable);
            if (link == null) continue;
            problems.error(0, 0, "", capitalize(g.what()) + " is reached through the symbolic link " + link
                    + ", which lies in " + holder(roots, link) + ": an agent could repoint it to a file of its own; "
                    + "name the file by its real path");
        }
        for (int k = 0; k < roots.size(); k++) {
            WritableRoots.Root root = roots.get(k);
            Site s = rootSites.get(k);
            for (Guarded g : guarded) {
                if (!RealPaths.real(g.path()).startsWith(root.path())) continue;
                s.problems().error(s.line(), s.column(), s.keyPath(), capitalize(root.what()) + " holds " + g.what()
                        + ", so an agent could rewrite it; keep the config, agent definitions, policy and secret files "
                        + "outside every workspace and read_write root");
            }
            if (agentsReal == null) continue;
            if (agentsReal.startsWith(root.path())) {
                s.problems().error(s.line(), s.column(), s.keyPath(), capitalize(root.what()) + " holds the agents "
                        + "folder " + agentsDir + ", so an agent could write new agent definitions there; keep it "
                        + "outside every workspace and read_write root");
            } else if (root.path().startsWith(agentsReal)) {
                // agents/NAME is where agent NAME's definition is found: only agent NAME itself may work there
                // (a definition planted there clashes with its own and the config is refused); deeper is inert.
                Path rel = agentsReal.relativize(root.path());
                if (rel.getNameCount() == 1 && !rel.toString().equals(root.agent())) {
                    s.problems().error(s.line(), s.column(), s.keyPath(), capitalize(root.what()) + " is the folder "
                            + "where a definition of agent '" + rel + "' would be found (" + agentsDir.resolve(rel)
                            + "/" + AgentsSection.AGENT_FILE + "), so an agent could define a new agent there; use a folder outside "
                            + agentsDir + ", or one inside agents/" + rel + "/");
                }
            }
        }
    }

    private static String realSuffix(Path given, Path real) {
        return given.toAbsolutePath().normalize().equals(real) ? "" : ", really " + real;
    }

    private static String capitalize(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
