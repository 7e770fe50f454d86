package dev.carapace.schedule.heartbeat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfinedWorkspaceFilesTest {

    @TempDir
    Path dir;

    private ConfinedWorkspaceFiles files(Path workspace) {
        return new ConfinedWorkspaceFiles(agent -> agent.equals("a") ? workspace : null);
    }

    @Test
    void fingerprintsAFileByItsSha256AndSize() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("notes.md"), "hello");
        FileState state = files(ws).fingerprint("a", "notes.md");
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest("hello".getBytes(StandardCharsets.UTF_8)));
        assertThat(state).isEqualTo(FileState.of(expected, 5));
        assertThat(files(ws).fingerprint("a", "missing.md")).isEqualTo(FileState.absent());
        assertThat(files(ws).fingerprint("a", "no/such/dir.md")).isEqualTo(FileState.absent());
    }

    @Test
    void theHeadIsBoundedToOneByteMoreThanAsked() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("big.md"), "x".repeat(10_000));
        assertThat(files(ws).head("a", "big.md", 100)).hasSize(101);
        assertThat(files(ws).head("a", "missing.md", 100)).isNull();
    }

    @Test
    void dotDotAndAbsolutePathsAreRefusedByTheValidationEvenHere() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(dir.resolve("secret.txt"), "secret");
        assertThatThrownBy(() -> files(ws).fingerprint("a", "../secret.txt"))
                .isInstanceOf(IOException.class).hasMessageContaining("contains '..'");
        assertThatThrownBy(() -> files(ws).head("a", dir.resolve("secret.txt").toString(), 100))
                .isInstanceOf(IOException.class).hasMessageContaining("is absolute");
    }

    @Test
    void aSymlinkToOutsideTheWorkspaceIsRefused() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path secret = Files.writeString(dir.resolve("secret.txt"), "secret");
        Files.createSymbolicLink(ws.resolve("link.md"), secret);
        Files.createSymbolicLink(ws.resolve("outdir"), dir);
        assertThatThrownBy(() -> files(ws).head("a", "link.md", 100))
                .isInstanceOf(IOException.class).hasMessageContaining("symlink to outside the workspace");
        assertThatThrownBy(() -> files(ws).fingerprint("a", "outdir/secret.txt"))
                .isInstanceOf(IOException.class).hasMessageContaining("symlink to outside the workspace");
    }

    @Test
    void aSymlinkInsideTheWorkspaceIsFollowed() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("real.md"), "inside");
        Files.createSymbolicLink(ws.resolve("alias.md"), ws.resolve("real.md"));
        assertThat(new String(files(ws).head("a", "alias.md", 100), StandardCharsets.UTF_8)).isEqualTo("inside");
    }

    @Test
    void aHardLinkedFileAndADirectoryAreRefused() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path secret = Files.writeString(dir.resolve("secret.txt"), "secret");
        Files.createLink(ws.resolve("hard.md"), secret);
        Files.createDirectories(ws.resolve("sub"));
        assertThatThrownBy(() -> files(ws).head("a", "hard.md", 100)).hasMessageContaining("other hard links");
        assertThatThrownBy(() -> files(ws).fingerprint("a", "sub")).hasMessageContaining("not a regular file");
    }

    @Test
    void anAgentWithoutAWorkspaceIsAnIoError() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        assertThatThrownBy(() -> files(ws).fingerprint("other", "x.md")).isInstanceOf(IOException.class)
                .hasMessageContaining("has no workspace");
    }

    @Test
    void aFileOverTheHashBoundIsStillSeenToChangeAtItsEnd() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path log = ws.resolve("big.log");
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "rw")) {
            f.setLength(ConfinedWorkspaceFiles.MAX_HASHED_BYTES + 1000);
        }
        FileState before = files(ws).fingerprint("a", "big.log");
        Files.writeString(log, "appended", java.nio.file.StandardOpenOption.APPEND);
        FileState after = files(ws).fingerprint("a", "big.log");
        assertThat(after.size()).isEqualTo(before.size() + 8);
        assertThat(after.sha256()).isNotEqualTo(before.sha256());
    }
}
