package dev.carapace.agent.tools;

import dev.carapace.agent.ToolResult;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

import static dev.carapace.agent.tools.ToolHarness.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * Files and directories the file tools create take the owner and group of the workspace root, so a sandbox running
 * as the workspace's (unprivileged) owner can change them while the gateway runs as root. Needs root to give
 * files away; elsewhere there is nothing to check.
 */
class FileOwnershipTest {

    private static final int NOBODY = 65534;

    @TempDir
    Path tmp;
    Path ws;

    @BeforeEach
    void setUp() throws IOException {
        assumeThat((int) Files.getAttribute(tmp, "unix:uid")).as("the test runs as root").isZero();
        ws = Files.createDirectory(tmp.resolve("ws")).toRealPath();
        Files.setAttribute(ws, "unix:uid", NOBODY);
        Files.setAttribute(ws, "unix:gid", NOBODY);
    }

    private static int uid(Path p) throws IOException {
        return (int) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    private static int gid(Path p) throws IOException {
        return (int) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
    }

    @Test
    void writeGivesNewFilesAndDirectoriesTheWorkspaceOwner() throws Exception {
        ToolResult r = run(ws, "write", "path", "new/deeper/f.txt", "content", "x");
        assertThat(r.error()).as(r.content()).isFalse();
        for (String p : new String[] {"new", "new/deeper", "new/deeper/f.txt"}) {
            assertThat(uid(ws.resolve(p))).as(p).isEqualTo(NOBODY);
            assertThat(gid(ws.resolve(p))).as(p).isEqualTo(NOBODY);
        }
    }

    @Test
    void editAndOverwriteKeepTheOwnerOfTheFileTheyReplace() throws Exception {
        Files.writeString(ws.resolve("mine.txt"), "hello\n");
        Files.setAttribute(ws.resolve("mine.txt"), "unix:uid", NOBODY);
        Files.setAttribute(ws.resolve("mine.txt"), "unix:gid", NOBODY);
        assertThat(run(ws, "edit", "path", "mine.txt", "old", "hello", "new", "bye").error()).isFalse();
        assertThat(Files.readString(ws.resolve("mine.txt"))).isEqualTo("bye\n");
        assertThat(uid(ws.resolve("mine.txt"))).isEqualTo(NOBODY);
        assertThat(gid(ws.resolve("mine.txt"))).isEqualTo(NOBODY);

        Files.writeString(ws.resolve("roots.txt"), "r\n");   // made by the gateway itself: stays its own
        assertThat(run(ws, "write", "path", "roots.txt", "content", "s").error()).isFalse();
        assertThat(uid(ws.resolve("roots.txt"))).isZero();
    }
}
