package dev.carapace.server.cli;

import dev.carapace.yaml.Dialect;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problem;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A job definition file for {@code carapace jobs add --file}: one job, in YAML or JSON (JSON is YAML), read by
 * Carapace's one YAML reader into the map the job reader checks. Problems are reported as FILE:LINE:COLUMN.
 */
final class JobFiles {

    private static final Dialect JOB_FILE = new Dialect("field", "a job file holds one job",
            "YAML aliases (*%s) are not supported; write the value out in full", true, true, KeyPath::key);

    private JobFiles() {}

    /** @throws IllegalArgumentException naming the file and what is wrong with it */
    static Map<String, Object> read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (MalformedInputException e) {
            throw new IllegalArgumentException(file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read it (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        }
        Problems problems = new Problems(file.toString());
        YamlTree.Node root = YamlTree.parse(text, JOB_FILE, problems);
        if (problems.hasErrors()) {
            throw new IllegalArgumentException(problems.errors().stream().map(Problem::toString).collect(Collectors.joining("\n")));
        }
        if (!(root instanceof YamlTree.MapNode m)) {
            throw new IllegalArgumentException(file + ": expected one job, a mapping with id, agent, schedule, message ...; got "
                    + (root == null ? "an empty file" : YamlTree.describe(root)));
        }
        return map(m);
    }

    private static Map<String, Object> map(YamlTree.MapNode m) {
        Map<String, Object> out = new LinkedHashMap<>();
        m.entries().forEach((k, e) -> out.put(k, value(e.value())));
        return out;
    }

    private static Object value(YamlTree.Node n) {
        return switch (n) {
            case YamlTree.MapNode m -> map(m);
            case YamlTree.ListNode l -> {
                List<Object> items = new ArrayList<>();
                l.items().forEach(i -> items.add(value(i)));
                yield items;
            }
            case YamlTree.Scalar s when s.isNull() -> null;
            case YamlTree.Scalar s when s.kind() == YamlTree.Kind.BOOLEAN -> Boolean.valueOf(s.text().equalsIgnoreCase("true"));
            case YamlTree.Scalar s -> s.text();   // numbers as written: the job reader reads them exactly
        };
    }
}
