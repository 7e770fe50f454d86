package dev.carapace.guard.sandbox;

import dev.carapace.testing.SandboxDirs;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Handing a workspace to the sandbox user (a root gateway's start-up): nothing outside it changes hands. */
class WorkspaceOwnerTest {

    private static final SandboxUser USER = new SandboxUser(4321, 4322);

    @TempDir
    Path dir;

    private static int uid(Path p) throws Exception {
        return (int) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    @Test
    void theTreeIsGivenWithoutFollowingLinksOrHardLinksOrHiddenPaths() throws Exception {
        Assumptions.assumeTrue(SandboxDirs.root(), "only root can give files away");
        SandboxDirs.searchable(dir);
        Path outside = Files.writeString(dir.resolve("host-file"), "the host's");
        Path ws = Files.createDirectories(dir.resolve("ws/sub"));
        Files.writeString(ws.resolve("mine.txt"), "x");
        Path link = Files.createSymbolicLink(ws.resolve("to-host"), outside);
        Path hard = Files.createLink(ws.resolve("hard"), outside);
        Path data = Files.createDirectories(dir.resolve("ws/data"));
        Files.writeString(data.resolve("db"), "gateway data");

        WorkspaceOwner.give(dir.resolve("ws"), USER, List.of(data));

        assertThat(uid(dir.resolve("ws"))).isEqualTo(4321);
        assertThat(uid(ws)).isEqualTo(4321);
        assertThat(uid(ws.resolve("mine.txt"))).isEqualTo(4321);
        assertThat(uid(link)).as("the link itself").isEqualTo(4321);
        assertThat(uid(outside)).as("what links and hard links lead to").isZero();
        assertThat(uid(hard)).isZero();
        assertThat(uid(data.resolve("db"))).as("the hidden data").isZero();
        assertThat(uid(data)).isZero();
        assertThat((int) Files.getAttribute(ws, "unix:gid")).isEqualTo(4322);
    }

    @Test
    void aParentTheUserCannotSearchIsNamed() throws Exception {
        Assumptions.assumeTrue(SandboxDirs.root(), "only root can give files away");
        // JUnit's folder is 0700 and root's: the sandbox user could not reach a workspace in it
        assertThatThrownBy(() -> WorkspaceOwner.give(dir.resolve("ws"), USER, List.of()))
                .isInstanceOf(SandboxUnavailableException.class)
                .hasMessageContaining("cannot reach workspace " + dir.resolve("ws"))
                .hasMessageContaining(dir + " does not let it search (chmod o+x " + dir);
    }
}
