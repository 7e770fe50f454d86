package dev.carapace.agent.tools;

import dev.carapace.agent.FileAccess;
import dev.carapace.agent.FileGate;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.carapace.agent.tools.ToolHarness.run;
import static dev.carapace.agent.tools.ToolHarness.snapshot;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The gate judges a real path and the tool then opens exactly that path, or fails: a directory swapped for a symlink
 * between the two never lets a tool reach what the gate would refuse, nor create anything outside the workspace.
 * The swap is made deterministic by doing it inside the gate's own call, the last moment before the open; a
 * brute-force variant swaps from another thread.
 */
class FileGateRaceTest {

    @TempDir
    Path tmp;
    Path ws;
    Path outside;

    @BeforeEach
    void setUp() throws IOException {
        ws = Files.createDirectory(tmp.resolve("ws")).toRealPath();
        outside = Files.createDirectory(tmp.resolve("outside")).toRealPath();
        Files.createDirectories(ws.resolve("a"));
        Files.writeString(ws.resolve("a/key"), "public\n");
        Files.createDirectories(ws.resolve("secrets"));
        Files.writeString(ws.resolve("secrets/key"), "TOPSECRET\n");
        Files.createDirectories(ws.resolve("ro"));
        Files.writeString(ws.resolve("ro/f.txt"), "original\n");
    }

    /** Denies reading under secrets/ and writing under ro/; runs {@code swap} the first time it allows {@code at}. */
    private FileGate gate(Path at, Runnable swap) {
        AtomicBoolean done = new AtomicBoolean();
        return (tool, real, access) -> {
            if (real.startsWith(ws.resolve("secrets"))) return "secrets are denied";
            if (access == FileAccess.WRITE && real.startsWith(ws.resolve("ro"))) return "ro is read-only";
            if (real.equals(at) && done.compareAndSet(false, true)) swap.run();
            return null;
        };
    }

    private ToolContext context(FileGate gate) {
        return new ToolContext("agent-1", "session-1", ws, Duration.ofSeconds(10), 64 * 1024, gate);
    }

    /** Replaces directory {@code name} by a symlink to {@code target}, keeping the directory under another name. */
    private void swap(String name, Path target) {
        try {
            Files.move(ws.resolve(name), ws.resolve(name + ".moved"));
            Files.createSymbolicLink(ws.resolve(name), target);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aDirectorySwappedAfterTheGateAllowedItMakesTheReadFail() throws Exception {
        ToolResult r = run(context(gate(ws.resolve("a/key"), () -> swap("a", ws.resolve("secrets")))),
                "read", "path", "a/key");
        assertThat(r.content()).doesNotContain("TOPSECRET").isEqualTo("'a/key' changed while being opened; refused");
        assertThat(r.error()).isTrue();
        // and once swapped, the gate judges the real path the symlink leads to
        assertThat(run(context(gate(null, () -> { })), "read", "path", "a/key").content())
                .isEqualTo("'a/key' is denied by policy: secrets are denied");
    }

    @Test
    void aDirectorySwappedAfterTheGateAllowedItMakesTheWriteFailAndTheReadOnlyFileStays() throws Exception {
        ToolResult r = run(context(gate(ws.resolve("a/f.txt"), () -> swap("a", ws.resolve("ro")))),
                "write", "path", "a/f.txt", "content", "PWNED");
        assertThat(r.error()).isTrue();
        assertThat(r.content()).isEqualTo("'a/f.txt' changed while being opened; refused");
        assertThat(Files.readString(ws.resolve("ro/f.txt"))).isEqualTo("original\n");
        assertThat(run(context(gate(null, () -> { })), "write", "path", "a/f.txt", "content", "PWNED").content())
                .isEqualTo("'a/f.txt' is denied by policy: ro is read-only");
        assertThat(Files.readString(ws.resolve("ro/f.txt"))).isEqualTo("original\n");
    }

    @Test
    void aParentSwappedWhileDirectoriesAreMadeCreatesNothingOutside() throws Exception {
        Map<String, String> before = snapshot(outside);
        // "new" is made, then, as "new/b" is about to be made, "new" becomes a symlink to outside
        ToolResult r = run(context(gate(ws.resolve("new/b"), () -> swap("new", outside))),
                "write", "path", "new/b/c.txt", "content", "PWNED");
        assertThat(r.error()).isTrue();
        assertThat(r.content()).isEqualTo("'new/b/c.txt' changed while being opened; refused");
        assertThat(snapshot(outside)).isEqualTo(before);
        // mkdirat made "b" in the directory that was opened, now named new.moved: inside, and empty
        assertThat(Files.isDirectory(ws.resolve("new.moved/b"))).isTrue();
        assertThat(Files.list(ws.resolve("new.moved/b"))).isEmpty();
    }

    @Test
    void aDirectoryTheGateRefusesToCreateIsNotCreated() throws Exception {
        FileGate noNewDirs = (tool, real, access) -> real.equals(ws.resolve("x/y")) ? "no y" : null;
        ToolResult r = run(context(noNewDirs), "write", "path", "x/y/z.txt", "content", "data");
        assertThat(r.content()).isEqualTo("'x/y/z.txt' is denied by policy: no y");
        assertThat(Files.exists(ws.resolve("x/y"))).isFalse();
    }

    @Test
    void bruteForceSwapsOfANewParentNeverCreateAnythingOutside() throws Exception {
        Map<String, String> before = snapshot(outside);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger swaps = new AtomicInteger();
        Thread attacker = Thread.ofPlatform().start(() -> {
            int n = 0;
            while (!stop.get()) {
                try {
                    // the moment the tool has made "p", replace it by a symlink to outside
                    if (Files.isDirectory(ws.resolve("p"), LinkOption.NOFOLLOW_LINKS)) {
                        Files.move(ws.resolve("p"), ws.resolve("old-" + n++));
                        Files.createSymbolicLink(ws.resolve("p"), outside);
                        swaps.incrementAndGet();
                    }
                } catch (IOException ignored) {
                    // raced with the tool or the reset: try again
                }
            }
        });
        long end = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        int calls = 0;
        try {
            while (System.nanoTime() < end && calls < 20_000) {
                run(context(FileGate.WORKSPACE), "write", "path", "p/q/r/c.txt", "content", "PWNED");
                calls++;
                try {
                    if (Files.isSymbolicLink(ws.resolve("p"))) Files.delete(ws.resolve("p"));
                    else Files.move(ws.resolve("p"), ws.resolve("done-" + calls));
                } catch (IOException ignored) {
                    // raced with the attacker: the next call starts from whatever is there
                }
            }
        } finally {
            stop.set(true);
            attacker.join();
        }
        assertThat(swaps.get()).as("the attacker got to swap").isGreaterThan(10);
        assertThat(snapshot(outside)).isEqualTo(before);
    }
}
