package dev.carapace.guard.policy;

import dev.carapace.guard.policy.Policy.Access;
import dev.carapace.guard.policy.Policy.Binary;
import dev.carapace.guard.policy.Policy.Endpoint;
import dev.carapace.guard.policy.Policy.HttpRule;
import dev.carapace.guard.policy.Policy.NetworkGroup;
import dev.carapace.guard.policy.Policy.Protocol;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.ListNode;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a policy's {@code network_policies}: named groups of endpoints (host, ports, path scope, TLS, access and
 * HTTP rules) and the binaries they are for. Its host check is also the credentials' ({@link CarapaceExtensions}).
 */
final class NetworkSection {

    private static final Pattern HOST_LABELS = Pattern.compile("[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*");
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern METHOD = Pattern.compile("[A-Z]+|\\*");

    private final Problems problems;
    private final String name;

    NetworkSection(Problems problems, String name) {
        this.problems = problems;
        this.name = name;
    }

    private String id(String path) { return PolicyLoader.ruleId(name, path); }

    Map<String, NetworkGroup> network(Fields root) {
        Map<String, NetworkGroup> groups = new LinkedHashMap<>();
        Node n = root.get("network_policies");
        if (n == null) return groups;
        if (!(n instanceof MapNode m)) {
            problems.error(n, "network_policies", "expected named groups (name: {endpoints: [...], binaries: [...]}), got "
                    + YamlTree.describe(n));
            return groups;
        }
        for (Entry e : m.entries().values()) {
            String path = Fields.key("network_policies", e.key());
            Fields g = Fields.of(e.value(), path, "a mapping with endpoints and binaries", problems);
            if (!(e.value() instanceof MapNode)) continue;
            String label = g.string("name", "a display name");
            List<Endpoint> endpoints = new ArrayList<>();
            List<Node> items = g.list("endpoints", "a list of endpoints");
            if (items.isEmpty() && g.node().entries().containsKey("endpoints")) {
                problems.error(g.node().entries().get("endpoints").line(), g.node().entries().get("endpoints").column(),
                        g.pathOf("endpoints"), "a group needs at least one endpoint");
            } else if (!g.node().entries().containsKey("endpoints")) {
                problems.error(e.line(), e.column(), path, "missing field 'endpoints' (the destinations this group allows)");
            }
            for (int i = 0; i < items.size(); i++) {
                Endpoint ep = endpoint(items.get(i), KeyPath.index(g.pathOf("endpoints"), i));
                if (ep != null) endpoints.add(ep);
            }
            List<Binary> binaries = new ArrayList<>();
            List<Node> bins = g.list("binaries", "a list of {path: GLOB}");
            for (int i = 0; i < bins.size(); i++) {
                String bpath = KeyPath.index(g.pathOf("binaries"), i);
                Fields b = Fields.of(bins.get(i), bpath, "{path: GLOB}", problems);
                String glob = b.requiredString("path", "an absolute path or glob of an executable");
                b.finish();
                if (glob == null) continue;
                if (!glob.startsWith("/")) {
                    problems.error(b.get("path"), b.pathOf("path"), "expected an absolute path or glob, got '" + glob + "'");
                } else {
                    binaries.add(new Binary(glob, id(bpath)));
                }
            }
            g.finish();
            groups.put(e.key(), new NetworkGroup(e.key(), label == null ? e.key() : label, endpoints, binaries));
        }
        return groups;
    }

    private Endpoint endpoint(Node node, String path) {
        if (!(node instanceof MapNode)) {
            problems.error(node, path, "expected an endpoint {host: NAME, port: N, ...}, got " + YamlTree.describe(node));
            return null;
        }
        Fields f = new Fields((MapNode) node, path, problems);
        int before = problems.errorCount();
        String host = host(f, f.requiredString("host", "a host name, IP address, or *.domain wildcard"), "host");
        Set<Integer> ports = ports(f);
        String pathScope = f.string("path", "a path glob selecting the requests this endpoint covers");
        if (pathScope != null && !pathScope.startsWith("/")) {
            problems.error(f.get("path"), f.pathOf("path"), "expected a path glob starting with '/', got '" + pathScope + "'");
        }
        Protocol protocol = null;
        String proto = f.string("protocol", "rest or tcp");
        if (proto != null) {
            switch (proto) {
                case "rest" -> protocol = Protocol.REST;
                case "tcp" -> protocol = Protocol.TCP;
                default -> problems.error(f.get("protocol"), f.pathOf("protocol"), "unsupported protocol '" + proto
                        + "': Carapace inspects HTTP requests (rest) or allows plain connections (tcp, or no protocol); "
                        + "websocket, graphql, json-rpc, mcp and sql inspection are not implemented");
            }
        }
        String tls = f.string("tls", "terminate or passthrough");
        if (tls != null && !tls.equals("terminate") && !tls.equals("passthrough")) {
            problems.error(f.get("tls"), f.pathOf("tls"), "expected terminate or passthrough, got '" + tls + "'");
        }
        boolean audit = false;
        String enforcement = f.string("enforcement", "enforce or audit");
        if (enforcement != null) {
            switch (enforcement) {
                case "enforce" -> audit = false;
                case "audit" -> audit = true;
                default -> problems.error(f.get("enforcement"), f.pathOf("enforcement"),
                        "expected enforce or audit, got '" + enforcement + "'");
            }
        }
        Access access = null;
        String a = f.string("access", "read-only, read-write or full");
        if (a != null) {
            switch (a) {
                case "read-only" -> access = Access.READ_ONLY;
                case "read-write" -> access = Access.READ_WRITE;
                case "full" -> access = Access.FULL;
                default -> problems.error(f.get("access"), f.pathOf("access"),
                        "expected read-only, read-write or full, got '" + a + "'");
            }
        }
        List<HttpRule> allow = new ArrayList<>();
        List<Node> rules = f.list("rules", "a list of {allow: {method: M, path: GLOB}}");
        for (int i = 0; i < rules.size(); i++) {
            String rpath = KeyPath.index(f.pathOf("rules"), i);
            Fields r = Fields.of(rules.get(i), rpath, "{allow: {method: M, path: GLOB}}", problems);
            Node body = r.get("allow");
            r.unsupported("deny", "write denials under the endpoint's deny_rules");
            r.finish();
            if (body == null) {
                if (rules.get(i) instanceof MapNode) problems.error(rules.get(i), rpath, "missing field 'allow' ({method: M, path: GLOB})");
                continue;
            }
            HttpRule rule = httpRule(Fields.of(body, Fields.key(rpath, "allow"), "{method: M, path: GLOB}", problems), rpath);
            if (rule != null) allow.add(rule);
        }
        List<HttpRule> deny = new ArrayList<>();
        List<Node> denies = f.list("deny_rules", "a list of {method: M, path: GLOB}");
        for (int i = 0; i < denies.size(); i++) {
            String rpath = KeyPath.index(f.pathOf("deny_rules"), i);
            HttpRule rule = httpRule(Fields.of(denies.get(i), rpath, "{method: M, path: GLOB}", problems), rpath);
            if (rule != null) deny.add(rule);
        }
        List<String> allowedIps = new ArrayList<>();
        List<Scalar> ips = f.strings("allowed_ips", "CIDR blocks such as 10.0.0.0/8");
        for (int i = 0; i < ips.size(); i++) {
            Scalar s = ips.get(i);
            if (!Cidr.valid(s.text())) {
                problems.error(s, KeyPath.index(f.pathOf("allowed_ips"), i), "expected a CIDR block such as 10.0.0.0/8 or "
                        + "fc00::/7, got " + YamlTree.describe(s));
            } else {
                allowedIps.add(s.text());
            }
        }
        f.unsupported("mcp", "MCP message inspection is not implemented; Carapace cannot enforce these limits");
        f.unsupported("graphql", "GraphQL operation inspection is not implemented");
        f.unsupported("websocket", "WebSocket message inspection is not implemented");
        f.finish();
        // Requests are restricted unless something allows every request: no access and no rules (L4 only), access
        // full, or a rule allowing * /**. Only an unrestricted endpoint may be reached through an opaque tunnel.
        boolean everything = access == null && allow.isEmpty() || access == Access.FULL
                || allow.stream().anyMatch(h -> h.method().equals("*") && (h.path().equals("/**") || h.path().equals("**")));
        boolean hasL7 = !everything || !deny.isEmpty() || pathScope != null;
        if (protocol == Protocol.TCP && (access != null || !allow.isEmpty() || !deny.isEmpty() || pathScope != null)) {
            problems.error(node, path, "protocol tcp allows plain connections: access, rules, deny_rules and path need "
                    + "protocol rest (or no protocol)");
        }
        if (protocol == Protocol.REST && access == null && allow.isEmpty()) {
            problems.error(node, path, "protocol rest inspects requests, but nothing is allowed: give access "
                    + "(read-only, read-write, full) or rules, or leave protocol out for connection-level access");
        }
        if ("passthrough".equals(tls) && hasL7) {
            problems.error(node, path, "tls passthrough leaves HTTPS requests unreadable, so its access/rules could not be "
                    + "enforced; use tls: terminate or drop the request rules");
        }
        if (problems.errorCount() > before || host == null || ports.isEmpty()) return null;
        return new Endpoint(id(path), node.line(), host, ports, pathScope, protocol, access, allow, deny, audit,
                allowedIps, hasL7);
    }

    private HttpRule httpRule(Fields r, String rulePath) {
        String method = r.requiredString("method", "an HTTP method such as GET, or *");
        String path = r.requiredString("path", "a path glob such as /repos/** (use /** for every path)");
        r.unsupported("query", "query-string matching is not implemented; a rule matches on method and path only");
        r.finish();
        if (method == null || path == null) return null;
        String m = method.toUpperCase(Locale.ROOT);
        if (!METHOD.matcher(m).matches()) {
            problems.error(r.get("method"), r.pathOf("method"), "expected an HTTP method such as GET, or *, got '" + method + "'");
            return null;
        }
        if (!path.startsWith("/") && !path.equals("**")) {
            problems.error(r.get("path"), r.pathOf("path"), "expected a path glob starting with '/', got '" + path + "'");
            return null;
        }
        return new HttpRule(id(rulePath), m, path);
    }

    private Set<Integer> ports(Fields f) {
        Set<Integer> ports = new LinkedHashSet<>();
        Node one = f.get("port");
        Node many = f.get("ports");
        if (one != null && many != null) {
            problems.error(many, f.pathOf("ports"), "give either port or ports, not both");
            return Set.of();
        }
        if (one == null && many == null) {
            problems.error(f.node(), f.path(), "missing field 'port' (the TCP port, e.g. 443) or 'ports' (a list)");
            return Set.of();
        }
        if (one != null) {
            Integer p = port(one, f.pathOf("port"));
            if (p != null) ports.add(p);
        } else if (many instanceof ListNode l && !l.items().isEmpty()) {
            for (int i = 0; i < l.items().size(); i++) {
                Integer p = port(l.items().get(i), KeyPath.index(f.pathOf("ports"), i));
                if (p != null) ports.add(p);
            }
        } else {
            problems.error(many, f.pathOf("ports"), "expected a non-empty list of ports, got " + YamlTree.describe(many));
        }
        return ports;
    }

    private Integer port(Node n, String path) {
        if (n instanceof Scalar s && !s.isString()) {
            try {
                int p = Integer.parseInt(s.text());
                if (p >= 1 && p <= 65535) return p;
            } catch (NumberFormatException ignored) {
                // reported below
            }
        }
        problems.error(n, path, "expected a port between 1 and 65535, got " + YamlTree.describe(n));
        return null;
    }

    /** A host, lower-cased; wildcards only as a whole first label, {@code *.} (one label) or {@code **.} (any). */
    String host(Fields f, String raw, String key) {
        if (raw == null) return null;
        Node at = f.get(key);
        String h = raw.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        String rest = h.startsWith("**.") ? h.substring(3) : h.startsWith("*.") ? h.substring(2) : h;
        if (rest.contains("*")) {
            problems.error(at, f.pathOf(key), "a wildcard may only be the whole first label ('*.example.com' for one "
                    + "label, '**.example.com' for any number), got '" + raw + "'");
            return null;
        }
        if (rest != h && !rest.contains(".")) {
            problems.error(at, f.pathOf(key), "a wildcard needs at least two labels after it (not a whole top-level "
                    + "domain), got '" + raw + "'");
            return null;
        }
        boolean ipv6 = rest.startsWith("[") ? rest.endsWith("]") && rest.length() > 2 : rest.contains(":");
        if (ipv6 && rest == h) {
            String bare = rest.startsWith("[") ? rest.substring(1, rest.length() - 1) : rest;
            if (!Cidr.valid(bare + "/128")) {
                problems.error(at, f.pathOf(key), "not a valid IPv6 address: '" + raw + "'");
                return null;
            }
            return Cidr.canonicalIp(bare);
        }
        if (IPV4.matcher(rest).matches() && rest == h) {
            if (!Cidr.valid(rest + "/32")) {
                problems.error(at, f.pathOf(key), "not a valid IPv4 address: '" + raw + "'");
                return null;
            }
            return rest;
        }
        if (!HOST_LABELS.matcher(rest).matches() || rest.length() > 253) {
            problems.error(at, f.pathOf(key), "expected a host name (letters, digits, '-', '.'), an IP address or a "
                    + "*.domain wildcard, got '" + raw + "'");
            return null;
        }
        return h;
    }
}
