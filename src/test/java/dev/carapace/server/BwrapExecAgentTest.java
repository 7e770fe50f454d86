package dev.carapace.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;
import dev.carapace.agent.tools.ExecTool;
import dev.carapace.agent.tools.Sandbox;
import dev.carapace.guard.sandbox.Bubblewrap;
import dev.carapace.guard.sandbox.SandboxLimits;
import dev.carapace.server.adapter.BwrapExec;
import dev.carapace.testing.SandboxDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Whom a sandboxed command runs as is the agent that called exec, never the agent whose folder it runs in: with
 * nested workspaces ({@code ws/main} and {@code ws/main/inner}), {@code main}'s command in {@code inner} goes out
 * through {@code main}'s egress socket, so the proxy judges (and credentials) it as {@code main}.
 */
class BwrapExecAgentTest {

    @TempDir
    Path dir;

    @Test
    void aCommandInAnotherAgentsNestedWorkspaceStillRunsAsItsCaller() throws Exception {
        SandboxDirs.searchable(dir);
        Path main = Files.createDirectories(dir.resolve("ws/main"));
        Path inner = Files.createDirectories(main.resolve("inner"));
        Path sockets = Files.createDirectories(dir.resolve("sockets"));
        try (Proxy mainProxy = new Proxy(sockets.resolve("main.sock"), "main's proxy");
             Proxy innerProxy = new Proxy(sockets.resolve("inner.sock"), "inner's proxy");
             Bubblewrap bwrap = Bubblewrap.open(Path.of("/usr/bin/bwrap"), SandboxLimits.DEFAULT, mainProxy.socket,
                     List.of())) {
            bwrap.handOver(main);
            BwrapExec exec = new BwrapExec(bwrap, Map.of(
                    "main", new BwrapExec.AgentSandbox(main, mainProxy.socket),
                    "inner", new BwrapExec.AgentSandbox(inner, innerProxy.socket)), null);
            ExecTool tool = new ExecTool(exec);
            String curl = "curl -s http://service.internal/";

            ToolResult asMain = tool.run(new ObjectMapper().createObjectNode().put("command", curl).put("cwd", "inner"),
                    new ToolContext("main", "s", main, Duration.ofSeconds(20), 16_000));
            assertThat(asMain.content()).contains("main's proxy").doesNotContain("inner's proxy");
            assertThat(mainProxy.connections.get()).isEqualTo(1);
            assertThat(innerProxy.connections.get()).isZero();

            ToolResult asInner = tool.run(new ObjectMapper().createObjectNode().put("command", curl),
                    new ToolContext("inner", "s", inner, Duration.ofSeconds(20), 16_000));
            assertThat(asInner.content()).contains("inner's proxy");
            assertThat(innerProxy.connections.get()).isEqualTo(1);

            // inner may not run in main's folder, whatever the path says
            assertThatThrownBy(() -> exec.run(new Sandbox.Command("inner", List.of("true"), main, Map.of(),
                    Duration.ofSeconds(5), 100))).isInstanceOf(IOException.class)
                    .hasMessageContaining("outside agent 'inner''s workspace");
            assertThatThrownBy(() -> exec.run(new Sandbox.Command("nobody-here", List.of("true"), main, Map.of(),
                    Duration.ofSeconds(5), 100))).isInstanceOf(IOException.class).hasMessageContaining("unknown agent");
        }
    }

    /** An HTTP forward proxy stand-in on a Unix socket: answers every request with its own name, counting them. */
    private static final class Proxy implements AutoCloseable {
        final Path socket;
        final AtomicInteger connections = new AtomicInteger();
        private final ServerSocketChannel server;

        Proxy(Path socket, String name) throws IOException {
            this.socket = socket;
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socket));
            SandboxDirs.connectable(socket);
            Thread.ofPlatform().daemon().start(() -> {
                while (server.isOpen()) {
                    try (SocketChannel c = server.accept()) {
                        connections.incrementAndGet();
                        ByteBuffer in = ByteBuffer.allocate(8192);
                        String seen = "";
                        while (!seen.contains("\r\n\r\n") && c.read(in) > 0) {
                            seen = new String(in.array(), 0, in.position(), StandardCharsets.ISO_8859_1);
                        }
                        c.write(ByteBuffer.wrap(("HTTP/1.1 200 OK\r\nContent-Length: " + name.length()
                                + "\r\nConnection: close\r\n\r\n" + name).getBytes(StandardCharsets.ISO_8859_1)));
                    } catch (IOException e) {
                        // closed
                    }
                }
            });
        }

        @Override
        public void close() throws IOException {
            server.close();
            Files.deleteIfExists(socket);
        }
    }
}
