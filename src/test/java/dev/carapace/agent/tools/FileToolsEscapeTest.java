package dev.carapace.agent.tools;

import dev.carapace.agent.ToolResult;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.carapace.agent.tools.ToolHarness.run;
import static dev.carapace.agent.tools.ToolHarness.snapshot;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every escape vector, against every file tool: the call is refused with a reason, leaks neither the secret nor a
 * real path outside the workspace, and leaves everything outside byte-for-byte unchanged.
 */
class FileToolsEscapeTest {

    private static final String SECRET = "TOPSECRET";
    private static final Path ETC = Path.of("/etc");

    @TempDir
    Path tmp;
    Path ws;
    Path outside;
    Map<String, String> outsideBefore;
    Map<String, String> workspaceBefore;
    byte[] hostnameBefore;

    @BeforeEach
    void setUp() throws IOException {
        ws = Files.createDirectory(tmp.resolve("ws"));
        outside = Files.createDirectory(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret.txt"), SECRET + "\n");
        Files.createDirectory(outside.resolve("dir"));
        Files.writeString(outside.resolve("dir/inner.txt"), SECRET + " inner\n");

        Files.writeString(ws.resolve("normal.txt"), "hello\n");
        Files.createDirectory(ws.resolve("sub"));
        Files.writeString(ws.resolve("sub/inner.txt"), "inside\n");
        Files.createSymbolicLink(ws.resolve("sub/up"), Path.of(".."));                     // inside -> inside (root)
        Files.createSymbolicLink(ws.resolve("linkdir"), outside);                           // dir -> outside
        Files.createSymbolicLink(ws.resolve("linkfile"), outside.resolve("secret.txt"));   // file -> outside
        Files.createSymbolicLink(ws.resolve("rellink"), Path.of("../outside/secret.txt")); // relative, -> outside
        Files.createSymbolicLink(ws.resolve("proc"), Path.of("/proc/self/root/etc"));
        Files.createSymbolicLink(ws.resolve("prochost"), Path.of("/proc/self/root/etc/hostname"));
        Files.createLink(ws.resolve("hard.txt"), outside.resolve("secret.txt"));            // hard link to outside
        Files.createSymbolicLink(ws.resolve("dangling"), outside.resolve("created-by-attack.txt"));
        Files.createSymbolicLink(ws.resolve("loop1"), ws.resolve("loop2"));
        Files.createSymbolicLink(ws.resolve("loop2"), ws.resolve("loop1"));

        outsideBefore = snapshot(outside);
        workspaceBefore = snapshot(ws);
        hostnameBefore = Files.exists(ETC.resolve("hostname")) ? Files.readAllBytes(ETC.resolve("hostname")) : null;
    }

    /** id, path (ABS = an absolute path to the secret), what the refusal must say. */
    static final List<String[]> VECTORS = List.of(
            new String[] {"dotdot", "../outside/secret.txt", "path escapes the workspace"},
            new String[] {"nested-dotdot", "sub/../../outside/secret.txt", "path escapes the workspace"},
            new String[] {"dotdot-after-inside-symlink", "sub/up/../outside/secret.txt", "path escapes the workspace"},
            new String[] {"absolute-outside", "ABS", "absolute paths are not allowed"},
            new String[] {"etc-passwd", "/etc/passwd", "absolute paths are not allowed"},
            new String[] {"proc-self-root", "/proc/self/root/etc/hostname", "absolute paths are not allowed"},
            new String[] {"symlink-dir", "linkdir", "'linkdir' is a symlink to outside the workspace"},
            new String[] {"through-symlink-dir", "linkdir/secret.txt", "'linkdir' is a symlink to outside the workspace"},
            new String[] {"new-file-in-symlink-dir", "linkdir/new.txt", "'linkdir' is a symlink to outside the workspace"},
            new String[] {"deep-in-symlink-dir", "linkdir/dir/inner.txt", "'linkdir' is a symlink to outside the workspace"},
            new String[] {"symlink-file", "linkfile", "'linkfile' is a symlink to outside the workspace"},
            new String[] {"relative-symlink-file", "rellink", "'rellink' is a symlink to outside the workspace"},
            new String[] {"symlink-to-proc-root-dir", "proc/hostname", "'proc' is a symlink to outside the workspace"},
            new String[] {"new-file-via-proc-root", "proc/carapace-probe.txt", "'proc' is a symlink to outside the workspace"},
            new String[] {"symlink-to-proc-root-file", "prochost", "'prochost' is a symlink to outside the workspace"},
            new String[] {"hard-link", "hard.txt", "'hard.txt' has other hard links"},
            new String[] {"dangling-symlink-out", "dangling", "'dangling' is a symlink to outside the workspace"},
            new String[] {"symlink-loop", "loop1", "'loop1' is a symlink loop"},
            new String[] {"through-symlink-loop", "loop1/x", "'loop1' is a symlink loop"},
            new String[] {"empty", "", "path is empty"},
            new String[] {"nul-byte", "normal.txt\u0000../../etc/passwd", "NUL byte"},
            new String[] {"too-long", "a/".repeat(2100), "longer than 4096"});

    static Stream<Arguments> cases() {
        List<Arguments> all = new ArrayList<>();
        for (String tool : List.of("read", "write", "edit", "list", "glob", "grep")) {
            for (String[] v : VECTORS) all.add(Arguments.of(tool, v[0], v[1], v[2]));
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} refuses {1}")
    @MethodSource("cases")
    void refused(String tool, String id, String path, String reason) throws Exception {
        String p = path.equals("ABS") ? outside.resolve("secret.txt").toString() : path;
        ToolResult r = switch (tool) {
            case "read" -> run(ws, "read", "path", p);
            case "write" -> run(ws, "write", "path", p, "content", "PWNED");
            case "edit" -> run(ws, "edit", "path", p, "old", SECRET, "new", "PWNED");
            case "list" -> run(ws, "list", "path", p);
            case "glob" -> run(ws, "glob", "pattern", "**", "path", p);
            case "grep" -> run(ws, "grep", "pattern", SECRET, "path", p);
            default -> throw new IllegalArgumentException(tool);
        };
        assertThat(r.error()).as(r.content()).isTrue();
        assertThat(r.content()).contains(reason);
        assertThat(r.content()).doesNotContain(SECRET)
                .doesNotContain(outside.toString()).doesNotContain(tmp.toString());
        assertNothingChanged();
    }

    private void assertNothingChanged() throws IOException {
        assertThat(snapshot(outside)).isEqualTo(outsideBefore);
        assertThat(snapshot(ws)).isEqualTo(workspaceBefore);
        assertThat(Files.exists(outside.resolve("created-by-attack.txt"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(Files.exists(ETC.resolve("carapace-probe.txt"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        if (hostnameBefore != null) assertThat(Files.readAllBytes(ETC.resolve("hostname"))).isEqualTo(hostnameBefore);
    }

    @Test
    void globFromTheRootDoesNotDescendIntoSymlinks() throws Exception {
        ToolResult r = run(ws, "glob", "pattern", "**");
        assertThat(r.error()).as(r.content()).isFalse();
        List<String> lines = r.content().lines().toList();
        assertThat(lines).contains("linkdir", "proc", "hard.txt", "sub/", "sub/inner.txt", "sub/up");
        assertThat(lines).noneMatch(l -> l.startsWith("linkdir/") || l.startsWith("proc/") || l.startsWith("sub/up/")
                || l.startsWith("loop1/"));
        assertThat(r.content()).doesNotContain("secret.txt").doesNotContain("hostname").doesNotContain(outside.toString());
    }

    @Test
    void grepFromTheRootFindsNothingOutside() throws Exception {
        ToolResult r = run(ws, "grep", "pattern", SECRET);
        assertThat(r.error()).as(r.content()).isFalse();
        assertThat(r.content()).startsWith("no matches").doesNotContain(SECRET + " ").doesNotContain(SECRET + "\n")
                .contains("1 hard-linked or unreadable");
        ToolResult any = run(ws, "grep", "pattern", ".", "glob", "*");
        assertThat(any.content()).contains("normal.txt:1: hello").contains("sub/inner.txt:1: inside")
                .doesNotContain(SECRET).doesNotContain("hard.txt:");
        assertNothingChanged();
    }

    @Test
    void listShowsLinksWithoutSayingWhereOutsideTheyGo() throws Exception {
        Files.createSymbolicLink(ws.resolve("alias"), Path.of("sub/inner.txt"));
        ToolResult r = run(ws, "list");
        assertThat(r.error()).as(r.content()).isFalse();
        assertThat(r.content().lines().toList()).contains("alias@ -> sub/inner.txt", "linkdir@ -> (link)",
                "linkfile@ -> (link)", "rellink@ -> (link)", "proc@ -> (link)", "prochost@ -> (link)",
                "dangling@ -> (link)", "loop1@ -> (link)", "hard.txt", "sub/");
        assertThat(r.content()).doesNotContain(outside.toString()).doesNotContain("/etc").doesNotContain("outside");
        ToolResult inner = run(ws, "list", "path", "sub");
        assertThat(inner.content().lines().toList()).contains("up@ -> ./", "inner.txt");
    }

    @Test
    void insideSymlinkPointingInsideIsUsable() throws Exception {
        // sub/up -> .. (the root): reading and writing through it stays inside.
        assertThat(run(ws, "read", "path", "sub/up/normal.txt").content()).isEqualTo("hello\n");
        ToolResult w = run(ws, "write", "path", "sub/up/sub/made.txt", "content", "x");
        assertThat(w.error()).as(w.content()).isFalse();
        assertThat(Files.readString(ws.resolve("sub/made.txt"))).isEqualTo("x");
        assertThat(snapshot(outside)).isEqualTo(outsideBefore);
    }

    @Test
    void writingThroughADanglingSymlinkToOutsideCreatesNothing() throws Exception {
        ToolResult r = run(ws, "write", "path", "dangling", "content", "PWNED");
        assertThat(r.error()).isTrue();
        assertThat(Files.exists(outside.resolve("created-by-attack.txt"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(Files.isSymbolicLink(ws.resolve("dangling"))).isTrue();
    }
}
