package dev.carapace.guard.policy;

import dev.carapace.fs.RealPaths;
import dev.carapace.guard.NetworkRules.Injection;
import dev.carapace.guard.NetworkRules.Verdict;
import dev.carapace.guard.policy.Policy.Credential;
import dev.carapace.guard.policy.Policy.Endpoint;
import dev.carapace.guard.policy.Policy.NameRule;
import dev.carapace.guard.policy.Policy.NetworkGroup;
import dev.carapace.guard.policy.Policy.Root;
import dev.carapace.guard.policy.Policy.ToolRule;
import dev.carapace.guard.policy.PolicyEngine.Subject;
import dev.carapace.guard.policy.PolicyEngine.TargetKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

import static dev.carapace.guard.policy.DenyPaths.urlDenyGlob;

/** Everything one agent's attached policies allow, merged: what {@link PolicyEngine} decides from. */
final class AgentRules {

    /** Logged as the engine: a root that grants nothing is the engine's warning to the operator. */
    private static final Logger log = LoggerFactory.getLogger(PolicyEngine.class);

    final List<String> names;
    final boolean toolsUnrestricted;
    final List<CName> allowTools = new ArrayList<>(), askTools = new ArrayList<>(), denyTools = new ArrayList<>();
    final List<CToolRule> toolRules = new ArrayList<>();
    final List<CRoot> roots = new ArrayList<>();
    final Map<String, List<EndpointRule>> exactHosts = new HashMap<>();
    final List<EndpointRule> wildcardHosts = new ArrayList<>();
    final List<CCredential> credentials = new ArrayList<>();
    final boolean askUnknownHosts;

    /** @param workspaces every agent's workspace (real paths): where a symlink may have been planted */
    AgentRules(Subject s, List<Policy> policies, List<Path> workspaces) {
        names = policies.stream().map(Policy::name).toList();
        toolsUnrestricted = policies.stream().allMatch(p -> p.tools() == null);
        boolean ask = false;
        for (Policy p : policies) {
            if (p.tools() != null) {
                p.tools().allow().forEach(n -> allowTools.add(CName.of(n)));
                p.tools().ask().forEach(n -> askTools.add(CName.of(n)));
                p.tools().deny().forEach(n -> denyTools.add(CName.of(n)));
                for (ToolRule r : p.tools().rules()) {
                    toolRules.add(new CToolRule(r.rule(), Globs.text(r.tool()), r.target(), Globs.path(r.target()),
                            Globs.text(r.target()), CommandRule.of(r.target()), urlDenyGlob(r.target()),
                            r.decision()));
                }
            }
            if (p.filesystem() != null) {
                p.filesystem().readOnly().forEach(r -> addRoot(roots, r, false, workspaces, s.workspace()));
                p.filesystem().readWrite().forEach(r -> addRoot(roots, r, true, workspaces, s.workspace()));
                if (p.filesystem().includeWorkdir() && s.workspace() != null) {
                    roots.add(new CRoot(real(s.workspace()), true, p.name() + ":filesystem_policy.include_workdir"));
                }
            }
            for (NetworkGroup g : p.network().values()) {
                for (Endpoint e : g.endpoints()) {
                    EndpointRule ce = new EndpointRule(g, e);
                    if (ce.wildcard) wildcardHosts.add(ce);
                    else exactHosts.computeIfAbsent(ce.host, k -> new ArrayList<>()).add(ce);
                }
            }
            for (Credential cr : p.credentials().values()) {
                Injection inj = new Injection(cr.header(), cr.template(), cr.secret());
                for (String h : cr.hosts()) {
                    boolean w = h.startsWith("*");
                    credentials.add(new CCredential(w ? h.substring(h.indexOf('.')) : null, w, h.startsWith("*."), h, inj));
                }
            }
            ask |= p.approvals().unknownHosts() == Verdict.ASK;
        }
        askUnknownHosts = ask;
        // longest root first; on equal roots the read-only one first (restriction wins)
        roots.sort(Comparator.comparingInt((CRoot r) -> -r.path.getNameCount()).thenComparing(r -> r.write));
        // drop duplicate credentials for the same host (two policies naming the same secret)
        Set<String> seen = new LinkedHashSet<>();
        credentials.removeIf(cr -> !seen.add(cr.host + "|" + cr.injection.header().toLowerCase(Locale.ROOT)));
    }

    /**
     * Adds a root as its real path, so a root under a symlinked directory still matches; but a root reached
     * through a symlink that lies in an agent's workspace is not followed: the agent could have planted it (before
     * a reload or a restart) to point the root anywhere. Kept as written, such a root matches no real path and
     * grants nothing, and the sandbox does not mount it. A read-only root the agent moved behind such a link
     * still protects what it moved, where that now is, if that is inside the agent's own workspace (so the link
     * can neither extend what the agent may read nor free what it must not write).
     */
    private static void addRoot(List<CRoot> roots, Root r, boolean write, List<Path> workspaces, Path own) {
        Path written = r.path().toAbsolutePath().normalize();
        Path real = real(written);
        if (real.equals(written) || RealPaths.linkInside(written, workspaces) == null) {
            roots.add(new CRoot(real, write, r.rule()));
            return;
        }
        log.warn("guard policy root {} ({}) goes through a symlink inside an agent's workspace; it is not "
                + "followed, and the root grants nothing", written, r.rule());
        roots.add(new CRoot(written, write, r.rule()));
        if (!write && own != null && real.startsWith(real(own))) roots.add(new CRoot(real, false, r.rule()));
    }

    /** Roots are compared with real paths, so a root under a symlinked directory still matches. */
    static Path real(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException | SecurityException e) {
            return p.toAbsolutePath().normalize();
        }
    }

    record CName(String glob, Predicate<String> match, String rule) {
        static CName of(NameRule n) { return new CName(n.glob(), Globs.text(n.glob()), n.rule()); }
    }

    record CToolRule(String rule, Predicate<String> tool, String glob, Predicate<String> pathTarget,
                     Predicate<String> textTarget, CommandRule command, Predicate<String> urlDeny,
                     Verdict decision) {
        boolean matches(String target, TargetKind kind, CommandLine.Parsed parsed) {
            if (kind == TargetKind.PATH) return pathTarget.test(target);
            if (kind == TargetKind.COMMAND) return decision == Verdict.ALLOW ? command.allows(parsed) : command.covers(parsed);
            if (kind == TargetKind.URL && decision != Verdict.ALLOW && urlDeny != null && urlDeny.test(target)) return true;
            return textTarget.test(target);
        }
    }

    record CRoot(Path path, boolean write, String rule) {}

    record CCredential(String suffix, boolean wildcard, boolean oneLabel, String host, Injection injection) {
        boolean hostMatches(String h) { return wildcard ? EndpointRule.wildcardMatch(h, suffix, oneLabel) : host.equals(h); }
    }
}
