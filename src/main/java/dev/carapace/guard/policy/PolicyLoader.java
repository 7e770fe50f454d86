package dev.carapace.guard.policy;

import dev.carapace.guard.NetworkRules.Verdict;
import dev.carapace.guard.policy.Policy.Access;
import dev.carapace.guard.policy.Policy.Approvals;
import dev.carapace.guard.policy.Policy.Binary;
import dev.carapace.guard.policy.Policy.Credential;
import dev.carapace.guard.policy.Policy.Endpoint;
import dev.carapace.guard.policy.Policy.Filesystem;
import dev.carapace.guard.policy.Policy.HttpRule;
import dev.carapace.guard.policy.Policy.NameRule;
import dev.carapace.guard.policy.Policy.NetworkGroup;
import dev.carapace.guard.policy.Policy.Protocol;
import dev.carapace.guard.policy.Policy.Root;
import dev.carapace.guard.policy.Policy.ToolRule;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problem;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.ListNode;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a policy file (see {@code policies/example.yaml}) into a {@link Policy}, or refuses it listing every problem
 * with its line, column and field path. Strict: an unknown field is an error, and so is an OpenShell field Carapace
 * does not implement (its message says so and why) — a field that grants or restricts access is never skipped.
 */
public final class PolicyLoader {

    private static final Pattern HOST_LABELS = Pattern.compile("[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*");
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern METHOD = Pattern.compile("[A-Z]+|\\*");
    private static final Pattern TOOL_GLOB = Pattern.compile("[a-z0-9_*?-]+");
    private static final Pattern SECRET_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,128}");
    private static final Pattern HEADER = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    private static final Set<String> MANAGED_HEADERS = Set.of("host", "content-length", "transfer-encoding", "connection",
            "upgrade", "te", "trailer", "proxy-authorization", "proxy-connection");

    private final Problems problems;
    private final String name;

    private PolicyLoader(Problems problems, String name) {
        this.problems = problems;
        this.name = name;
    }

    /** Loads {@code file}; {@code name} is what rule ids and messages call the policy. */
    public static Policy load(Path file, String name) throws PolicyException {
        String text;
        String label = file.toString();
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw fileProblem(label, "file not found");
        } catch (MalformedInputException e) {
            throw fileProblem(label, "the file is not UTF-8 text");
        } catch (IOException e) {
            throw fileProblem(label, "cannot read the file (" + e.getClass().getSimpleName() + ")");
        }
        return parse(text, label, name);
    }

    /** Loads {@code file} under the name of its file (without {@code .yaml}). */
    public static Policy load(Path file) throws PolicyException {
        String n = file.getFileName().toString().replaceFirst("\\.ya?ml$", "");
        return load(file, n);
    }

    /** Parses policy text; {@code fileLabel} is only used in messages. */
    public static Policy parse(String text, String fileLabel, String name) throws PolicyException {
        Problems problems = new Problems(fileLabel);
        Node root = YamlTree.parse(text, Fields.POLICY, problems);
        Policy policy = null;
        if (root == null && !problems.hasErrors()) {
            problems.error(1, 1, "", "the file is empty (expected at least 'version: 1')");
        } else if (root instanceof MapNode m) {
            policy = new PolicyLoader(problems, name).policy(m);
        } else if (root != null) {
            problems.error(root, "", "expected policy fields (key: value lines) at the top level, got " + YamlTree.describe(root));
        }
        if (root == null && problems.hasErrors()) templateHint(text, problems);
        if (problems.hasErrors()) throw new PolicyException(problems.errors());
        return policy;
    }

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{[A-Za-z_][A-Za-z0-9_]*}");

    /** A file that does not parse and holds ${...} placeholders is a template: say so, at the first one. */
    private static void templateHint(String text, Problems problems) {
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            var m = PLACEHOLDER.matcher(lines[i]);
            if (m.find() && !lines[i].stripLeading().startsWith("#")) {
                problems.error(i + 1, m.start() + 1, "", "this looks like a template: placeholder " + m.group()
                        + " is not filled in; render the template before loading it");
                return;
            }
        }
    }

    private static PolicyException fileProblem(String file, String message) {
        return new PolicyException(List.of(new Problem(file, 0, 0, "", message)));
    }

    private String id(String path) { return name + ":" + path; }

    // ---- the document ------------------------------------------------------------------------------------------

    private Policy policy(MapNode rootNode) {
        Fields root = new Fields(rootNode, "", problems);
        version(root);
        preset(root);
        Filesystem fs = root.has("filesystem_policy") ? filesystem(Fields.of(root.get("filesystem_policy"),
                "filesystem_policy", "a mapping with include_workdir, read_only and read_write", problems)) : null;
        if (root.has("filesystem_policy") && root.get("filesystem_policy") == null) {
            fs = new Filesystem(false, List.of(), List.of());
        }
        landlock(root);
        Policy.Process process = root.has("process") ? process(Fields.of(root.get("process"), "process",
                "a mapping with run_as_user and run_as_group", problems)) : null;
        Map<String, NetworkGroup> network = network(root);
        root.unsupported("network_middlewares", "Carapace has no traffic middlewares (content guards that rewrite or "
                + "block allowed traffic); remove the section, or scan content with the privacy router");
        root.unsupported("inference", "inference routing is configured in Carapace's own config (models, tiers), "
                + "not in a policy");
        Policy.Tools tools = root.has("tools") ? tools(Fields.of(root.get("tools"), "tools",
                "a mapping with allow, ask, deny and rules", problems)) : null;
        Approvals approvals = approvals(root);
        Map<String, Credential> credentials = credentials(root);
        root.finish();
        return new Policy(name, fs, process, network, tools, approvals, credentials);
    }

    private void version(Fields root) {
        Node v = root.get("version");
        if (v == null) return;   // NemoClaw presets have none
        if (!(v instanceof Scalar s) || s.isString() || !s.text().equals("1")) {
            problems.error(v, "version", "expected 1 (the only policy schema version), got " + YamlTree.describe(v));
        }
    }

    /** NemoClaw's preset header: a name and a description, nothing that grants or restricts anything. */
    private void preset(Fields root) {
        if (!root.has("preset")) return;
        Fields f = Fields.of(root.get("preset"), "preset", "a mapping with name and description", problems);
        f.string("name", "a preset name");
        f.string("description", "a description");
        f.finish();
    }

    private Filesystem filesystem(Fields f) {
        Boolean include = f.bool("include_workdir");
        List<Root> ro = roots(f, "read_only", false);
        List<Root> rw = roots(f, "read_write", true);
        f.finish();
        return new Filesystem(include != null && include, ro, rw);
    }

    private List<Root> roots(Fields f, String key, boolean writable) {
        List<Root> roots = new ArrayList<>();
        List<Scalar> items = f.strings(key, "absolute paths");
        for (int i = 0; i < items.size(); i++) {
            Scalar s = items.get(i);
            String path = KeyPath.index(f.pathOf(key), i);
            String p = s.text();
            if (!p.startsWith("/")) {
                problems.error(s, path, "expected an absolute path, got " + YamlTree.describe(s));
            } else if (p.indexOf('\0') >= 0 || Globs.hasWildcard(p)) {
                problems.error(s, path, "a root is a plain absolute path (no wildcards), got " + YamlTree.describe(s));
            } else if (List.of(p.split("/")).contains("..") || List.of(p.split("/")).contains(".")) {
                problems.error(s, path, "a root must not contain '.' or '..' segments, got " + YamlTree.describe(s));
            } else if (writable && Path.of(p).normalize().getNameCount() == 0) {
                problems.error(s, path, "'/' is too broad to be writable; name the directories the agent may write");
            } else {
                roots.add(new Root(Path.of(p).normalize(), id(path)));
            }
        }
        return roots;
    }

    /**
     * Landlock is how OpenShell enforces filesystem_policy in its sandbox; Carapace enforces the same roots in the
     * file tools and in bubblewrap's mounts, always: {@code best_effort} (run without rules if the kernel cannot)
     * therefore never weakens anything here, and {@code hard_requirement} is what Carapace does anyway.
     */
    private void landlock(Fields root) {
        if (!root.has("landlock")) return;
        Fields f = Fields.of(root.get("landlock"), "landlock", "a mapping with compatibility", problems);
        String c = f.string("compatibility", "best_effort or hard_requirement");
        if (c != null && !c.equals("best_effort") && !c.equals("hard_requirement")) {
            Node at = f.get("compatibility");
            problems.error(at, f.pathOf("compatibility"), "expected best_effort or hard_requirement, got " + YamlTree.describe(at));
        }
        f.finish();
    }

    private Policy.Process process(Fields f) {
        String user = sandboxIdentity(f, "run_as_user");
        String group = sandboxIdentity(f, "run_as_group");
        f.finish();
        return new Policy.Process(user, group);
    }

    private String sandboxIdentity(Fields f, String key) {
        String v = f.string(key, "sandbox");
        if (v != null && !v.equals("sandbox")) {
            Node at = f.get(key);
            problems.error(at, f.pathOf(key), "unsupported value " + YamlTree.describe(at) + " for '" + key
                    + "': Carapace runs exec as the unprivileged sandbox identity (no capabilities, no_new_privs) and "
                    + "cannot switch to other users; write 'sandbox' or leave the field out");
            return null;
        }
        return v;
    }

    // ---- network -----------------------------------------------------------------------------------------------

    private Map<String, NetworkGroup> network(Fields root) {
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
    private String host(Fields f, String raw, String key) {
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

    // ---- Carapace extensions -----------------------------------------------------------------------------------

    private Policy.Tools tools(Fields f) {
        List<NameRule> allow = nameRules(f, "allow");
        List<NameRule> ask = nameRules(f, "ask");
        List<NameRule> deny = nameRules(f, "deny");
        List<ToolRule> rules = new ArrayList<>();
        List<Node> items = f.list("rules", "a list of {tool: NAME, target: GLOB, decision: allow|ask|deny}");
        Set<String> ids = new LinkedHashSet<>();
        for (int i = 0; i < items.size(); i++) {
            String path = KeyPath.index(f.pathOf("rules"), i);
            Fields r = Fields.of(items.get(i), path, "{tool: NAME, target: GLOB, decision: allow|ask|deny}", problems);
            String id = r.string("id", "a rule id");
            String tool = r.requiredString("tool", "a tool name or glob");
            String target = r.requiredString("target", "a glob on the call's target (path, command or URL)");
            String decision = r.requiredString("decision", "allow, ask or deny");
            r.finish();
            if (tool != null && !TOOL_GLOB.matcher(tool).matches()) {
                problems.error(r.get("tool"), r.pathOf("tool"), "expected a tool name or glob, got '" + tool + "'");
                continue;
            }
            Verdict v = decision == null ? null : switch (decision) {
                case "allow" -> Verdict.ALLOW;
                case "ask" -> Verdict.ASK;
                case "deny" -> Verdict.DENY;
                default -> {
                    problems.error(r.get("decision"), r.pathOf("decision"), "expected allow, ask or deny, got '" + decision + "'");
                    yield null;
                }
            };
            if (id != null && !ids.add(id)) {
                problems.error(r.get("id"), r.pathOf("id"), "rule id '" + id + "' is used twice");
                continue;
            }
            if (tool == null || target == null || v == null) continue;
            rules.add(new ToolRule(id != null ? name + ":" + id : id(path), tool, target, v));
        }
        f.finish();
        return new Policy.Tools(allow, ask, deny, rules);
    }

    private List<NameRule> nameRules(Fields f, String key) {
        List<NameRule> out = new ArrayList<>();
        List<Scalar> items = f.strings(key, "tool names or globs");
        for (int i = 0; i < items.size(); i++) {
            Scalar s = items.get(i);
            String path = KeyPath.index(f.pathOf(key), i);
            if (!TOOL_GLOB.matcher(s.text()).matches()) {
                problems.error(s, path, "expected a tool name or glob (such as read or web_*), got " + YamlTree.describe(s));
            } else {
                out.add(new NameRule(s.text(), id(path)));
            }
        }
        return out;
    }

    private Approvals approvals(Fields root) {
        if (!root.has("approvals")) return Approvals.DEFAULT;
        Fields f = Fields.of(root.get("approvals"), "approvals", "a mapping with unknown_hosts", problems);
        String u = f.string("unknown_hosts", "deny or ask");
        f.finish();
        if (u == null || u.equals("deny")) return Approvals.DEFAULT;
        if (u.equals("ask")) return new Approvals(Verdict.ASK);
        problems.error(f.get("unknown_hosts"), f.pathOf("unknown_hosts"), "expected deny or ask, got '" + u + "'");
        return Approvals.DEFAULT;
    }

    private Map<String, Credential> credentials(Fields root) {
        Map<String, Credential> out = new LinkedHashMap<>();
        Node n = root.get("credentials");
        if (n == null) return out;
        if (!(n instanceof MapNode m)) {
            problems.error(n, "credentials", "expected named credentials (id: {secret, header, template, hosts}), got "
                    + YamlTree.describe(n));
            return out;
        }
        for (Entry e : m.entries().values()) {
            String path = Fields.key("credentials", e.key());
            Fields f = Fields.of(e.value(), path, "{secret, header, template, hosts}", problems);
            String secret = f.requiredString("secret", "the name of a secret in Carapace's secret store");
            String header = f.requiredString("header", "the HTTP header to set, e.g. Authorization");
            String template = f.string("template", "the header value with {secret} where the secret goes");
            List<String> hosts = new ArrayList<>();
            List<Scalar> hs = f.strings("hosts", "hosts the credential is sent to");
            for (int i = 0; i < hs.size(); i++) {
                String h = host(new Fields(new MapNode(Map.of("host", new Entry("host", hs.get(i).line(),
                        hs.get(i).column(), hs.get(i))), hs.get(i).line(), hs.get(i).column()),
                        KeyPath.index(f.pathOf("hosts"), i), problems), hs.get(i).text(), "host");
                if (h != null) hosts.add(h);
            }
            f.finish();
            if (e.value() instanceof MapNode && hs.isEmpty()) {
                problems.error(e.line(), e.column(), path, "missing field 'hosts' (where the credential may be sent)");
            }
            if (secret != null && !SECRET_NAME.matcher(secret).matches()) {
                problems.error(f.get("secret"), f.pathOf("secret"), "expected a secret's name (letters, digits, '_', '.', "
                        + "'-'); the value itself never goes in a policy");
                secret = null;
            }
            if (header != null && (!HEADER.matcher(header).matches() || MANAGED_HEADERS.contains(header.toLowerCase(Locale.ROOT)))) {
                problems.error(f.get("header"), f.pathOf("header"), "expected an HTTP header name the proxy may set, got '"
                        + header + "'");
                header = null;
            }
            if (template == null) template = "{secret}";
            if (template.indexOf("{secret}") < 0 || template.indexOf("{secret}") != template.lastIndexOf("{secret}")
                    || template.contains("\r") || template.contains("\n")) {
                problems.error(f.get("template"), f.pathOf("template"), "the template must hold {secret} exactly once, on "
                        + "one line (e.g. \"Bearer {secret}\")");
                continue;
            }
            if (secret != null && header != null && !hosts.isEmpty()) {
                out.put(e.key(), new Credential(id(path), secret, header, template, hosts));
            }
        }
        return out;
    }
}
