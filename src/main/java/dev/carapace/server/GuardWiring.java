package dev.carapace.server;

import dev.carapace.agent.AgentSpec;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.guard.AuditSink;
import dev.carapace.guard.policy.Policy;
import dev.carapace.guard.policy.PolicyEngine;
import dev.carapace.guard.policy.PolicyException;
import dev.carapace.guard.policy.PolicyWatcher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

/** Builds the guard's policy parts from the config (for the server and for {@code carapace policy explain}). */
public final class GuardWiring {

    private static final Logger audit = LoggerFactory.getLogger("carapace.audit");

    private GuardWiring() {}

    /**
     * The started policy watcher of the config's {@code guard:} section, or null when it names no policy.
     *
     * @throws IllegalStateException when a policy does not load, or a policy or config file lies in a writable root
     */
    static PolicyWatcher policyWatcher(CarapaceConfig config, Path configFile, Path dataDir, AuditSink sink, Clock clock) {
        PolicyWatcher w = load(config, configFile, dataDir, sink, clock);
        if (w == null) return null;
        // process.run_as_user: sandbox says commands run as the unprivileged sandbox identity; the local runner
        // has no such identity, so the field would be ignored: refuse instead.
        for (Policy p : w.policies()) {
            if (p.process() != null && config.tools().exec() == CarapaceConfig.Tools.Exec.LOCAL) {
                w.close();
                throw new IllegalStateException("guard policy '" + p.name() + "' sets process (run_as_user/run_as_group: "
                        + "sandbox), but tools.exec is local: commands would run unisolated as the gateway's own user. "
                        + "Run exec in the sandbox, or remove the process section");
            }
        }
        try {
            w.start();
        } catch (IOException e) {
            w.close();
            throw new IllegalStateException("cannot watch the guard policy files: " + e.getMessage(), e);
        }
        return w;
    }

    /**
     * As {@link #policyWatcher}, not watching the files. Besides the policy files, what no policy edit may make
     * writable: the config file, the agents folder next to it (agent definitions), the data folder ({@code dataDir},
     * null when not known) and the secret files; the config loader checked them once, a reloaded policy is checked
     * again.
     */
    public static PolicyWatcher load(CarapaceConfig config, Path configFile, Path dataDir, AuditSink sink, Clock clock) {
        CarapaceConfig.Guard g = config.guard();
        if (g.policies().isEmpty()) return null;
        List<PolicyWatcher.Source> sources = new ArrayList<>();
        for (CarapaceConfig.Guard.PolicyRef r : g.policies().values()) {
            sources.add(new PolicyWatcher.Source(r.name(), r.file(), new HashSet<>(r.agents()), new HashSet<>(r.teams())));
        }
        List<PolicyEngine.Subject> subjects = new ArrayList<>();
        for (AgentSpec a : config.agents().values()) {
            subjects.add(new PolicyEngine.Subject(a.id(), a.owner().team(), a.workspace()));
        }
        // a channel's outbound webhooks go through the egress proxy as channel:ID; a policy naming it applies to them
        g.policies().values().stream().flatMap(r -> r.agents().stream()).filter(a -> a.startsWith("channel:")).distinct()
                .forEach(a -> subjects.add(new PolicyEngine.Subject(a, null, null)));
        try {
            List<Path> guarded = new ArrayList<>();
            if (configFile != null) {
                guarded.add(configFile);
                Path dir = configFile.toAbsolutePath().getParent();
                if (dir != null) guarded.add(dir.resolve("agents"));
            }
            if (dataDir != null) guarded.add(dataDir);
            config.secrets().values().stream().filter(ref -> ref.startsWith("file:"))
                    .forEach(ref -> guarded.add(Path.of(ref.substring(5))));
            return new PolicyWatcher(sources, subjects, guarded,
                    g.onInvalidReload() == CarapaceConfig.Guard.OnInvalidReload.FAIL_CLOSED
                            ? PolicyWatcher.OnInvalid.FAIL_CLOSED : PolicyWatcher.OnInvalid.KEEP, sink, clock);
        } catch (PolicyException e) {
            throw new IllegalStateException("the guard policy cannot be used:\n" + e.getMessage());
        }
    }
}
