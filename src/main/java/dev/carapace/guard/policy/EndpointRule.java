package dev.carapace.guard.policy;

import dev.carapace.guard.policy.Policy.Access;
import dev.carapace.guard.policy.Policy.Endpoint;
import dev.carapace.guard.policy.Policy.HttpRule;
import dev.carapace.guard.policy.Policy.NetworkGroup;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

import static dev.carapace.guard.policy.DenyPaths.denyGlob;

/** One network endpoint of a policy, compiled: its host, ports, binaries, path scope and HTTP rules. */
final class EndpointRule {
    final String rule, group, host, suffix;
    final boolean wildcard, oneLabel, l7, audit, connectable;
    final Set<Integer> ports;
    final Predicate<String> scope;
    final Access access;
    final List<CHttp> allow = new ArrayList<>(), deny = new ArrayList<>();
    final List<Predicate<String>> binaries;
    final List<String> binaryGlobs, allowedIps;

    EndpointRule(NetworkGroup g, Endpoint e) {
        rule = e.rule();
        group = g.key();
        host = e.host();
        wildcard = host.startsWith("*");
        oneLabel = host.startsWith("*.");
        suffix = wildcard ? host.substring(host.indexOf('.')) : null;
        ports = Set.copyOf(e.ports());
        scope = e.pathScope() == null ? null : Globs.path(e.pathScope());
        access = e.access();
        for (HttpRule h : e.allow()) allow.add(new CHttp(h.rule(), h.method(), h.path(), Globs.path(h.path())));
        for (HttpRule h : e.deny()) deny.add(new CHttp(h.rule(), h.method(), h.path(), denyGlob(h.path())));
        l7 = e.l7();
        audit = e.audit();
        connectable = !l7;
        binaries = g.binaries().isEmpty() ? null : g.binaries().stream().map(b -> Globs.path(b.glob())).toList();
        binaryGlobs = g.binaries().stream().map(Policy.Binary::glob).toList();
        allowedIps = e.allowedIps();
    }

    boolean hostMatches(String h) { return wildcard ? wildcardMatch(h, suffix, oneLabel) : host.equals(h); }

    boolean binaryMatches(String binary) {
        if (binaries == null) return true;
        if (binary == null) return false;
        for (Predicate<String> b : binaries) if (b.test(binary)) return true;
        return false;
    }

    boolean scopeMatches(String path) { return scope == null || path != null && scope.test(path); }

    /** The id of what allows the request, or null. */
    String allowing(String method, String path) {
        if (method == null) return connectable ? rule : null;
        if (!scopeMatches(path)) return null;
        if (!l7) return rule;
        if (access != null && access.allows(method)) return rule + " (access " + access.label() + ")";
        for (CHttp a : allow) if (a.matches(method, path)) return a.rule;
        return null;
    }

    String describe() {
        List<String> parts = new ArrayList<>();
        if (access != null) parts.add("access " + access.label());
        for (CHttp a : allow) parts.add("allow " + a.method + " " + a.glob);
        for (CHttp d : deny) parts.add("deny " + d.method + " " + d.glob);
        if (scope != null) parts.add("path scope");
        return parts.isEmpty() ? "connections only" : String.join(", ", parts);
    }

    record CHttp(String rule, String method, String glob, Predicate<String> path) {
        boolean matches(String m, String p) {
            return ("*".equals(method) || method.equals(m)) && p != null && path.test(p);
        }
    }

    /** Whether {@code host} matches {@code *.suffix} (one label) or {@code **.suffix} (any depth). */
    static boolean wildcardMatch(String host, String suffix, boolean oneLabel) {
        if (!host.endsWith(suffix) || host.length() == suffix.length()) return false;
        return !oneLabel || host.lastIndexOf('.', host.length() - suffix.length() - 1) < 0;
    }
}
