package dev.carapace.guard.policy;

import dev.carapace.guard.NetworkRules.Verdict;
import dev.carapace.guard.policy.Policy.Approvals;
import dev.carapace.guard.policy.Policy.Credential;
import dev.carapace.guard.policy.Policy.NameRule;
import dev.carapace.guard.policy.Policy.ToolRule;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Entry;
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
 * Reads the sections Carapace adds to the OpenShell policy format: {@code tools} (which tools an agent may call, on
 * what), {@code approvals} and {@code credentials} (secrets the egress proxy injects, by host).
 */
final class CarapaceExtensions {

    private static final Pattern TOOL_GLOB = Pattern.compile("[a-z0-9_*?-]+");
    private static final Pattern SECRET_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,128}");
    private static final Pattern HEADER = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    private static final Set<String> MANAGED_HEADERS = Set.of("host", "content-length", "transfer-encoding", "connection",
            "upgrade", "te", "trailer", "proxy-authorization", "proxy-connection");

    private final Problems problems;
    private final String name;
    /** Checks a credential's hosts as an endpoint's are checked. */
    private final NetworkSection network;

    CarapaceExtensions(Problems problems, String name, NetworkSection network) {
        this.problems = problems;
        this.name = name;
        this.network = network;
    }

    private String id(String path) { return PolicyLoader.ruleId(name, path); }

    Policy.Tools tools(Fields f) {
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

    Approvals approvals(Fields root) {
        if (!root.has("approvals")) return Approvals.DEFAULT;
        Fields f = Fields.of(root.get("approvals"), "approvals", "a mapping with unknown_hosts", problems);
        String u = f.string("unknown_hosts", "deny or ask");
        f.finish();
        if (u == null || u.equals("deny")) return Approvals.DEFAULT;
        if (u.equals("ask")) return new Approvals(Verdict.ASK);
        problems.error(f.get("unknown_hosts"), f.pathOf("unknown_hosts"), "expected deny or ask, got '" + u + "'");
        return Approvals.DEFAULT;
    }

    Map<String, Credential> credentials(Fields root) {
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
                String h = network.host(new Fields(new MapNode(Map.of("host", new Entry("host", hs.get(i).line(),
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
