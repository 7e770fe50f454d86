package dev.carapace.skill;

import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.Kind;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OpenClaw's fallback for a front matter YAML cannot read: one {@code key: value} per line, a value that opens with
 * {@code {} or {@code [} read as JSON5 with the indented lines that follow it (so a {@code metadata} block with
 * {@code //} comments still loads, as it does in OpenClaw). Used only after YAML failed; when this fails too, the
 * YAML error is the one reported.
 */
final class LineFrontMatter {

    private static final Pattern KEY = Pattern.compile("([A-Za-z0-9_.-]+):(?:[ \\t]+(.*))?");
    private static final Pattern NUMBER = Pattern.compile("-?[0-9]+(\\.[0-9]+)?");

    private LineFrontMatter() {}

    /**
     * The front matter as a mapping, or null when it is not in this form either.
     *
     * @param yaml the front matter with the file's line numbers (line 1 is the opening {@code ---}, left empty)
     */
    static MapNode parse(String yaml, String where) {
        String[] lines = yaml.split("\n", -1);
        Problems problems = new Problems(where);
        Map<String, Entry> entries = new LinkedHashMap<>();
        int i = 0;
        while (i < lines.length) {
            String line = lines[i];
            if (line.isBlank() || line.startsWith("#")) {
                i++;
                continue;
            }
            Matcher m = KEY.matcher(line.stripTrailing());
            if (!m.matches()) return null;
            int lineNo = i + 1;
            int column = m.start(2) < 0 ? line.length() + 1 : m.start(2) + 1;
            StringBuilder value = new StringBuilder(m.group(2) == null ? "" : m.group(2));
            i++;
            while (i < lines.length && !lines[i].isEmpty() && (Character.isWhitespace(lines[i].charAt(0))
                    || "{}[]".indexOf(lines[i].charAt(0)) >= 0)) {
                value.append('\n').append(lines[i]);
                i++;
            }
            Node node = value(value.toString().strip(), lineNo, column, m.group(1), problems);
            if (node == null || entries.containsKey(m.group(1))) return null;
            entries.put(m.group(1), new Entry(m.group(1), lineNo, 1, node));
        }
        if (problems.hasErrors() || entries.isEmpty()) return null;
        return new MapNode(Collections.unmodifiableMap(entries), 2, 1);
    }

    private static Node value(String text, int line, int column, String key, Problems problems) {
        if (text.isEmpty()) return new Scalar("", Kind.NULL, line, column);
        char c = text.charAt(0);
        if (c == '{' || c == '[' || c == '"' || c == '\'') return Json5Tree.parse(text, line, column, key, problems);
        if (text.indexOf('\n') >= 0) return null;   // a plain value is one line
        if (text.equals("true") || text.equals("false")) return new Scalar(text, Kind.BOOLEAN, line, column);
        if (NUMBER.matcher(text).matches()) return new Scalar(text, Kind.NUMBER, line, column);
        return new Scalar(text, Kind.STRING, line, column);
    }
}
