package dev.carapace.yaml;

import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.Kind;
import dev.carapace.yaml.YamlTree.ListNode;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

class YamlTreeTest {

    /** Words like the config's reader: every explanation on. */
    private static final Dialect EXPLAINED = new Dialect("key", "one document only", "alias *%s refused", true, true,
            KeyPath::key);
    /** Words like the policy's reader: terse syntax errors, untyped values read as text, its own key paths. */
    private static final Dialect TERSE = new Dialect("field", "a single document", "no aliases", false, false,
            (parent, key) -> parent.isEmpty() ? "<" + key + ">" : parent + "/" + key);

    private final Problems problems = new Problems("f.yaml");

    private Node parse(String text, Dialect dialect) {
        return YamlTree.parse(text, dialect, problems);
    }

    private List<String> errors() {
        return problems.errors().stream().map(Problem::toString).toList();
    }

    @Test
    void everyNodeKnowsItsLineAndColumn() {
        MapNode root = (MapNode) parse("""
                server:
                  port: 8080
                  name: "8080"
                  ratio: 0.15
                  on: true
                  empty:
                tiers: [free, high]
                """, EXPLAINED);

        assertThat(root.entries().keySet()).containsExactly("server", "tiers");
        Entry server = root.get("server");
        assertThat(List.of(server.line(), server.column())).containsExactly(1, 1);
        MapNode settings = (MapNode) server.value();
        assertThat(settings.entries().values()).extracting(Entry::key, Entry::line, Entry::column).containsExactly(
                tuple("port", 2, 3), tuple("name", 3, 3), tuple("ratio", 4, 3), tuple("on", 5, 3), tuple("empty", 6, 3));
        assertThat(settings.entries().values()).extracting(e -> ((Scalar) e.value()).kind()).containsExactly(
                Kind.NUMBER, Kind.STRING, Kind.NUMBER, Kind.BOOLEAN, Kind.NULL);
        assertThat((Scalar) settings.get("ratio").value()).extracting(Scalar::text, Scalar::line, Scalar::column)
                .containsExactly("0.15", 4, 10);
        ListNode tiers = (ListNode) root.get("tiers").value();
        assertThat(tiers.items()).extracting(Node::line, Node::column).containsExactly(tuple(7, 9), tuple(7, 15));
        assertThat(problems.hasErrors()).isFalse();
    }

    @Test
    void aDuplicateKeyIsReportedWhereItIsRepeatedWithTheLineOfTheFirst() {
        MapNode root = (MapNode) parse("a:\n  b: 1\n  b: 2\n\"x.y\": 1\n\"x.y\": 2\n", EXPLAINED);

        assertThat(errors()).containsExactly(
                "f.yaml:3:3: a.b: duplicate key 'b' (first given at line 2)",
                "f.yaml:5:1: [\"x.y\"]: duplicate key 'x.y' (first given at line 4)");
        assertThat(((Scalar) ((MapNode) root.get("a").value()).get("b").value()).text()).isEqualTo("1");
    }

    @Test
    void theDialectWordsTheProblemsAndBuildsThePaths() {
        parse("a:\n  b: 1\n  b: 2\nc: *x\nd: !!binary aGk=\n", TERSE);

        assertThat(errors()).containsExactly(
                "f.yaml:3:3: <a>/b: duplicate field 'b' (first given at line 2)",
                "f.yaml:4:4: <c>: no aliases");
    }

    @Test
    void anUntypedValueIsAnErrorOnlyWhereTheDialectRefusesIt() {
        Scalar refused = (Scalar) ((MapNode) parse("d: !!binary aGk=\n", EXPLAINED)).get("d").value();
        assertThat(errors()).containsExactly("f.yaml:1:4: d: unsupported YAML value");
        assertThat(refused.kind()).isEqualTo(Kind.UNTYPED);
        assertThat(refused.isOpaque()).isTrue();

        Problems terse = new Problems("g.yaml");
        Scalar read = (Scalar) ((MapNode) YamlTree.parse("d: !!binary aGk=\n", TERSE, terse)).get("d").value();
        assertThat(terse.hasErrors()).isFalse();
        assertThat(read.text()).isEqualTo("aGk=");
        assertThat(read.isString()).isFalse();
    }

    @Test
    void syntaxErrorsAreExplainedOnlyWhereTheDialectSaysSo() {
        assertThat(parse("a: [1, 2\nb: 3\n", EXPLAINED)).isNull();
        assertThat(YamlTree.parse("a: [1, 2\nb: 3\n", TERSE, problems)).isNull();
        assertThat(parse("server:\n\tport: 1\n", EXPLAINED)).isNull();

        assertThat(errors()).containsExactly(
                "f.yaml:2:1: YAML syntax error: found character 'tab' that cannot start any token. (Do not use tab for indentation)",
                "f.yaml:2:2: YAML syntax error: expected ',' or ']', but got : (while parsing a flow sequence at line 1, column 4)",
                "f.yaml:2:2: YAML syntax error: expected ',' or ']', but got : (while parsing a flow sequence at line 1)");
    }

    @Test
    void aSecondDocumentIsRefusedInTheDialectsWords() {
        parse("a: 1\n---\nb: 2\n", EXPLAINED);
        parse("a: 1\n---\nb: 2\n", TERSE);

        assertThat(errors()).containsExactly("f.yaml:3:1: a second YAML document starts here; one document only",
                "f.yaml:3:1: a second YAML document starts here; a single document");
    }

    @Test
    void anEmptyDocumentIsNullAndLeftToTheLoaderToReport() {
        assertThat(parse("", EXPLAINED)).isNull();
        assertThat(parse("\uFEFF# nothing\n", EXPLAINED)).isNull();
        assertThat(problems.hasErrors()).isFalse();
    }

    @Test
    void aliasesAreReportedOneByOneAndNeverExpanded() {
        // A "billion laughs" document: expanded, it would hold 9^10 items.
        StringBuilder laughs = new StringBuilder("l0: &l0 [x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i <= 9; i++) {
            laughs.append("l").append(i).append(": &l").append(i).append(" [")
                    .append(String.join(", ", java.util.Collections.nCopies(9, "*l" + (i - 1)))).append("]\n");
        }
        MapNode root = (MapNode) parse(laughs.toString(), EXPLAINED);

        assertThat(problems.errors()).hasSize(81).allSatisfy(p -> assertThat(p.message()).matches("alias \\*l[0-8] refused"));
        ListNode top = (ListNode) root.get("l9").value();
        assertThat(top.items()).hasSize(9).allSatisfy(n -> assertThat(n).isEqualTo(
                new Scalar("l8", Kind.ALIAS, n.line(), n.column())));
    }

    @Test
    void nestingDeeperThanAThousandLevelsIsASyntaxErrorNotACrash() {
        assertThat(parse("a: " + "[".repeat(500) + "]".repeat(500), EXPLAINED)).isInstanceOf(MapNode.class);
        assertThat(problems.hasErrors()).isFalse();

        assertThat(parse("a: " + "[".repeat(5000) + "]".repeat(5000), EXPLAINED)).isNull();
        assertThat(errors()).singleElement().asString()
                .startsWith("f.yaml:1:1: YAML syntax error: Document nesting depth (1001) exceeds the maximum allowed (1000");
    }

    /** A 3 MiB scalar was refused, but only after the parser had scanned it for 4-8 seconds. */
    @Test
    void aMultiMegabyteValueTookSecondsToRefuse() {
        long start = System.nanoTime();
        assertThat(parse("a: " + "y".repeat(3 * 1024 * 1024) + "\n", EXPLAINED)).isNull();
        assertThat(System.nanoTime() - start).as("refused at once").isLessThan(500_000_000L);
        assertThat(errors()).singleElement().asString().isEqualTo("f.yaml:1:1: the file is 3145732 characters long;"
                + " at most 1048576 are read (config, policy and agent files are far smaller)");

        assertThat(parse("a: " + "y".repeat(YamlTree.MAX_CHARS - 4) + "\n", EXPLAINED)).isInstanceOf(MapNode.class);
    }

    @Test
    void valuesAreDescribedShortForMessages() {
        MapNode root = (MapNode) parse("a: {b: 1}\nc: [1]\nd:\ne: " + "y".repeat(70) + "\n", EXPLAINED);

        assertThat(root.entries().values()).extracting(e -> YamlTree.describe(e.value())).containsExactly(
                "a mapping", "a list", "nothing", "'" + "y".repeat(60) + "...'");
    }

    @Test
    void problemsComeOutInFileOrderWithWarningsApart() {
        problems.error(3, 1, "b", "late");
        problems.warning(1, 1, "", "heads up");
        problems.error(1, 5, "a", "early");

        assertThat(errors()).containsExactly("f.yaml:1:5: a: early", "f.yaml:3:1: b: late");
        assertThat(problems.errorCount()).isEqualTo(2);
        assertThat(problems.warnings()).extracting(Problem::toString).containsExactly("f.yaml:1:1: heads up");
    }
}
