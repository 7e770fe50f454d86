package dev.carapace.agent.tools;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.carapace.agent.tools.ToolHarness.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

/** Path resolution rules, and the descriptor-based I/O that keeps them true when the tree changes underneath. */
class WorkspaceTest {

    @TempDir
    Path tmp;
    Path ws;
    Path outside;
    Workspace workspace;
    Map<String, String> outsideBefore;

    @BeforeEach
    void setUp() throws IOException {
        ws = Files.createDirectory(tmp.resolve("ws")).toRealPath();
        outside = Files.createDirectory(tmp.resolve("outside")).toRealPath();
        Files.writeString(outside.resolve("secret.txt"), "TOPSECRET\n");
        Files.createDirectory(outside.resolve("sub"));
        Files.writeString(outside.resolve("sub/inner.txt"), "TOPSECRET inner\n");
        Files.writeString(ws.resolve("normal.txt"), "hello\n");
        Files.createDirectory(ws.resolve("sub"));
        Files.writeString(ws.resolve("sub/inner.txt"), "inside\n");
        workspace = new Workspace(ws);
        outsideBefore = snapshot(outside);
    }

    // ---- resolution ----

    @Test
    void resolvesOrdinaryPathsToRealPathsInside() throws Exception {
        assertThat(workspace.resolveForRead("normal.txt").real()).isEqualTo(ws.resolve("normal.txt"));
        assertThat(workspace.resolveForRead("./sub/./inner.txt").real()).isEqualTo(ws.resolve("sub/inner.txt"));
        assertThat(workspace.resolveForRead("sub/../normal.txt").real()).isEqualTo(ws.resolve("normal.txt"));
        assertThat(workspace.resolveForRead("sub//inner.txt").shown()).isEqualTo("sub/inner.txt");
        Workspace.Target root = workspace.resolveForRead(".");
        assertThat(root.real()).isEqualTo(ws);
        assertThat(root.shown()).isEqualTo(".");
        assertThat(workspace.relative(root.real())).isEqualTo(".");
    }

    @Test
    void rootGivenThroughASymlinkIsMadeReal() throws Exception {
        Path alias = Files.createSymbolicLink(tmp.resolve("alias"), ws);
        Workspace w = new Workspace(alias);
        assertThat(w.root()).isEqualTo(ws);
        assertThat(w.resolveForRead("normal.txt").real()).isEqualTo(ws.resolve("normal.txt"));
    }

    @Test
    void theFileSystemRootIsNotAWorkspace() {
        assertThatThrownBy(() -> new Workspace(Path.of("/"))).isInstanceOf(IOException.class);
    }

    @Test
    void newFilesResolveToTheRealPathOfTheirNearestExistingAncestor() throws Exception {
        Files.createSymbolicLink(ws.resolve("subalias"), Path.of("sub"));
        Workspace.Target t = workspace.resolveForWrite("subalias/new/deeper/file.txt");
        assertThat(t.exists()).isFalse();
        assertThat(t.real()).isEqualTo(ws.resolve("sub/new/deeper/file.txt"));
        assertThat(t.shown()).isEqualTo("subalias/new/deeper/file.txt");
    }

    @Test
    void refusesDotAndDotDotAfterANameThatDoesNotExist() {
        assertThatThrownBy(() -> workspace.resolveForWrite("new/../normal.txt"))
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("'..' after 'new', which does not exist");
        assertThatThrownBy(() -> workspace.resolveForWrite("new/./x"))
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("'.' after 'new'");
    }

    @Test
    void symlinksInsidePointingInsideAreFollowedEvenWhenAbsolute() throws Exception {
        Files.createSymbolicLink(ws.resolve("rel"), Path.of("sub/inner.txt"));
        Files.createSymbolicLink(ws.resolve("abs"), ws.resolve("sub/inner.txt"));
        Files.createSymbolicLink(ws.resolve("chain"), Path.of("rel"));
        for (String link : new String[] {"rel", "abs", "chain"}) {
            assertThat(workspace.resolveForRead(link).real()).as(link).isEqualTo(ws.resolve("sub/inner.txt"));
            assertThat(workspace.resolveForWrite(link).real()).as(link).isEqualTo(ws.resolve("sub/inner.txt"));
        }
    }

    @Test
    void symlinkInsideThatReachesOutsideThroughAnotherSymlinkIsRefused() throws Exception {
        Files.createSymbolicLink(ws.resolve("out"), outside);
        Files.createSymbolicLink(ws.resolve("inner"), Path.of("out/secret.txt"));
        assertThatThrownBy(() -> workspace.resolveForRead("inner"))
                .isInstanceOf(WorkspaceException.class)
                .hasMessage("'inner' is a symlink to outside the workspace");
    }

    @Test
    void danglingSymlinkInsideIsRefusedToo() throws Exception {
        Files.createSymbolicLink(ws.resolve("ghost"), Path.of("nowhere.txt"));
        assertThatThrownBy(() -> workspace.resolveForWrite("ghost"))
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("'ghost' is a dangling symlink");
        assertThat(Files.exists(ws.resolve("nowhere.txt"))).isFalse();
    }

    @Test
    void refusesAPathThroughAFile() {
        assertThatThrownBy(() -> workspace.resolveForWrite("normal.txt/x"))
                .isInstanceOf(WorkspaceException.class).hasMessage("'normal.txt' is not a directory");
    }

    @Test
    void refusesDirectoriesForWritingAndMissingFilesForReading() {
        assertThatThrownBy(() -> workspace.resolveForWrite("sub"))
                .isInstanceOf(WorkspaceException.class).hasMessage("'sub' is a directory");
        assertThatThrownBy(() -> workspace.resolveForRead("missing.txt"))
                .isInstanceOf(WorkspaceException.class).hasMessage("'missing.txt' does not exist");
    }

    @Test
    void refusesAHardLinkInsideTheWorkspaceToo() throws Exception {
        // Even when both names are inside: from one name you cannot tell where the other is.
        Files.createLink(ws.resolve("twin.txt"), ws.resolve("normal.txt"));
        assertThatThrownBy(() -> workspace.resolveForRead("normal.txt"))
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("has other hard links");
        assertThatThrownBy(() -> workspace.resolveForWrite("twin.txt"))
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("has other hard links");
    }

    @Test
    void refusesFifos() throws Exception {
        Process p = new ProcessBuilder("mkfifo", ws.resolve("pipe").toString()).start();
        assumeThat(p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0).as("mkfifo available").isTrue();
        assertThatThrownBy(() -> workspace.resolveForRead("pipe"))
                .isInstanceOf(WorkspaceException.class).hasMessage("'pipe' is not a regular file");
    }

    @Test
    void pathLengthLimitIsExact() {
        assertThatThrownBy(() -> workspace.resolveForRead("a".repeat(Workspace.MAX_PATH_CHARS + 1)))
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("longer than 4096");
        // 4096 characters pass the length rule (and then fail for what they are)
        assertThatThrownBy(() -> workspace.resolveForRead("a/".repeat(Workspace.MAX_PATH_CHARS / 2)))
                .isInstanceOf(WorkspaceException.class).hasMessageEndingWith("...' does not exist");
    }

    // ---- confined I/O when the tree changes after resolution (TOCTOU) ----

    @Test
    void writeRefusesWhenAParentDirectoryBecomesASymlinkToOutsideAfterResolution() throws Exception {
        Workspace.Target t = workspace.resolveForWrite("sub/inner.txt");
        Files.move(ws.resolve("sub"), ws.resolve("sub-old"));
        Files.createSymbolicLink(ws.resolve("sub"), outside.resolve("sub"));
        assertThatThrownBy(() -> workspace.writeAtomically(t, "PWNED".getBytes(), null))
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("changed while being opened");
        assertThat(snapshot(outside)).isEqualTo(outsideBefore);
    }

    @Test
    void writeOfANewFileRefusesWhenItsDirectoryBecomesASymlinkToOutside() throws Exception {
        Workspace.Target t = workspace.resolveForWrite("sub/new.txt");
        Files.move(ws.resolve("sub"), ws.resolve("sub-old"));
        Files.createSymbolicLink(ws.resolve("sub"), outside.resolve("sub"));
        assertThatThrownBy(() -> workspace.writeAtomically(t, "PWNED".getBytes(), null))
                .isInstanceOf(WorkspaceException.class);
        assertThat(snapshot(outside)).isEqualTo(outsideBefore);
    }

    @Test
    void writeRefusesWhenTheFileBecomesAHardLinkToOutsideAfterResolution() throws Exception {
        Workspace.Target t = workspace.resolveForWrite("normal.txt");
        Files.delete(ws.resolve("normal.txt"));
        Files.createLink(ws.resolve("normal.txt"), outside.resolve("secret.txt"));
        assertThatThrownBy(() -> workspace.writeAtomically(t, "PWNED".getBytes(), null))
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("has other hard links");
        assertThat(snapshot(outside)).isEqualTo(outsideBefore);
    }

    @Test
    void writeDoesNotFollowAFileThatBecameASymlinkAfterResolution() throws Exception {
        Workspace.Target t = workspace.resolveForWrite("normal.txt");
        Files.delete(ws.resolve("normal.txt"));
        Files.createSymbolicLink(ws.resolve("normal.txt"), outside.resolve("secret.txt"));
        assertThatThrownBy(() -> workspace.writeAtomically(t, "PWNED".getBytes(), null))
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("changed while being opened");
        assertThat(snapshot(outside)).isEqualTo(outsideBefore);
        assertThat(Files.isSymbolicLink(ws.resolve("normal.txt"))).isTrue();
    }

    @Test
    void readRefusesWhenTheFileBecomesASymlinkOrHardLinkToOutsideAfterResolution() throws Exception {
        Workspace.Target t = workspace.resolveForRead("normal.txt");
        Files.delete(ws.resolve("normal.txt"));
        Files.createSymbolicLink(ws.resolve("normal.txt"), outside.resolve("secret.txt"));
        assertThatThrownBy(() -> workspace.openRead(t).close())
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("changed while being opened");

        Files.delete(ws.resolve("normal.txt"));
        Files.createLink(ws.resolve("normal.txt"), outside.resolve("secret.txt"));
        assertThatThrownBy(() -> workspace.openRead(t).close())
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("has other hard links");
    }

    @Test
    void readRefusesWhenAParentDirectoryBecomesASymlinkToOutsideAfterResolution() throws Exception {
        Workspace.Target t = workspace.resolveForRead("sub/inner.txt");
        Files.move(ws.resolve("sub"), ws.resolve("sub-old"));
        Files.createSymbolicLink(ws.resolve("sub"), outside.resolve("sub"));
        assertThatThrownBy(() -> workspace.openRead(t).close())
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("changed while being opened");
    }

    @Test
    void openReadReadsTheResolvedFile() throws Exception {
        try (Workspace.OpenFile f = workspace.openRead(workspace.resolveForRead("sub/inner.txt"))) {
            assertThat(new String(Channels.newInputStream(f.channel()).readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("inside\n");
            assertThat(f.version().size()).isEqualTo(7);
        }
    }

    @Test
    void anEditRefusesToOverwriteAFileThatChangedSinceItWasRead() throws Exception {
        Workspace.Target t = workspace.resolveForRead("normal.txt");
        Workspace.Version version;
        try (Workspace.OpenFile f = workspace.openRead(t)) {
            version = f.version();
        }
        Files.writeString(ws.resolve("normal.txt"), "someone else wrote this\n");
        assertThatThrownBy(() -> workspace.writeAtomically(t, "mine".getBytes(), version))
                .isInstanceOf(WorkspaceException.class).hasMessageContaining("changed while being edited");
        assertThat(Files.readString(ws.resolve("normal.txt"))).isEqualTo("someone else wrote this\n");
    }

    @Test
    void atomicWriteLeavesNoTemporaryFilesAndKeepsPermissions() throws Exception {
        Files.setPosixFilePermissions(ws.resolve("normal.txt"), PosixFilePermissions.fromString("rwxr-x---"));
        workspace.writeAtomically(workspace.resolveForWrite("normal.txt"), "new\n".getBytes(), null);
        assertThat(Files.readString(ws.resolve("normal.txt"))).isEqualTo("new\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(ws.resolve("normal.txt"),
                LinkOption.NOFOLLOW_LINKS))).isEqualTo("rwxr-x---");
        try (var files = Files.list(ws)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("normal.txt", "sub");
        }
    }
}
