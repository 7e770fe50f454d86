package dev.carapace.guard.policy;

import dev.carapace.guard.NetworkRules.Injection;
import dev.carapace.guard.NetworkRules.NetworkRequest;
import dev.carapace.guard.NetworkRules.Verdict;
import dev.carapace.guard.policy.AgentRules.CCredential;
import dev.carapace.guard.policy.EndpointRule.CHttp;
import dev.carapace.guard.policy.PolicyEngine.Decision;
import dev.carapace.guard.url.CanonicalPath;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static dev.carapace.guard.policy.DenyPaths.denyForms;

/**
 * The network layer of {@link PolicyEngine}: host, port, binary, then method and path against an agent's endpoints,
 * deny rules first; the credentials to inject come with an allowed request.
 */
final class NetworkLayer {

    private NetworkLayer() {}

    /** A network decision with what the egress proxy needs besides it. */
    record Net(Decision decision, List<String> allowedIps, List<Injection> inject) {
        static Net of(Decision d) { return new Net(d, List.of(), List.of()); }
    }

    /** The decision for a request of an agent that has policies attached ({@code c}). */
    static Net evaluate(AgentRules c, NetworkRequest r) {
        String host = normalizeHost(r.host());
        String method = r.method() == null ? null : r.method().toUpperCase(Locale.ROOT);
        if (r.path() != null) {
            // callers pass canonical paths already; canonicalising again is a no-op for them and makes sure no
            // caller can bring a path this engine would read differently from the egress proxy
            String path;
            try {
                path = CanonicalPath.of(r.path());
            } catch (IllegalArgumentException e) {
                return Net.of(new Decision(Verdict.DENY, "network", "guard.url", "the path of " + method + " " + host
                        + ":" + r.port() + " is refused: " + e.getMessage(), "send the path in its plain form", false));
            }
            r = new NetworkRequest(r.agent(), r.host(), r.port(), r.method(), path, r.binary());
        }
        List<String> denyForms = denyForms(r.path());
        String what = (method == null ? "CONNECT " + host + ":" + r.port()
                : method + " " + host + ":" + r.port() + (r.path() == null ? "" : r.path()));
        List<EndpointRule> found = new ArrayList<>(2);
        List<EndpointRule> exact = c.exactHosts.get(host);
        if (exact != null) for (EndpointRule e : exact) if (e.ports.contains(r.port())) found.add(e);
        for (EndpointRule e : c.wildcardHosts) if (e.ports.contains(r.port()) && e.hostMatches(host)) found.add(e);
        if (found.isEmpty()) {
            Verdict v = c.askUnknownHosts ? Verdict.ASK : Verdict.DENY;
            return Net.of(new Decision(v, "network", r.agent() + ":default-deny", "no network policy of agent '"
                    + r.agent() + "' allows " + host + ":" + r.port() + (v == Verdict.ASK ? "; an operator may approve it" : ""),
                    "add to a policy of agent '" + r.agent() + "': network_policies: {NAME: {endpoints: [{host: " + host
                            + ", port: " + r.port() + (method == null ? "" : ", rules: [{allow: {method: " + method
                            + ", path: \"" + (r.path() == null ? "/**" : r.path()) + "\"}}]") + "}]}}", false));
        }
        List<EndpointRule> usable = new ArrayList<>(found.size());
        for (EndpointRule e : found) if (e.binaryMatches(r.binary())) usable.add(e);
        if (usable.isEmpty()) {
            EndpointRule e = found.getFirst();
            return Net.of(new Decision(Verdict.DENY, "network", e.rule, host + ":" + r.port() + " is allowed only for "
                    + "the binaries " + e.binaryGlobs + " (" + e.rule + "); this request comes from "
                    + (r.binary() == null ? "an unidentified process or a tool" : r.binary()),
                    "add the binary to group '" + e.group + "': binaries: [{path: " + (r.binary() == null ? "PATH" : r.binary())
                            + "}], or give the endpoint a group without binaries", e.audit));
        }
        // deny rules first: they win over any allow of any endpoint
        for (EndpointRule e : usable) {
            if (!e.scopeMatches(r.path())) continue;
            if (method == null && !e.deny.isEmpty()) continue;   // handled as "cannot inspect" below
            for (CHttp d : e.deny) {
                if (denyForms.stream().anyMatch(p -> d.matches(method, p))) {
                    return Net.of(new Decision(Verdict.DENY, "network", d.rule(), what + " is denied by " + d.rule() + " ("
                            + d.method() + " " + d.glob() + ")" + (e.audit ? " [audit only]" : ""), null, e.audit));
                }
            }
        }
        for (EndpointRule e : usable) {
            String rule = e.allowing(method, r.path());
            if (rule != null) {
                List<Injection> inject = List.of();
                for (CCredential cr : c.credentials) {
                    if (cr.hostMatches(host)) {
                        if (inject.isEmpty()) inject = new ArrayList<>(2);
                        inject.add(cr.injection());
                    }
                }
                return new Net(new Decision(Verdict.ALLOW, "network", rule, null, null, false), e.allowedIps, inject);
            }
        }
        EndpointRule e = usable.getFirst();
        boolean audit = usable.stream().allMatch(x -> x.audit);
        String reason;
        String remedy;
        if (method == null) {
            reason = "CONNECT " + host + ":" + r.port() + " would be an opaque tunnel, but " + e.rule + " restricts "
                    + "requests (" + e.describe() + "), which cannot be checked inside it; send the request through the "
                    + "proxy as plain HTTP or with a tool";
            remedy = "set access: full on " + e.rule + " (and no deny_rules) to allow any request to it";
        } else {
            reason = what + " is not allowed by " + e.rule + " (" + e.describe() + ")" + (audit ? " [audit only]" : "");
            remedy = "add to " + e.rule + ": rules: [{allow: {method: " + method + ", path: \"" + r.path() + "\"}}]";
        }
        return Net.of(new Decision(Verdict.DENY, "network", e.rule, reason, remedy, audit));
    }

    static String normalizeHost(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        if (h.startsWith("[") && h.endsWith("]")) h = h.substring(1, h.length() - 1);
        if (h.indexOf(':') >= 0) h = Cidr.canonicalIp(h);
        return h;
    }
}
