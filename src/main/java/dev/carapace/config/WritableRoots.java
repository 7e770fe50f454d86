package dev.carapace.config;

import dev.carapace.agent.AgentSpec;
import dev.carapace.fs.RealPaths;
import dev.carapace.guard.policy.Policy;
import dev.carapace.guard.policy.PolicyException;
import dev.carapace.guard.policy.PolicyLoader;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where agents can write, compared by real path: every agent's workspace (file tools and exec write there) and every
 * {@code read_write} root of every guard policy. What steers the gateway (agent definitions, the config, policy
 * files, secret files, the data folder) must lie outside all of them, or an agent could rewrite its own rules or the
 * store under the running gateway. Paths are resolved through symlinks and {@code ..}, and on a case-insensitive disk
 * to the disk's own spelling, so no spelling of a path slips past.
 */
public final class WritableRoots {

    /**
     * One place agents can write.
     *
     * @param path  its real path
     * @param what  how a message names it: "the workspace of agent 'x' (/w)"
     * @param agent the agent whose workspace it is, or null for a policy root
     */
    public record Root(Path path, String what, String agent) {}

    private WritableRoots() {}

    /** The workspaces of the config's agents and the read_write roots of its policies (those that load). */
    public static List<Root> of(CarapaceConfig config) {
        List<Root> roots = new ArrayList<>();
        for (AgentSpec a : config.agents().values()) roots.add(workspace(a.id(), a.workspace()));
        for (CarapaceConfig.Guard.PolicyRef ref : config.guard().policies().values()) {
            try {
                roots.addAll(policyRoots(ref.name(), PolicyLoader.load(ref.file(), ref.name())));
            } catch (PolicyException e) {
                // a policy that does not load is reported where it is loaded; it grants nothing
            }
        }
        return roots;
    }

    static Root workspace(String agent, Path folder) {
        return new Root(RealPaths.real(folder), "the workspace of agent '" + agent + "' (" + folder + ")", agent);
    }

    static List<Root> policyRoots(String name, Policy policy) {
        List<Root> roots = new ArrayList<>();
        if (policy.filesystem() == null) return roots;
        for (Policy.Root r : policy.filesystem().readWrite()) {
            roots.add(new Root(RealPaths.real(r.path()), "the read_write root " + r.path() + " of guard policy '" + name + "' ("
                    + r.rule() + ")", null));
        }
        return roots;
    }

    /** The first root that holds {@code path} (or is it), or null. */
    public static Root holding(List<Root> roots, Path path) {
        Path p = RealPaths.real(path);
        for (Root r : roots) if (p.startsWith(r.path())) return r;
        return null;
    }

    /**
     * Refuses a data folder (and a SQLite file named by {@code store.url}) that an agent could write, or that holds a
     * place an agent can write: an agent could replace or truncate the live database.
     *
     * @return the problem, or null when there is none
     */
    public static String dataDirProblem(CarapaceConfig config, Path dataDir) {
        List<Root> roots = of(config);
        List<Path> guarded = new ArrayList<>();
        guarded.add(dataDir);
        Path db = sqliteFile(config.store().url());
        if (db != null && db.getParent() != null) guarded.add(db.getParent());
        for (Path g : guarded) {
            Root r = holding(roots, g);
            if (r != null) {
                return "the data folder " + g.toAbsolutePath().normalize() + " (the SQLite store, its WAL and journal)"
                        + " lies inside " + r.what() + ", so an agent could replace or truncate the live database; "
                        + "move the data folder (--data or $CARAPACE_DATA) outside every workspace and read_write root";
            }
            Path guardedReal = RealPaths.real(g);
            for (Root inside : roots) {
                if (inside.path().startsWith(guardedReal)) {
                    return inside.what() + " lies inside the data folder " + g.toAbsolutePath().normalize() + ", next to the "
                            + "live database and the egress sockets, which agents must never reach; move it out of the "
                            + "data folder";
                }
            }
        }
        return null;
    }

    /** The file of a {@code jdbc:sqlite:} URL, or null for no URL, another database, or an in-memory one. */
    private static Path sqliteFile(String url) {
        if (url == null || !url.startsWith("jdbc:sqlite:")) return null;
        String rest = url.substring("jdbc:sqlite:".length());
        int q = rest.indexOf('?');
        if (q >= 0) rest = rest.substring(0, q);
        if (rest.regionMatches(true, 0, "file:", 0, 5)) rest = rest.substring(5);
        if (rest.isEmpty() || rest.startsWith(":")) return null;
        try {
            return Path.of(rest).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            return null;
        }
    }
}
