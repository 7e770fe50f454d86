package dev.carapace.server;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.agent.tools.Sandbox;
import dev.carapace.config.ConfigLoader;
import dev.carapace.guard.sandbox.Bubblewrap;
import dev.carapace.guard.sandbox.SandboxLimits;
import dev.carapace.server.adapter.BwrapExec;
import dev.carapace.testing.SandboxDirs;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code tools: {exec: bwrap}} as the composition root wires it: an agent's exec runs in the sandbox. */
class BwrapExecTest {

    @TempDir
    Path dir;

    @BeforeEach
    void reachable() throws IOException {
        SandboxDirs.searchable(dir); // the parents of a workspace must let the sandbox user through
    }

    @Test
    void anAgentsExecRunsInTheSandboxWithItsOwnWorkspace() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("agents/ops"));
        Path other = Files.createDirectories(dir.resolve("agents/other"));
        Files.writeString(other.resolve("notes.txt"), "other agent's notes");
        Files.writeString(ws.resolve("AGENTS.md"), "You run commands.");
        String yaml = """
                tools:
                  exec: bwrap
                  sandbox: {cpu_time: 10s, memory: 1GiB, processes: 64, file_size: 10MiB, tmp_size: 16MiB}
                agents:
                  ops:
                    workspace: %s
                    model: m-solo
                    tools: [exec]
                    owner: {user: alice}
                  other:
                    workspace: %s
                    model: m-solo
                    tools: [read]
                    owner: {user: alice}
                """.formatted(ws, other);
        Path data = dir.resolve("data");
        try (GatewayHarness h = new GatewayHarness(data, yaml)) {
            String command = "echo sum=$((40+2)) > out.txt; cat out.txt; cat " + other.resolve("notes.txt")
                    + " 2>&1; ls " + data + " 2>&1; bash -c 'echo > /dev/tcp/1.1.1.1/80'";
            h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiToolCallStream(new ScriptedUpstream.ToolCall("x1", "exec",
                    "{\"command\":" + ScriptedUpstream.quote(command) + "}")), 0),
                    ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("done"), 30, 2), 0));
            AgentRuntime rt = h.carapace.agentRuntime();
            RunInfo done = rt.await(rt.start("ops", "s", "go"), Duration.ofSeconds(30));
            assertThat(done.status()).as(done.reason()).isEqualTo(RunStatus.COMPLETED);

            h.a.take();
            String second = ScriptedUpstream.body(h.a.take());
            assertThat(second).contains("sum=42").contains("exit code 1").contains("Network is unreachable");
            assertThat(second).doesNotContain("other agent's notes");
            assertThat(second).contains(other.resolve("notes.txt") + ": No such file or directory");
            assertThat(second).contains("cannot access '" + data + "': No such file or directory");
            assertThat(Files.readString(ws.resolve("out.txt"))).isEqualTo("sum=42\n");
            // never the host's root; as root, serve gave the workspace to the sandbox user (nobody) at start-up
            assertThat((int) Files.getAttribute(ws.resolve("out.txt"), "unix:uid")).isNotZero();
            if (SandboxDirs.root()) {
                assertThat((int) Files.getAttribute(ws, "unix:uid")).isEqualTo(65534);
                assertThat((int) Files.getAttribute(ws.resolve("AGENTS.md"), "unix:uid")).isEqualTo(65534);
                assertThat((int) Files.getAttribute(data, "unix:uid")).as("the data folder stays root's").isZero();
            }
        }
    }

    @Test
    void sandboxedCommandsReachTheNetworkOnlyThroughTheProxyAsTheirOwnAgent() throws Exception {
        try (var allowed = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
             var denied = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> answerOnce(allowed, "hello from the allowed server"));
            Path ws = Files.createDirectories(dir.resolve("agents/ops"));
            Files.writeString(ws.resolve("AGENTS.md"), "You run commands.");
            Path policy = dir.resolve("policies/ops.yaml");
            Files.createDirectories(policy.getParent());
            Files.writeString(policy, """
                    filesystem_policy: {include_workdir: true}
                    network_policies:
                      local:
                        endpoints:
                          - {host: 127.0.0.1, port: %d, allowed_ips: [127.0.0.0/8]}
                    tools: {allow: [exec]}
                    """.formatted(allowed.getLocalPort()));
            String yaml = """
                    tools: {exec: bwrap}
                    guard:
                      policies:
                        ops: {file: %s, agents: [ops]}
                    agents:
                      ops:
                        workspace: %s
                        model: m-solo
                        tools: [exec]
                        owner: {user: alice}
                    """.formatted(policy, ws);
            try (GatewayHarness h = new GatewayHarness(dir.resolve("data"), yaml)) {
                String command = "curl -s http://127.0.0.1:" + allowed.getLocalPort() + "/hello; echo; curl -s http://127.0.0.1:"
                        + denied.getLocalPort() + "/; echo; curl -s --noproxy '*' -m 2 http://127.0.0.1:"
                        + allowed.getLocalPort() + "/ || echo direct-failed";
                h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiToolCallStream(new ScriptedUpstream.ToolCall("x1", "exec",
                    "{\"command\":" + ScriptedUpstream.quote(command) + "}")), 0),
                        ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("done"), 30, 2), 0));
                AgentRuntime rt = h.carapace.agentRuntime();
                RunInfo done = rt.await(rt.start("ops", "s", "go"), Duration.ofSeconds(60));
                assertThat(done.status()).as(done.reason()).isEqualTo(RunStatus.COMPLETED);

                h.a.take();
                String result = ScriptedUpstream.body(h.a.take());
                assertThat(result).contains("hello from the allowed server");
                // The other port is not in ops' policy: the proxy refuses it, naming the layer, as agent ops.
                assertThat(result).contains("\\\"layer\\\":\\\"network\\\"").contains(":" + denied.getLocalPort());
                assertThat(result).contains("direct-failed");
            }
        }
    }

    /** Answers one HTTP request with {@code body}, then closes. */
    private static void answerOnce(java.net.ServerSocket server, String body) {
        try (var s = server.accept()) {
            var in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), java.nio.charset.StandardCharsets.US_ASCII));
            for (String line; (line = in.readLine()) != null && !line.isEmpty(); ) { }
            s.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\nConnection: close\r\n\r\n"
                    + body).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        } catch (IOException ignored) {
            // the test fails on the missing answer
        }
    }

    @Test
    void serveAsRootRefusesAWorkspaceTheSandboxUserCannotReach() throws Exception {
        Assumptions.assumeTrue(SandboxDirs.root(), "only a root gateway switches users");
        Path locked = Files.createDirectories(dir.resolve("locked"));
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwx------"));
        Path ws = Files.createDirectories(locked.resolve("agents/ops"));
        String yaml = """
                tools: {exec: bwrap}
                agents:
                  ops: {workspace: %s, model: m-solo, tools: [exec], owner: {user: alice}}
                """.formatted(ws);
        assertThatThrownBy(() -> new GatewayHarness(dir.resolve("data"), yaml).close())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("the sandbox cannot run here: the sandbox user 65534:65534 cannot reach workspace "
                        + ws.toRealPath() + ": " + locked + " does not let it search (chmod o+x " + locked);
    }

    @Test
    void serveFailsClearlyWhenBubblewrapIsMissing() throws Exception {
        var config = ConfigLoader.load("tools: {exec: bwrap}\n", "t.yaml");
        Map<String, String> env = Map.of("PATH", dir.resolve("empty-bin").toString());
        assertThatThrownBy(() -> Carapace.start(config, dir.resolve("data"), env::get, Clock.systemUTC(), 0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("tools.exec is bwrap, but the sandbox cannot run here: bubblewrap is not"
                        + " installed (no bwrap on PATH " + dir.resolve("empty-bin") + ")")
                .hasMessageContaining("apt-get install bubblewrap");
    }

    @Test
    void aWorkingDirectoryOutsideTheCallersWorkspaceIsRefused() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        try (Bubblewrap bwrap = Bubblewrap.open(Path.of("/usr/bin/bwrap"), SandboxLimits.DEFAULT, null, List.of())) {
            bwrap.handOver(ws);
            BwrapExec exec = new BwrapExec(bwrap, Map.of("a", new BwrapExec.AgentSandbox(ws, null)), null);
            Sandbox.Command outside = new Sandbox.Command("a", List.of("true"), elsewhere, Map.of(), Duration.ofSeconds(5), 100);
            assertThatThrownBy(() -> exec.run(outside)).isInstanceOf(IOException.class)
                    .hasMessageContaining("outside agent 'a''s workspace");
            Sandbox.Command nobody = new Sandbox.Command(List.of("true"), ws, Map.of(), Duration.ofSeconds(5), 100);
            assertThatThrownBy(() -> exec.run(nobody)).isInstanceOf(IOException.class)
                    .hasMessageContaining("names no agent");
            Sandbox.Result ok = exec.run(new Sandbox.Command("a", List.of("/bin/sh", "-c", "pwd; exit 3"), ws,
                    Map.of("PATH", "/usr/bin:/bin"), Duration.ofSeconds(10), 1000));
            assertThat(ok.exitCode()).isEqualTo(3);
            assertThat(ok.output()).isEqualTo(ws.toRealPath() + "\n");
        }
    }
}
