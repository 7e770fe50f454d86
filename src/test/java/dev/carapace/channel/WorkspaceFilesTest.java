package dev.carapace.channel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A message's files go into its agent's workspace under plain names, and never through a link the agent planted. */
class WorkspaceFilesTest {

    @TempDir Path dir;

    static Attachment file(String name) { return new Attachment(name, "text/plain", "x".getBytes(StandardCharsets.UTF_8)); }

    @Test
    void hostileNamesBecomePlainOnes() {
        assertThat(WorkspaceFiles.safeName("../../etc/passwd", 1, "text/plain")).isEqualTo("passwd");
        assertThat(WorkspaceFiles.safeName("..\\..\\win.ini", 1, "text/plain")).isEqualTo("win.ini");
        assertThat(WorkspaceFiles.safeName(".bashrc", 1, "text/plain")).isEqualTo("bashrc");
        assertThat(WorkspaceFiles.safeName("..", 2, "image/png")).isEqualTo("file-2.png");
        assertThat(WorkspaceFiles.safeName("", 3, "application/zip")).isEqualTo("file-3.bin");
        assertThat(WorkspaceFiles.safeName("a\u0000b\nc\u202Egnp.exe", 1, "text/plain")).isEqualTo("a_b_c_gnp.exe");
        assertThat(WorkspaceFiles.safeName("ｆｕｌｌ．txt", 1, "text/plain")).isEqualTo("full.txt");
        String longName = "x".repeat(300) + ".pdf";
        assertThat(WorkspaceFiles.safeName(longName, 1, "application/pdf")).hasSize(100).endsWith(".pdf");
    }

    @Test
    void filesLandUnderInboxMessageIdWithDuplicatesRenamed() throws Exception {
        List<String> paths = WorkspaceFiles.save(dir, "msg_1", List.of(file("a.txt"), file("A.txt"), file("a.txt")));
        assertThat(paths).containsExactly("inbox/msg_1/a.txt", "inbox/msg_1/A-2.txt", "inbox/msg_1/a-3.txt");
        for (String p : paths) assertThat(dir.resolve(p)).hasContent("x");
    }

    @Test
    void anInboxThatIsALinkIsRefusedNotFollowed() throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.createSymbolicLink(ws.resolve("inbox"), outside);
        assertThatThrownBy(() -> WorkspaceFiles.save(ws, "msg_1", List.of(file("a.txt"))))
                .hasMessageContaining("'inbox' is a symlink to outside the workspace");
        try (var files = Files.list(outside)) {
            assertThat(files.toList()).isEmpty();
        }
    }

    @Test
    void aMessageFolderOrFileThatIsALinkIsRefusedNotFollowed() throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside2"));
        Path ws = Files.createDirectories(dir.resolve("ws2"));
        Files.createDirectories(ws.resolve("inbox"));
        Files.createSymbolicLink(ws.resolve("inbox").resolve("msg_2"), outside);
        assertThatThrownBy(() -> WorkspaceFiles.save(ws, "msg_2", List.of(file("a.txt"))))
                .hasMessageContaining("'inbox/msg_2' is a symlink to outside the workspace");
        Files.createDirectories(ws.resolve("inbox").resolve("msg_3"));
        Path target = outside.resolve("target.txt");
        Files.createSymbolicLink(ws.resolve("inbox").resolve("msg_3").resolve("a.txt"), target);
        assertThatThrownBy(() -> WorkspaceFiles.save(ws, "msg_3", List.of(file("a.txt"))));
        assertThat(target).doesNotExist();
        try (var files = Files.list(outside)) {
            assertThat(files.toList()).isEmpty();
        }
    }

    /**
     * The message's folder was made by path (a {@code mkdir} that follows links) before it was opened without
     * following them: an agent's command swapping {@code inbox} for a link at that instant made an empty folder
     * wherever the link pointed. Now every folder is made relative to its parent's open descriptor.
     */
    @Test
    void anInboxSwappedForALinkWhileFilesAreSavedNeverMakesAnythingOutside() throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside3"));
        Path ws = Files.createDirectories(dir.resolve("ws3"));
        Path inbox = ws.resolve("inbox"), aside = ws.resolve("inbox-real");
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread swapper = Thread.ofPlatform().start(() -> {
            while (!stop.get()) {
                try {
                    Files.createDirectories(aside);
                    Files.deleteIfExists(inbox);
                    Files.createSymbolicLink(inbox, outside);
                    Files.delete(inbox);
                    Files.move(aside, inbox);
                    Files.move(inbox, aside);
                } catch (java.io.IOException e) {
                    // the save under way holds a name for a moment: try the next swap
                }
            }
        });
        int saved = 0;
        try {
            long until = System.nanoTime() + 1_000_000_000L;
            for (int i = 0; System.nanoTime() < until; i++) {
                try {
                    WorkspaceFiles.save(ws, "msg_" + i, List.of(file("a.txt")));
                    saved++;
                } catch (java.io.IOException refused) {
                    // a link or a missing folder at that instant: refused, as it must be
                }
            }
        } finally {
            stop.set(true);
            swapper.join();
        }
        try (var files = Files.list(outside)) {
            assertThat(files.toList()).as("nothing made through the link (%d saves got through)", saved).isEmpty();
        }
    }
}
