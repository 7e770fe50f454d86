package dev.carapace.agent.tools;

import com.fasterxml.jackson.databind.node.TextNode;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.ToolResult;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static dev.carapace.agent.tools.ToolHarness.context;
import static dev.carapace.agent.tools.ToolHarness.json;
import static dev.carapace.agent.tools.ToolHarness.run;
import static org.assertj.core.api.Assertions.assertThat;

/** What the file tools do inside the workspace, their argument checks and their limits. */
class FileToolsTest {

    @TempDir
    Path ws;

    @BeforeEach
    void setUp() throws IOException {
        Files.writeString(ws.resolve("four.txt"), "l1\nl2\nl3\nl4\n");
        Files.createDirectories(ws.resolve("src/main"));
        Files.writeString(ws.resolve("src/main/App.java"), "class App {\n  void run() { foo(); }\n}\n");
        Files.writeString(ws.resolve("src/notes.txt"), "foo in notes\n");
    }

    private static ToolResult ok(ToolResult r) {
        assertThat(r.error()).as(r.content()).isFalse();
        return r;
    }

    private static ToolResult error(ToolResult r) {
        assertThat(r.error()).as(r.content()).isTrue();
        return r;
    }

    // ---- the set ----

    @Test
    void allHasTheSixToolsWithValidNamesAndCompactSchemas() {
        List<AgentTool> tools = FileTools.all();
        assertThat(tools).extracting(AgentTool::name).containsExactly("read", "write", "edit", "list", "glob", "grep");
        int schemas = 0;
        int everything = 0;
        for (AgentTool t : tools) {
            assertThat(t.name()).matches("^[a-z][a-z0-9_]{0,63}$");
            assertThat(t.description()).hasSizeLessThan(120);
            assertThat(t.parameters().get("type").asText()).isEqualTo("object");
            String schema = t.parameters().toString();
            schemas += schema.length();
            everything += schema.length() + t.name().length() + t.description().length();
        }
        System.out.println("file tool schemas: " + schemas + " chars; with names and descriptions: " + everything);
        assertThat(schemas).isLessThan(1500);
        assertThat(everything).isLessThan(2000);
    }

    @Test
    void parametersCannotBeMutatedThroughTheReturnedNode() {
        AgentTool read = ToolHarness.tool("read");
        read.parameters().put("type", "broken");
        assertThat(read.parameters().get("type").asText()).isEqualTo("object");
    }

    // ---- arguments ----

    @Test
    void badArgumentsAreErrorResultsNamingTheArgument() throws Exception {
        var ctx = context(ws);
        AgentTool read = ToolHarness.tool("read");
        assertThat(error(read.run(json("{}"), ctx)).content()).isEqualTo("missing argument 'path' (a string)");
        assertThat(error(read.run(null, ctx)).content()).isEqualTo("missing argument 'path' (a string)");
        assertThat(error(read.run(json("{\"path\":5}"), ctx)).content()).isEqualTo("argument 'path' must be a string");
        assertThat(error(read.run(json("{\"path\":\"four.txt\",\"offset\":\"2\"}"), ctx)).content())
                .startsWith("argument 'offset' must be a positive integer");
        assertThat(error(read.run(json("{\"path\":\"four.txt\",\"offset\":0}"), ctx)).content())
                .startsWith("argument 'offset' must be a positive integer");
        assertThat(error(read.run(json("{\"path\":\"four.txt\",\"limit\":1.5}"), ctx)).content())
                .startsWith("argument 'limit' must be a positive integer");
        assertThat(error(read.run(json("{\"file_path\":\"four.txt\"}"), ctx)).content())
                .isEqualTo("unknown argument 'file_path'; expected path, offset, limit");
        assertThat(error(read.run(json("[\"four.txt\"]"), ctx)).content()).isEqualTo("arguments must be a JSON object");
        assertThat(error(ToolHarness.tool("edit").run(
                json("{\"path\":\"four.txt\",\"old\":\"l1\",\"new\":\"x\",\"all\":\"yes\"}"), ctx)).content())
                .isEqualTo("argument 'all' must be true or false");
        assertThat(error(ToolHarness.tool("write").run(json("{\"path\":\"x\"}"), ctx)).content())
                .isEqualTo("missing argument 'content' (a string)");
        assertThat(error(ToolHarness.tool("write").run(json("{\"path\":\"x\",\"content\":{}}"), ctx)).content())
                .isEqualTo("argument 'content' must be a string");
        assertThat(error(ToolHarness.tool("grep").run(json("{\"pattern\":[]}"), ctx)).content())
                .isEqualTo("argument 'pattern' must be a string");
        assertThat(error(ToolHarness.tool("glob").run(json("{\"pattern\":\"*\",\"path\":true}"), ctx)).content())
                .isEqualTo("argument 'path' must be a string");
        assertThat(Files.exists(ws.resolve("x"))).isFalse();
    }

    @Test
    void noToolThrowsOnJunkArguments() throws Exception {
        var ctx = context(ws);
        List<String> junk = List.of("null", "1", "\"s\"", "[]", "{}", "{\"path\":null}", "{\"path\":\"\\n\"}",
                "{\"path\":\"..\"}", "{\"path\":\"~\"}", "{\"path\":\"src/\"}", "{\"pattern\":\"\"}",
                "{\"pattern\":\"[\"}", "{\"pattern\":\"{a,{b}}\"}", "{\"path\":\"four.txt\",\"old\":\"\",\"new\":\"\"}");
        for (AgentTool tool : FileTools.all()) {
            for (String j : junk) {
                ToolResult r = tool.run(j.equals("null") ? null : json(j), ctx);
                assertThat(r).as(tool.name() + " " + j).isNotNull();
                assertThat(r.content()).as(tool.name() + " " + j).isNotBlank();
            }
            assertThat(tool.run(TextNode.valueOf("x"), ctx).error()).isTrue();
        }
        assertThat(Files.readString(ws.resolve("four.txt"))).isEqualTo("l1\nl2\nl3\nl4\n");
    }

    // ---- read ----

    @Test
    void readsWholeFilesAndLineRanges() throws Exception {
        assertThat(ok(run(ws, "read", "path", "four.txt")).content()).isEqualTo("l1\nl2\nl3\nl4\n");
        assertThat(ok(run(ws, "read", "path", "four.txt", "offset", 2, "limit", 2)).content()).isEqualTo("l2\nl3\n");
        assertThat(ok(run(ws, "read", "path", "four.txt", "offset", 3)).content()).isEqualTo("l3\nl4\n");
        assertThat(ok(run(ws, "read", "path", "four.txt", "limit", 1)).content()).isEqualTo("l1\n");
        assertThat(ok(run(ws, "read", "path", "four.txt", "offset", 4, "limit", 100)).content()).isEqualTo("l4\n");
        assertThat(error(run(ws, "read", "path", "four.txt", "offset", 5)).content())
                .isEqualTo("offset 5 is past the end of 'four.txt' (4 lines)");
        assertThat(ok(run(ws, "read", "path", "./src/../four.txt")).content()).isEqualTo("l1\nl2\nl3\nl4\n");
    }

    @Test
    void readRefusesMissingFilesAndDirectoriesAndReportsEmptyFiles() throws Exception {
        Files.writeString(ws.resolve("empty.txt"), "");
        assertThat(ok(run(ws, "read", "path", "empty.txt")).content()).isEqualTo("(empty file)");
        assertThat(error(run(ws, "read", "path", "nope.txt")).content()).isEqualTo("'nope.txt' does not exist");
        assertThat(error(run(ws, "read", "path", "src")).content()).isEqualTo("'src' is a directory; use list");
    }

    @Test
    void readCutsLongOutputAtALineEndAndSaysHowToGoOn() throws Exception {
        String line = "x".repeat(49) + "\n";                  // 50 bytes
        Files.writeString(ws.resolve("long.txt"), line.repeat(100)); // 5000 bytes
        // 1000-byte cap keeps 160 bytes for the note: 840 bytes -> 16 whole lines
        ToolResult r = ok(run(context(ws, 1000, Duration.ofSeconds(10)), "read", "path", "long.txt"));
        assertThat(r.content()).isEqualTo(line.repeat(16) + "[truncated: 4200 more bytes; use offset/limit, next offset 17]");
        assertThat(r.content().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(1000);
        ToolResult next = ok(run(context(ws, 1000, Duration.ofSeconds(10)), "read", "path", "long.txt", "offset", 17, "limit", 3));
        assertThat(next.content()).isEqualTo(line.repeat(3));
    }

    @Test
    void readCutsAnOverlongLineOnACharacterBoundary() throws Exception {
        Files.writeString(ws.resolve("wide.txt"), "é".repeat(1000)); // 2000 bytes, one line
        // 1001-byte cap: 841 bytes of room, which would split an 'é'; 840 are kept
        ToolResult r = ok(run(context(ws, 1001, Duration.ofSeconds(10)), "read", "path", "wide.txt"));
        assertThat(r.content()).isEqualTo("é".repeat(420) + "\n[truncated: 1160 more bytes; use offset/limit]");
        assertThat(r.content()).doesNotContain("\uFFFD");
    }

    @Test
    void readReturnsLargeFilesWholeWhenTheCapAllows() throws Exception {
        String big = "0123456789abcdef\n".repeat(20_000); // 340,000 bytes
        Files.writeString(ws.resolve("big.txt"), big);
        assertThat(ok(run(context(ws, 1 << 20, Duration.ofSeconds(10)), "read", "path", "big.txt")).content()).isEqualTo(big);
    }

    @Test
    void readRefusesBinaryFiles() throws Exception {
        Files.write(ws.resolve("blob.bin"), new byte[] {'P', 'K', 3, 4, 0, 0, 1});
        assertThat(error(run(ws, "read", "path", "blob.bin")).content()).isEqualTo("'blob.bin' is a binary file");
        byte[] lateNul = new byte[ReadTool.BINARY_PROBE + 10];
        java.util.Arrays.fill(lateNul, (byte) 'a');
        lateNul[ReadTool.BINARY_PROBE + 5] = 0;
        Files.write(ws.resolve("late.txt"), lateNul);
        assertThat(ok(run(ws, "read", "path", "late.txt")).content()).startsWith("aaaa");
    }

    // ---- write ----

    @Test
    void writeCreatesParentsAndReportsBytes() throws Exception {
        assertThat(ok(run(ws, "write", "path", "a/b/c.txt", "content", "hello")).content())
                .isEqualTo("wrote 5 bytes to a/b/c.txt");
        assertThat(Files.readString(ws.resolve("a/b/c.txt"))).isEqualTo("hello");
        assertThat(ok(run(ws, "write", "path", "a/b/c.txt", "content", "é")).content()).isEqualTo("wrote 2 bytes to a/b/c.txt");
        assertThat(Files.readString(ws.resolve("a/b/c.txt"))).isEqualTo("é");
        try (var files = Files.list(ws.resolve("a/b"))) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("c.txt");
        }
        assertThat(ok(run(ws, "write", "path", "empty.txt", "content", "")).content()).isEqualTo("wrote 0 bytes to empty.txt");
        assertThat(Files.size(ws.resolve("empty.txt"))).isZero();
    }

    @Test
    void writeThroughASymlinkInsideUpdatesItsTargetAndKeepsTheLink() throws Exception {
        Files.createSymbolicLink(ws.resolve("alias.txt"), Path.of("four.txt"));
        assertThat(ok(run(ws, "write", "path", "alias.txt", "content", "new\n")).content())
                .isEqualTo("wrote 4 bytes to alias.txt");
        assertThat(Files.readString(ws.resolve("four.txt"))).isEqualTo("new\n");
        assertThat(Files.isSymbolicLink(ws.resolve("alias.txt"))).isTrue();
    }

    @Test
    void writeRefusesDirectoriesAndPathsThroughFiles() throws Exception {
        assertThat(error(run(ws, "write", "path", "src", "content", "x")).content()).isEqualTo("'src' is a directory");
        assertThat(error(run(ws, "write", "path", "four.txt/x", "content", "x")).content())
                .isEqualTo("'four.txt' is not a directory");
    }

    /**
     * Regression (found from outside): a model wrote "secret CR ESC[2K readme.txt", whose approval showed on an operator's
     * terminal as "readme.txt". A new name may hold nothing a reader cannot see for what it is.
     */
    @Test
    void writeRefusesNamesWithControlFormatOrInvisibleCharacters() throws Exception {
        for (String name : List.of("secret\r\u001b[2Kreadme.txt", "e\u001b[32mgreen.txt", "invoice\u202egpj.exe",
                "a\u200bb.txt", "dir\u0007/x.txt", "tab\tname", "line\nbreak")) {
            assertThat(error(run(ws, "write", "path", name, "content", "x")).content()).as(name)
                    .startsWith("path has a control, format or other invisible character");
            assertThat(error(run(ws, "edit", "path", name, "old", "x", "new", "y")).content()).as(name).isNotEmpty();
        }
        try (var files = Files.list(ws)) {
            assertThat(files.map(p -> p.getFileName().toString())).allMatch(n -> n.codePoints().noneMatch(Character::isISOControl));
        }
        assertThat(ok(run(ws, "write", "path", "café/東京.txt", "content", "x")).content()).contains("café/東京.txt");
    }

    // ---- edit ----

    @Test
    void editReplacesAUniqueOccurrence() throws Exception {
        assertThat(ok(run(ws, "edit", "path", "four.txt", "old", "l2\n", "new", "two\n")).content())
                .isEqualTo("replaced 1 occurrence in four.txt");
        assertThat(Files.readString(ws.resolve("four.txt"))).isEqualTo("l1\ntwo\nl3\nl4\n");
    }

    @Test
    void editRefusesMissingAndAmbiguousTextUnlessAll() throws Exception {
        byte[] before = Files.readAllBytes(ws.resolve("four.txt"));
        assertThat(error(run(ws, "edit", "path", "four.txt", "old", "l9", "new", "x")).content())
                .isEqualTo("'old' text not found in 'four.txt'");
        assertThat(error(run(ws, "edit", "path", "four.txt", "old", "l", "new", "L")).content())
                .startsWith("'old' text found 4 times in 'four.txt'");
        assertThat(error(run(ws, "edit", "path", "four.txt", "old", "", "new", "x")).content())
                .isEqualTo("argument 'old' must not be empty");
        assertThat(Files.readAllBytes(ws.resolve("four.txt"))).isEqualTo(before);
        assertThat(ok(run(ws, "edit", "path", "four.txt", "old", "l", "new", "L", "all", true)).content())
                .isEqualTo("replaced 4 occurrences in four.txt");
        assertThat(Files.readString(ws.resolve("four.txt"))).isEqualTo("L1\nL2\nL3\nL4\n");
    }

    @Test
    void editRefusesBinaryAndNonUtf8Files() throws Exception {
        Files.write(ws.resolve("blob.bin"), new byte[] {'a', 0, 'b'});
        Files.write(ws.resolve("latin1.txt"), new byte[] {'c', 'a', 'f', (byte) 0xE9, '\n'});
        assertThat(error(run(ws, "edit", "path", "blob.bin", "old", "a", "new", "b")).content()).contains("binary file");
        assertThat(error(run(ws, "edit", "path", "latin1.txt", "old", "caf", "new", "x")).content())
                .contains("not valid UTF-8");
        assertThat(Files.readAllBytes(ws.resolve("latin1.txt"))).containsExactly('c', 'a', 'f', (byte) 0xE9, '\n');
    }

    // ---- list ----

    @Test
    void listsSortedWithDirectorySlashes() throws Exception {
        Files.createSymbolicLink(ws.resolve("alias"), Path.of("src/main"));
        assertThat(ok(run(ws, "list")).content()).isEqualTo("alias@ -> src/main/\nfour.txt\nsrc/");
        assertThat(ok(run(ws, "list", "path", "src")).content()).isEqualTo("main/\nnotes.txt");
        assertThat(ok(run(ws, "list", "path", "alias")).content()).isEqualTo("App.java");
        Files.createDirectory(ws.resolve("void"));
        assertThat(ok(run(ws, "list", "path", "void")).content()).isEqualTo("(empty directory)");
        assertThat(error(run(ws, "list", "path", "four.txt")).content()).isEqualTo("'four.txt' is not a directory");
    }

    @Test
    void listIsCapped() throws Exception {
        Path many = Files.createDirectory(ws.resolve("many"));
        for (int i = 0; i < ListTool.MAX_ENTRIES + 100; i++) Files.createFile(many.resolve(String.format("f%05d", i)));
        ToolResult r = ok(run(context(ws, 1 << 20, Duration.ofSeconds(10)), "list", "path", "many"));
        List<String> lines = r.content().lines().toList();
        assertThat(lines).hasSize(ListTool.MAX_ENTRIES + 1);
        assertThat(lines.get(0)).isEqualTo("f00000");
        assertThat(lines.get(lines.size() - 1)).isEqualTo("[truncated: 100 more entries]");
    }

    // ---- glob ----

    @Test
    void globMatchesRelativeToItsBase() throws Exception {
        assertThat(ok(run(ws, "glob", "pattern", "**/*.java")).content()).isEqualTo("src/main/App.java");
        assertThat(ok(run(ws, "glob", "pattern", "*.txt")).content()).isEqualTo("four.txt");
        assertThat(ok(run(ws, "glob", "pattern", "**/*.txt")).content()).isEqualTo("four.txt\nsrc/notes.txt");
        assertThat(ok(run(ws, "glob", "pattern", "*", "path", "src")).content()).isEqualTo("src/main/\nsrc/notes.txt");
        assertThat(ok(run(ws, "glob", "pattern", "{four,notes}.t?t", "path", ".")).content()).isEqualTo("four.txt");
        assertThat(ok(run(ws, "glob", "pattern", "src/[lm]ain/*")).content()).isEqualTo("src/main/App.java");
        assertThat(ok(run(ws, "glob", "pattern", "*.rs")).content()).isEqualTo("no matches");
        assertThat(error(run(ws, "glob", "pattern", "[abc")).content()).contains("unclosed [");
        assertThat(error(run(ws, "glob", "pattern", "/etc/*")).content()).isEqualTo(
                "argument 'pattern' must be relative (it is matched below path)");
        assertThat(error(run(ws, "glob", "pattern", "*", "path", "four.txt")).content())
                .isEqualTo("'four.txt' is not a directory");
    }

    @Test
    void globIsCapped() throws Exception {
        Path many = Files.createDirectory(ws.resolve("many"));
        for (int i = 0; i < GlobTool.MAX_RESULTS + 50; i++) Files.createFile(many.resolve(String.format("f%05d.txt", i)));
        ToolResult r = ok(run(context(ws, 1 << 20, Duration.ofSeconds(10)), "glob", "pattern", "many/*.txt"));
        List<String> lines = r.content().lines().toList();
        assertThat(lines).hasSize(GlobTool.MAX_RESULTS + 1);
        assertThat(lines.get(lines.size() - 1)).startsWith("[truncated: more than 1000 matches");
    }

    @Test
    void aHostileGlobFailsFastInsteadOfHanging() throws Exception {
        Files.createFile(ws.resolve("a".repeat(200)));
        long start = System.nanoTime();
        ToolResult r = run(ws, "glob", "pattern", "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertThat(error(r).content()).contains("too costly");
        assertThat(ms).isLessThan(2000);
    }

    // ---- grep ----

    @Test
    void grepPrintsPathLineAndText() throws Exception {
        assertThat(ok(run(ws, "grep", "pattern", "foo\\(")).content()).isEqualTo("src/main/App.java:2:   void run() { foo(); }");
        assertThat(ok(run(ws, "grep", "pattern", "foo")).content())
                .isEqualTo("src/main/App.java:2:   void run() { foo(); }\nsrc/notes.txt:1: foo in notes");
        assertThat(ok(run(ws, "grep", "pattern", "foo", "glob", "*.txt")).content()).isEqualTo("src/notes.txt:1: foo in notes");
        assertThat(ok(run(ws, "grep", "pattern", "foo", "glob", "src/main/**")).content())
                .isEqualTo("src/main/App.java:2:   void run() { foo(); }");
        assertThat(ok(run(ws, "grep", "pattern", "^l[23]$", "path", "four.txt")).content())
                .isEqualTo("four.txt:2: l2\nfour.txt:3: l3");
        assertThat(ok(run(ws, "grep", "pattern", "(?i)CLASS", "path", "src")).content())
                .isEqualTo("src/main/App.java:1: class App {");
        assertThat(ok(run(ws, "grep", "pattern", "zzz")).content()).isEqualTo("no matches");
    }

    @Test
    void grepReportsBadRegexesAndSkipsBinaryFiles() throws Exception {
        assertThat(error(run(ws, "grep", "pattern", "foo(")).content()).startsWith("argument 'pattern' is not a valid Java regex");
        Files.write(ws.resolve("blob.bin"), new byte[] {'f', 'o', 'o', 0});
        assertThat(ok(run(ws, "grep", "pattern", "foo", "glob", "*.bin")).content())
                .isEqualTo("no matches\n[skipped: 1 binary, 0 over 16777216 bytes, 0 hard-linked or unreadable]");
        assertThat(error(run(ws, "grep", "pattern", "foo", "path", "blob.bin")).content()).isEqualTo("'blob.bin' is a binary file");
    }

    @Test
    void grepIsCapped() throws Exception {
        Files.writeString(ws.resolve("hits.txt"), "hit\n".repeat(GrepTool.MAX_MATCHES + 100));
        ToolResult r = ok(run(context(ws, 1 << 20, Duration.ofSeconds(10)), "grep", "pattern", "hit", "path", "hits.txt"));
        List<String> lines = r.content().lines().toList();
        assertThat(lines).hasSize(GrepTool.MAX_MATCHES + 1);
        assertThat(lines.get(GrepTool.MAX_MATCHES - 1)).isEqualTo("hits.txt:500: hit");
        assertThat(lines.get(GrepTool.MAX_MATCHES)).startsWith("[truncated: more than 500 matches");
    }

    @Test
    void grepOutputStaysUnderTheByteCap() throws Exception {
        Files.writeString(ws.resolve("hits.txt"), IntStream.range(0, 400).mapToObj(i -> "hit " + i)
                .collect(Collectors.joining("\n")));
        ToolResult r = ok(run(context(ws, 2000, Duration.ofSeconds(10)), "grep", "pattern", "hit"));
        assertThat(r.content().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(2000);
        assertThat(r.content()).endsWith("matches; narrow the pattern or path]");
    }

    @Test
    void catastrophicBacktrackingIsStoppedByTheTimeBudget() throws Exception {
        Files.writeString(ws.resolve("evil.txt"), "a".repeat(50_000) + "b\n");
        Files.writeString(ws.resolve("evil2.txt"), "a".repeat(40) + "b\n");
        for (String[] c : new String[][] {{"(a+)+$", "evil.txt"}, {"(.*a){12}$", "evil2.txt"}, {"(a+)+b\\1", "evil2.txt"}}) {
            long start = System.nanoTime();
            ToolResult r = run(context(ws, 64 * 1024, Duration.ofSeconds(30)), "grep", "pattern", c[0], "path", c[1]);
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertThat(error(r).content()).as(c[0]).contains("took over 1000 ms on line 1 of '" + c[1] + "'");
            assertThat(ms).as(c[0]).isLessThan(2000);
        }
    }

    @Test
    void anInterruptedGrepThrowsInterruptedException() throws Exception {
        Files.writeString(ws.resolve("evil.txt"), "a".repeat(50_000) + "b\n");
        var thrown = new java.util.concurrent.atomic.AtomicReference<Throwable>();
        Thread worker = new Thread(() -> {
            try {
                run(context(ws, 64 * 1024, Duration.ofSeconds(30)), "grep", "pattern", "(a+)+$", "path", "evil.txt");
            } catch (Throwable t) {
                thrown.set(t);
            }
        });
        worker.start();
        Thread.sleep(200);
        long start = System.nanoTime();
        worker.interrupt();
        worker.join(5000);
        assertThat(worker.isAlive()).isFalse();
        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(500);
        assertThat(thrown.get()).isInstanceOf(InterruptedException.class);
    }

    @Test
    void grepStopsAtTheCallTimeout() throws Exception {
        Path many = Files.createDirectory(ws.resolve("many"));
        for (int i = 0; i < 50; i++) Files.writeString(many.resolve("f" + i), ("a".repeat(3000) + "b\n").repeat(3));
        long start = System.nanoTime();
        // each line costs ~200 ms of backtracking, under the per-line budget: the call's own timeout stops it
        ToolResult r = run(context(ws, 64 * 1024, Duration.ofMillis(700)), "grep", "pattern", "(a+)+$", "path", "many");
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertThat(r.content()).contains("[stopped: time limit; results are incomplete]");
        assertThat(ms).isLessThan(2500);
    }
}
