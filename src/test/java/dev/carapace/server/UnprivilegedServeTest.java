package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.server.cli.Main;
import dev.carapace.testing.SandboxDirs;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole gateway run as an unprivileged user, beside the suite's root runs: when the tests run as root, this test
 * starts {@code carapace serve} in a child JVM through {@code setpriv} as nobody, with the build's class path linked
 * where nobody can read it, creates a key with {@code carapace keys create} as nobody too, and runs an agent whose
 * {@code exec} goes through the bubblewrap sandbox against a scripted upstream. Its sandbox probe must pass at
 * start-up, and its commands must run as that user, with the host's kernel settings out of reach.
 */
class UnprivilegedServeTest {

    static final int NOBODY = 65534;

    @Test
    void serveRunsAsAnUnprivilegedUserAndItsSandboxedCommandsStayUnprivileged() throws Exception {
        Assumptions.assumeTrue(SandboxDirs.root(), "run as root: the test starts the unprivileged gateway itself");
        Path top = Files.createTempDirectory("carapace-serve-unprivileged-");
        Process serve = null;
        try (ScriptedUpstream up = new ScriptedUpstream()) {
            Files.setPosixFilePermissions(top, PosixFilePermissions.fromString("rwxr-xr-x"));
            String classpath = readableClasspath(top.resolve("cp"));
            Path ws = Files.createDirectories(top.resolve("ws"));
            Files.writeString(ws.resolve("AGENTS.md"), "You run commands.");
            Path data = Files.createDirectories(top.resolve("data"));
            for (Path p : List.of(ws, ws.resolve("AGENTS.md"), data)) Files.setAttribute(p, "unix:uid", NOBODY);
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Path config = Files.writeString(top.resolve("carapace.yaml"), """
                    org: acme
                    server: {host: 127.0.0.1, port: %d}
                    providers:
                      up: {kind: openai, base_url: %s, api_key_env: UP_KEY}
                    models:
                      m:
                        tier: mid
                        context_window: 128000
                        max_output_tokens: 4096
                        price: {input: 3, output: 6}
                        deployments: [{provider: up, model: up-model}]
                    teams:
                      platform: {}
                    tools: {exec: bwrap}
                    agents:
                      ops: {workspace: ws, model: m, tools: [exec], owner: {team: platform}}
                    """.formatted(port, up.openAiBaseUrl()));
            Path setting = Path.of("/proc/sys/fs/lease-break-time");
            String before = Files.readString(setting);

            String key = run(top, classpath, "keys", "create", "--user", "ops-admin", "--team", "platform", "--role",
                    "admin", "--config", config.toString(), "--data", data.toString()).lines().findFirst().orElseThrow();
            assertThat(key).startsWith("cpk_");

            serve = start(top, classpath, "serve", "--config", config.toString(), "--data", data.toString());
            BufferedReader out = new BufferedReader(new InputStreamReader(serve.getInputStream(), StandardCharsets.UTF_8));
            List<String> startup = new ArrayList<>();
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("Carapace listening on")) startup.add(line);
            assertThat(line).as("serve as nobody did not start:\n" + String.join("\n", startup)).isNotNull();
            Thread.ofVirtual().start(() -> out.lines().forEach(l -> { }));   // keep draining the log

            String command = "id -u; echo 99 > /proc/sys/fs/lease-break-time; echo sysctl-rc=$?; touch made.txt";
            up.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiToolCallStream(new ScriptedUpstream.ToolCall("x1",
                            "exec", "{\"command\":" + ScriptedUpstream.quote(command) + "}")), 0),
                    ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("done"), 30, 2), 0));
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                            + "/api/agents/ops/runs?wait=true")).timeout(Duration.ofSeconds(60))
                    .header("authorization", "Bearer " + key).header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"message\":\"go\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode run = GatewayHarness.json(r.body());
            assertThat(run.path("status").asText()).as(r.body()).isEqualTo("completed");

            up.take();
            String seen = ScriptedUpstream.body(up.take());
            assertThat(seen).contains("\\n" + NOBODY + "\\n").contains("lease-break-time: Read-only file system")
                    .doesNotContain("sysctl-rc=0").doesNotContain("background process");
            assertThat(Files.readString(setting)).isEqualTo(before);
            assertThat((int) Files.getAttribute(ws.resolve("made.txt"), "unix:uid")).isEqualTo(NOBODY);
            assertThat(serve.pid()).isPositive();
            assertThat((int) Files.getAttribute(Path.of("/proc/" + serve.pid()), "unix:uid"))
                    .as("the gateway itself ran unprivileged").isEqualTo(NOBODY);
        } finally {
            if (serve != null) {
                serve.destroy();
                if (!serve.waitFor(10, TimeUnit.SECONDS)) serve.destroyForcibly();
            }
            try (Stream<Path> all = Files.walk(top)) {
                all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Runs a carapace command as nobody to its end; returns what it printed. */
    private static String run(Path top, String classpath, String... args) throws Exception {
        Process p = start(top, classpath, args);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    private static Process start(Path top, String classpath, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY,
                "--clear-groups", ProcessHandle.current().info().command().orElseThrow(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m", "--enable-native-access=ALL-UNNAMED",
                "-cp", classpath, Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(top.toFile()).redirectErrorStream(true);
        pb.environment().put("UP_KEY", "upstream-secret");
        pb.environment().put("HOME", top.toString());
        return pb.start();
    }

    /**
     * This JVM's class path where nobody can read it (the build's folders and the Maven repository may be under a
     * 0700 home): jars hard-linked (copied if the link crosses file systems), class folders copied.
     */
    private static String readableClasspath(Path to) throws IOException {
        Files.createDirectories(to);
        Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> out = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(":")) {
            Path from = Path.of(entry);
            if (!Files.exists(from)) continue;
            Path dest = to.resolve(out.size() + "-" + from.getFileName());
            if (Files.isDirectory(from)) {
                SandboxDirs.copyReadable(from, dest);
            } else {
                try {
                    Files.createLink(dest, from);
                } catch (FileSystemException e) {
                    Files.copy(from, dest, StandardCopyOption.COPY_ATTRIBUTES);
                }
                // a hard link shares the file's mode: Maven's jars are world-readable, only their folders are not

            }
            out.add(dest.toString());
        }
        return String.join(":", out);
    }
}
