package dev.carapace.server;

import dev.carapace.agent.tools.Sandbox;
import dev.carapace.guard.policy.PolicyEngine.Subject;
import dev.carapace.guard.policy.PolicyWatcher;
import dev.carapace.guard.sandbox.Bubblewrap;
import dev.carapace.guard.sandbox.SandboxLimits;
import dev.carapace.server.adapter.BwrapExec;
import dev.carapace.testing.SandboxDirs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An agent's policy file-system layer inside the exec sandbox, with a real policy file, watcher and bubblewrap:
 * read-only roots stay read-only even inside the writable workspace, paths no root allows are not there, read-write
 * roots are writable, and a reload applies to the next command.
 */
class BwrapExecLayerTest {

    @TempDir
    Path dir;
    private Path ws;
    private Path policyFile;
    private Bubblewrap bwrap;
    private PolicyWatcher watcher;

    @BeforeEach
    void open() throws Exception {
        SandboxDirs.searchable(dir);
        ws = Files.createDirectories(dir.resolve("agents/main"));
        Files.createDirectories(ws.resolve("protected"));
        Files.writeString(ws.resolve("protected/p.txt"), "original\n");
        Files.createDirectories(ws.resolve("src"));
        Files.writeString(ws.resolve("secret.txt"), "not for main's commands\n");
        policyFile = Files.createDirectories(dir.resolve("policies")).resolve("main.yaml");
        bwrap = Bubblewrap.open(Path.of("/usr/bin/bwrap"), SandboxLimits.DEFAULT, null, List.of());
        bwrap.handOver(ws);
    }

    @AfterEach
    void close() {
        if (watcher != null) watcher.close();
        if (bwrap != null) bwrap.close();
    }

    private BwrapExec exec(String filesystemPolicy) throws Exception {
        Files.writeString(policyFile, "filesystem_policy: " + filesystemPolicy + "\ntools: {allow: [exec]}\n");
        watcher = new PolicyWatcher(List.of(new PolicyWatcher.Source("main", policyFile, Set.of("main"), Set.of())),
                List.of(new Subject("main", null, ws)), List.of(), PolicyWatcher.OnInvalid.KEEP, e -> { }, Clock.systemUTC());
        return new BwrapExec(bwrap, Map.of("main", new BwrapExec.AgentSandbox(ws, null)), watcher::current);
    }

    private static Sandbox.Result sh(BwrapExec exec, Path cwd, String script) throws Exception {
        return exec.run(new Sandbox.Command("main", List.of("/bin/sh", "-c", script), cwd,
                Map.of("PATH", "/usr/bin:/bin"), Duration.ofSeconds(20), 16_000));
    }

    @Test
    void aReadOnlyRootInsideTheWorkspaceIsNotWritable() throws Exception {
        BwrapExec exec = exec("{include_workdir: true, read_only: [" + ws.resolve("protected") + ", "
                + ws.resolve("later") + "]}");
        Sandbox.Result r = sh(exec, ws, "echo x > protected/p.txt || echo REFUSED; rm protected/p.txt || echo KEPT;"
                + " mkdir later/x || echo NOT-CREATED; echo fine > free.txt && cat free.txt protected/p.txt");
        assertThat(r.output()).contains("Read-only file system").contains("REFUSED", "KEPT", "NOT-CREATED")
                .endsWith("fine\noriginal\n");
        assertThat(ws.resolve("protected/p.txt")).hasContent("original");
        assertThat(ws.resolve("free.txt")).hasContent("fine");
        assertThat(ws.resolve("later/x")).doesNotExist();
    }

    @Test
    void whatNoRootAllowsIsNotThereAndReadWriteRootsAreWritable() throws Exception {
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        bwrap.handOver(scratch); // the operator's part: a read-write root the sandbox user may write
        BwrapExec exec = exec("{read_write: [" + ws.resolve("src") + ", " + scratch + "]}");
        Sandbox.Result r = sh(exec, ws.resolve("src"), "cat ../secret.txt || echo NO-SECRET; ls -A ..;"
                + " echo built > out.txt && echo s > " + scratch + "/s.txt && echo WROTE; echo x > ../planted || echo NO-PLANT");
        assertThat(r.output()).doesNotContain("not for main's commands").contains("NO-SECRET", "WROTE", "NO-PLANT");
        assertThat(r.output()).contains("\nsrc\n"); // the workspace shows only the root inside it
        assertThat(ws.resolve("src/out.txt")).hasContent("built");
        assertThat(scratch.resolve("s.txt")).hasContent("s");
        assertThat(ws.resolve("planted")).doesNotExist();
    }

    @Test
    void aSymlinkPlantedWhereARootWillBeDoesNotMountWhatItPointsTo() throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.writeString(outside.resolve("outside.txt"), "no policy names this");
        BwrapExec exec = exec("{include_workdir: true, read_only: [" + ws.resolve("docs") + ", "
                + ws.resolve("later") + "]}");
        // From inside, a missing read-only root is an empty read-only folder: no link can be put there.
        assertThat(sh(exec, ws, "ln -s " + outside + " later && echo LINKED").output()).doesNotContain("LINKED");
        // Put there some other way (a link made before the policy named the root), it is not followed.
        Files.deleteIfExists(ws.resolve("docs")); // the empty mount point bwrap left
        Files.createSymbolicLink(ws.resolve("docs"), outside);
        Sandbox.Result r = sh(exec, ws, "cat docs/outside.txt " + outside + "/outside.txt; echo end");
        assertThat(r.output()).doesNotContain("no policy names this").contains("No such file").endsWith("end\n");
    }

    @Test
    void aPolicyReloadChangesTheNextCommandsMounts() throws Exception {
        BwrapExec exec = exec("{include_workdir: true}");
        assertThat(sh(exec, ws, "echo first > protected/p.txt && echo WROTE").output()).isEqualTo("WROTE\n");
        Files.writeString(policyFile, "filesystem_policy: {include_workdir: true, read_only: [" + ws.resolve("protected")
                + "]}\ntools: {allow: [exec]}\n");
        assertThat(watcher.reload()).isTrue();
        Sandbox.Result r = sh(exec, ws, "echo second > protected/p.txt && echo WROTE");
        assertThat(r.output()).contains("Read-only file system").doesNotContain("WROTE");
        assertThat(ws.resolve("protected/p.txt")).hasContent("first");
    }
}
