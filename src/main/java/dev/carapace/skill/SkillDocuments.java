package dev.carapace.skill;

import dev.carapace.yaml.Dialect;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problem;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.ListNode;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Parses a {@code SKILL.md}: YAML front matter between two {@code ---} lines, then the markdown body. The front
 * matter is read with Carapace's YAML reader (aliases refused, never expanded; duplicate keys refused); OpenClaw's
 * {@code metadata} may be YAML or a JSON5 string (trailing commas, unquoted keys, single quotes, comments). Every
 * problem names the file, line and key, what was wrong and what is expected.
 *
 * <p>Bounds, all checked before anything is built: the file at most {@value #MAX_BYTES} bytes, its front matter at
 * most {@value #MAX_FRONT_MATTER_CHARS} characters, the name at most {@value #MAX_NAME_CHARS}, the description at most
 * {@value #MAX_DESCRIPTION_CHARS}. A byte-order mark is skipped and CRLF line ends are read as LF.
 */
public final class SkillDocuments {

    public static final int MAX_BYTES = 256 * 1024;
    public static final int MAX_FRONT_MATTER_CHARS = 64 * 1024;
    public static final int MAX_NAME_CHARS = 64;
    public static final int MAX_DESCRIPTION_CHARS = 1024;

    /** OpenClaw's block, then the legacy names it still reads when {@code openclaw} is absent. */
    static final List<String> OPENCLAW_KEYS = List.of("openclaw", "clawdbot", "clawdis");

    private static final Dialect DIALECT = new Dialect("key",
            "a SKILL.md has one front matter; close it with a '---' line",
            "YAML aliases (*%s) are not allowed in a SKILL.md front matter; write the value out in full",
            true, true, KeyPath::key);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern HOST = Pattern.compile(
            "(\\*\\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?"
                    + "|\\[[0-9a-f:.]+\\](:[0-9]{1,5})?");

    private SkillDocuments() {}

    /** Parses a {@code SKILL.md} whose front matter must name the skill. */
    public static SkillDocument parse(String skillMdText, String where) throws SkillFormatException {
        return parse(skillMdText, where, null);
    }

    /**
     * Parses a {@code SKILL.md}.
     *
     * @param where       the file as named in messages ({@code skills/github/SKILL.md})
     * @param folderName  the name used when the front matter has no {@code name} (OpenClaw names such a skill
     *                    after its folder), or null to require one
     */
    public static SkillDocument parse(String skillMdText, String where, String folderName) throws SkillFormatException {
        String text = normalized(skillMdText, where);
        FrontMatter fm = FrontMatter.split(text, where);
        Problems problems = new Problems(where);
        Node root = YamlTree.parse(fm.yaml(), DIALECT, problems);
        if (problems.hasErrors()) {
            // As OpenClaw does, a front matter YAML cannot read gets a second chance as key: value lines with JSON5
            // values; duplicate keys and aliases are errors of a file YAML did read, and stay errors.
            boolean syntax = problems.errors().stream().allMatch(p -> p.message().startsWith("YAML syntax error"));
            MapNode lines = syntax ? LineFrontMatter.parse(fm.yaml(), where) : null;
            if (lines == null) throw new SkillFormatException(problems.errors());
            problems = new Problems(where);
            root = lines;
        }
        if (!(root instanceof MapNode map)) {
            int line = root == null ? 1 : root.line();
            throw new SkillFormatException(List.of(new Problem(where, line, 0, "",
                    "the front matter must be key: value lines (at least name: and description:), got "
                            + (root == null ? "nothing" : NodeReads.describe(root)))));
        }
        SkillDocument doc = new Reading(map, fm.body(), folderName, problems, new NodeReads(problems)).document();
        if (problems.hasErrors()) throw new SkillFormatException(problems.errors());
        return doc;
    }

    /** The text bounded, without a byte-order mark, with {@code \n} line ends. */
    private static String normalized(String text, String where) throws SkillFormatException {
        if (text.length() > MAX_BYTES || utf8Length(text) > MAX_BYTES) {
            throw new SkillFormatException(where, "the file is " + Math.max(text.length(), utf8Length(text))
                    + " bytes or more; a SKILL.md may be at most " + MAX_BYTES + " bytes (256 KiB). Keep long"
                    + " material in other files of the skill (references/...), which are read on demand");
        }
        if (!text.isEmpty() && text.charAt(0) == '\uFEFF') text = text.substring(1);
        return text.indexOf('\r') < 0 ? text : text.replace("\r\n", "\n").replace('\r', '\n');
    }

    private static int utf8Length(String text) {
        if (text.length() > MAX_BYTES) return text.length();
        return text.getBytes(StandardCharsets.UTF_8).length;
    }

    /**
     * The front matter as YAML whose line numbers are the file's (the opening {@code ---} line left empty), and the
     * body after the closing line.
     */
    record FrontMatter(String yaml, String body) {

        static FrontMatter split(String text, String where) throws SkillFormatException {
            int firstEnd = lineEnd(text, 0);
            if (!isFence(text.substring(0, firstEnd))) {
                String first = text.substring(0, Math.min(firstEnd, 40));
                throw new SkillFormatException(List.of(new Problem(where, 1, 1, "",
                        "a SKILL.md must begin with a '---' line opening its YAML front matter (name:, description:),"
                                + " then a closing '---' line and the markdown body; it begins with "
                                + (first.isBlank() ? "an empty line" : SkillText.quote(first)))));
            }
            int line = 1;
            for (int start = Math.min(firstEnd + 1, text.length()); start < text.length(); ) {
                int end = lineEnd(text, start);
                line++;
                if (isFence(text.substring(start, end))) {
                    String yaml = "\n" + text.substring(firstEnd + 1, start);
                    String body = end >= text.length() ? "" : text.substring(end + 1);
                    return new FrontMatter(yaml, body.stripLeading().isEmpty() ? "" : stripBlankLines(body));
                }
                if (start > MAX_FRONT_MATTER_CHARS) break;
                start = end + 1;
            }
            if (firstEnd + 1 + MAX_FRONT_MATTER_CHARS < text.length()) {
                throw new SkillFormatException(List.of(new Problem(where, 1, 1, "",
                        "no closing '---' line within the first " + MAX_FRONT_MATTER_CHARS + " characters; the front"
                                + " matter must be closed by a '---' line (and be shorter than that)")));
            }
            throw new SkillFormatException(List.of(new Problem(where, 1, 1, "",
                    "the front matter opened by '---' on line 1 is never closed; expected a '---' line after its"
                            + " keys, then the markdown body")));
        }

        private static int lineEnd(String text, int from) {
            int nl = text.indexOf('\n', from);
            return nl < 0 ? text.length() : nl;
        }

        private static boolean isFence(String line) {
            return line.stripTrailing().equals("---");
        }

        private static String stripBlankLines(String body) {
            int i = 0;
            while (i < body.length()) {
                int nl = body.indexOf('\n', i);
                if (nl < 0 || !body.substring(i, nl).isBlank()) break;
                i = nl + 1;
            }
            return body.substring(i);
        }
    }

    /** Reads the fields of one front matter. */
    private record Reading(MapNode root, String body, String folderName, Problems problems, NodeReads reads) {

        SkillDocument document() {
            String name = name();
            String description = description();
            boolean userInvocable = reads.bool(NodeReads.value(root, "user-invocable"), "user-invocable", true);
            boolean noModel = reads.bool(NodeReads.value(root, "disable-model-invocation"),
                    "disable-model-invocation", false);
            String homepage = reads.string(NodeReads.value(root, "homepage"), "homepage");
            String license = reads.string(NodeReads.value(root, "license"), "license");
            List<String> tools = allowedTools(NodeReads.value(root, "allowed-tools"));
            MapNode metadata = metadata();
            OpenClawMetadata openclaw = openclaw(metadata);
            List<String> hosts = hosts(metadata);
            if (homepage == null && openclaw != null) homepage = openclaw.homepage();
            LinkedHashSet<String> commands = new LinkedHashSet<>();
            if (openclaw != null) {
                commands.addAll(openclaw.requires().bins());
                commands.addAll(openclaw.requires().anyBins());
            }
            SkillNeeds needs = new SkillNeeds(tools, List.copyOf(commands), hosts);
            return new SkillDocument(name == null ? "" : name, description == null ? "" : description,
                    userInvocable, noModel, homepage, license, openclaw, needs, frontMatter(metadata), body);
        }

        private String name() {
            Entry e = root.get("name");
            Node node = NodeReads.value(root, "name");
            if (node == null) {
                if (folderName != null) return folderName;
                problems.error(e == null ? root.line() : e.line(), e == null ? 0 : e.column(), "name",
                        "missing: the front matter needs name: (the skill's name: letters, digits, '-', '_', '.')");
                return null;
            }
            String name = reads.string(node, "name");
            if (name == null) return null;
            String problem = nameProblem(name);
            if (problem != null) problems.error(node, "name", problem);
            return name;
        }

        private String description() {
            Entry e = root.get("description");
            Node node = NodeReads.value(root, "description");
            if (node == null) {
                problems.error(e == null ? root.line() : e.line(), e == null ? 0 : e.column(), "description",
                        "missing: the front matter needs description: (one line saying what the skill does and "
                                + "when to use it)");
                return null;
            }
            String d = reads.string(node, "description");
            if (d == null) return null;
            if (d.isBlank()) {
                problems.error(node, "description", "is empty; say what the skill does and when to use it");
            } else if (d.length() > MAX_DESCRIPTION_CHARS) {
                problems.error(node, "description", "is " + d.length() + " characters long; at most "
                        + MAX_DESCRIPTION_CHARS + " (it goes into every prompt; put the details in the body)");
            }
            return d.strip();
        }

        /** AgentSkills' {@code allowed-tools}: a space-separated text ({@code Bash(git:*) Read}) or a list. */
        private List<String> allowedTools(Node node) {
            if (node instanceof Scalar s && s.isString()) {
                List<String> tools = splitTools(s.text());
                if (tools.size() > NodeReads.MAX_ITEMS) {
                    problems.error(node, "allowed-tools", "names " + tools.size() + " tools; at most "
                            + NodeReads.MAX_ITEMS);
                    return List.of();
                }
                return tools;
            }
            return reads.strings(node, "allowed-tools");
        }

        private MapNode metadata() {
            Node node = json5(NodeReads.value(root, "metadata"), "metadata");
            MapNode map = reads.map(node, "metadata");
            if (map == null) return null;
            // A block inside metadata may itself be a JSON5 string: give the parsed one to every reader.
            Map<String, Entry> entries = new LinkedHashMap<>();
            map.entries().forEach((k, e) -> entries.put(k, new Entry(k, e.line(), e.column(),
                    json5(e.value(), KeyPath.key("metadata", k)))));
            return new MapNode(Collections.unmodifiableMap(entries), map.line(), map.column());
        }

        /** A text that holds a JSON5 object or list, parsed; any other node as it is. */
        private Node json5(Node node, String path) {
            if (node instanceof Scalar s && s.kind() == YamlTree.Kind.STRING) {
                String t = s.text().strip();
                if (t.startsWith("{") || t.startsWith("[")) {
                    return Json5Tree.parse(s.text(), s.line(), s.column(), path, problems);
                }
            }
            return node;
        }

        private OpenClawMetadata openclaw(MapNode metadata) {
            if (metadata == null) return null;
            for (String key : OPENCLAW_KEYS) {
                Node node = NodeReads.value(metadata, key);
                if (node == null) continue;
                String path = "metadata." + key;
                MapNode m = reads.map(node, path);
                if (m == null) return null;
                return new OpenClawMetadata(
                        reads.string(NodeReads.value(m, "emoji"), path + ".emoji"),
                        reads.string(NodeReads.value(m, "homepage"), path + ".homepage"),
                        lower(reads.strings(NodeReads.value(m, "os"), path + ".os")),
                        requires(reads.map(NodeReads.value(m, "requires"), path + ".requires"), path + ".requires"),
                        reads.string(NodeReads.value(m, "primaryEnv"), path + ".primaryEnv"),
                        reads.bool(NodeReads.value(m, "always"), path + ".always", false),
                        install(NodeReads.value(m, "install"), path + ".install"),
                        reads.string(NodeReads.value(m, "skillKey"), path + ".skillKey"));
            }
            return null;
        }

        private OpenClawMetadata.Requires requires(MapNode m, String path) {
            if (m == null) return OpenClawMetadata.Requires.NONE;
            return new OpenClawMetadata.Requires(
                    reads.strings(NodeReads.value(m, "bins"), path + ".bins"),
                    reads.strings(NodeReads.value(m, "anyBins"), path + ".anyBins"),
                    reads.strings(NodeReads.value(m, "env"), path + ".env"),
                    reads.strings(NodeReads.value(m, "config"), path + ".config"));
        }

        private List<OpenClawMetadata.InstallSpec> install(Node node, String path) {
            if (node == null) return List.of();
            if (!(node instanceof ListNode list)) {
                problems.error(node, path, "expected a list of installer entries, got " + NodeReads.describe(node));
                return List.of();
            }
            List<OpenClawMetadata.InstallSpec> out = new ArrayList<>();
            for (int i = 0; i < list.items().size() && i < NodeReads.MAX_ITEMS; i++) {
                String p = KeyPath.index(path, i);
                MapNode m = reads.map(list.items().get(i), p);
                if (m == null) continue;
                @SuppressWarnings("unchecked")
                Map<String, Object> fields = (Map<String, Object>) NodeReads.plain(m);
                out.add(new OpenClawMetadata.InstallSpec(
                        reads.string(NodeReads.value(m, "id"), p + ".id"),
                        reads.string(NodeReads.value(m, "kind"), p + ".kind"),
                        reads.string(NodeReads.value(m, "label"), p + ".label"),
                        reads.strings(NodeReads.value(m, "bins"), p + ".bins"),
                        lower(reads.strings(NodeReads.value(m, "os"), p + ".os")),
                        fields));
            }
            return out;
        }

        /** Carapace's {@code metadata.carapace.hosts}: the hosts the skill may contact. */
        private List<String> hosts(MapNode metadata) {
            MapNode carapace = reads.map(NodeReads.value(metadata, "carapace"), "metadata.carapace");
            if (carapace == null) return List.of();
            Node node = NodeReads.value(carapace, "hosts");
            List<String> hosts = new ArrayList<>();
            List<String> raw = reads.strings(node, "metadata.carapace.hosts");
            for (int i = 0; i < raw.size(); i++) {
                String h = raw.get(i).toLowerCase(Locale.ROOT);
                if (!HOST.matcher(h).matches() || !portOk(h)) {
                    Node at = node instanceof ListNode l ? l.items().get(i) : node;
                    problems.error(at, KeyPath.index("metadata.carapace.hosts", i), "host " + SkillText.quote(h)
                            + " is not a host name or host:port; expected e.g. api.github.com, "
                            + "*.example.com or example.com:8443");
                } else if (h.startsWith("*.") && h.substring(2).split(":", 2)[0].indexOf('.') < 0) {
                    // *.com would let a following run reach every host under a top-level domain: no narrowing at all
                    Node at = node instanceof ListNode l ? l.items().get(i) : node;
                    problems.error(at, KeyPath.index("metadata.carapace.hosts", i), "host " + SkillText.quote(h)
                            + " covers a whole top-level domain; expected the skill's own domain, e.g. *.example.com");
                } else if (!hosts.contains(h)) {
                    hosts.add(h);
                }
            }
            return hosts;
        }

        private static boolean portOk(String host) {
            int colon = host.lastIndexOf(':');
            if (colon < 0 || host.endsWith("]")) return true;
            int port = Integer.parseInt(host.substring(colon + 1));
            return port >= 1 && port <= 65535;
        }

        private Map<String, Object> frontMatter(MapNode metadata) {
            Map<String, Object> out = new LinkedHashMap<>();
            root.entries().forEach((k, e) -> out.put(k,
                    k.equals("metadata") && metadata != null ? NodeReads.plain(metadata) : NodeReads.plain(e.value())));
            return Collections.unmodifiableMap(out);
        }

        private static List<String> lower(List<String> values) {
            return values.stream().map(v -> v.toLowerCase(Locale.ROOT)).toList();
        }
    }

    /**
     * Why {@code name} cannot name a skill, or null when it can. A name is a folder name and a tool argument: no
     * path characters, no hidden characters, short.
     */
    static String nameProblem(String name) {
        if (name.isBlank()) return "is empty; expected the skill's name (letters, digits, '-', '_', '.')";
        if (name.length() > MAX_NAME_CHARS) {
            return "is " + name.length() + " characters long; at most " + MAX_NAME_CHARS;
        }
        for (String bad : List.of("/", "\\", "..", "\0", ":")) {
            if (name.contains(bad)) {
                return SkillText.quote(name) + " holds a path character ('" + (bad.equals("\0") ? "\\0" : bad)
                        + "'); a skill name is one folder name: letters, digits, '-', '_' and '.'";
            }
        }
        if (!NAME.matcher(name).matches()) {
            return SkillText.quote(name) + " may hold only letters, digits, '-', '_' and '.', starting with a letter "
                    + "or digit";
        }
        return null;
    }

    /** Splits {@code allowed-tools} on spaces and commas, but not inside parentheses ({@code Bash(git add:*)}). */
    static List<String> splitTools(String text) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        int depth = 0;
        for (char c : text.toCharArray()) {
            if (c == '(') depth++;
            if (c == ')' && depth > 0) depth--;
            if (depth == 0 && (Character.isWhitespace(c) || c == ',')) {
                if (!cur.isEmpty()) out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        if (!cur.isEmpty()) out.add(cur.toString());
        return out.stream().distinct().toList();
    }
}
