package dev.carapace.guard.policy;

import dev.carapace.guard.policy.Policy.Approvals;
import dev.carapace.guard.policy.Policy.Credential;
import dev.carapace.guard.policy.Policy.Filesystem;
import dev.carapace.guard.policy.Policy.NetworkGroup;
import dev.carapace.guard.policy.Policy.Root;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problem;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads a policy file (see {@code policies/example.yaml}) into a {@link Policy}, or refuses it listing every problem
 * with its line, column and field path. Strict: an unknown field is an error, and so is an OpenShell field Carapace
 * does not implement (its message says so and why) — a field that grants or restricts access is never skipped.
 */
public final class PolicyLoader {

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

    /** A rule's id: the policy's name and the rule's field path, as audit records and denials name it. */
    static String ruleId(String name, String path) { return name + ":" + path; }

    private String id(String path) { return ruleId(name, path); }

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
        NetworkSection networkSection = new NetworkSection(problems, name);
        CarapaceExtensions extensions = new CarapaceExtensions(problems, name, networkSection);
        Map<String, NetworkGroup> network = networkSection.network(root);
        root.unsupported("network_middlewares", "Carapace has no traffic middlewares (content guards that rewrite or "
                + "block allowed traffic); remove the section, or scan content with the privacy router");
        root.unsupported("inference", "inference routing is configured in Carapace's own config (models, tiers), "
                + "not in a policy");
        Policy.Tools tools = root.has("tools") ? extensions.tools(Fields.of(root.get("tools"), "tools",
                "a mapping with allow, ask, deny and rules", problems)) : null;
        Approvals approvals = extensions.approvals(root);
        Map<String, Credential> credentials = extensions.credentials(root);
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
}
