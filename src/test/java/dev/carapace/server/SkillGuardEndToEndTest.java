package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.testing.SandboxDirs;
import dev.carapace.testing.ScriptedUpstream;
import dev.carapace.testing.ScriptedUpstream.ToolCall;
import mockwebserver3.MockResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.carapace.testing.ScriptedUpstream.quote;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A followed skill's declarations through a real gateway: the skill tool reads the skill from the agent's
 * workspace, the guard policy allows the local echo server (as 127.0.0.1 and as localhost), exec runs in bubblewrap
 * behind the egress proxy, and the model is scripted. What the skill did not declare is refused whatever the policy
 * allows, in every later run of the session too (across a restart), and never in another session.
 */
class SkillGuardEndToEndTest {

    @TempDir
    Path dir;
    final ScriptedUpstream echo = new ScriptedUpstream();
    final List<String> received = Collections.synchronizedList(new ArrayList<>());
    int port;
    GatewayHarness h;

    @BeforeEach
    void setUp() throws Exception {
        echo.respond(r -> {
            received.add(r.getHeaders().get("Host") + r.getUrl().encodedPath());
            return new MockResponse.Builder().code(200).body("ECHO[" + r.getUrl().encodedPath() + "]").build();
        });
        port = URI.create(echo.openAiBaseUrl()).getPort();
        SandboxDirs.searchable(dir);
        Path ws = Files.createDirectories(dir.resolve("ws/main"));
        Path skills = Files.createDirectories(ws.resolve("skills"));
        // curl declared through allowed-tools (requires.bins would also gate the skill on the gateway's PATH)
        skill(skills, "offline", "Summarize files.", "allowed-tools: Bash(curl:*)\n");
        skill(skills, "local-api", "Query the local API.",
                "allowed-tools: Bash(curl:*)\nmetadata:\n  carapace: {hosts: [\"127.0.0.1:" + port + "\"]}\n");
        Path policy = Files.createDirectories(dir.resolve("policies")).resolve("main.yaml");
        Files.writeString(policy, """
                filesystem_policy: {include_workdir: true}
                network_policies:
                  local:
                    endpoints:
                      - {host: 127.0.0.1, port: %d, allowed_ips: [127.0.0.0/8], protocol: rest, access: full}
                      - {host: localhost, port: %d, allowed_ips: [127.0.0.0/8, "::1/128"], protocol: rest, access: full}
                tools:
                  allow: [skill, web_fetch, exec]
                """.formatted(port, port));
        config = """
                tools: {exec: bwrap, web_fetch: proxy}
                guard:
                  policies:
                    main: {file: %s, agents: [main]}
                agents:
                  main:
                    workspace: %s
                    model: m-solo
                    tools: [skill, web_fetch, exec]
                    owner: {team: platform}
                """.formatted(policy, ws);
        h = new GatewayHarness(dir.resolve("data"), config);
    }

    String config;

    /** Stops the gateway and starts it again on the same data (its SQLite store): nothing kept in memory survives. */
    void restart() throws Exception {
        h.close();
        h = null;
        h = new GatewayHarness(dir.resolve("data"), config);
    }

    @AfterEach
    void tearDown() {
        if (h != null) h.close();
        echo.close();
    }

    static void skill(Path skills, String name, String description, String frontMatter) throws Exception {
        Path d = Files.createDirectories(skills.resolve(name));
        Files.writeString(d.resolve("SKILL.md"), "---\nname: " + name + "\ndescription: " + description + "\n"
                + frontMatter + "---\nUse curl against the API.\n");
    }

    static ToolCall call(String id, String tool, String json) { return new ToolCall(id, tool, json); }

    ToolCall fetch(String id, String host, String path) {
        return call(id, "web_fetch", "{\"url\":" + quote("http://" + host + ":" + port + path) + "}");
    }

    ToolCall curl(String id, String host, String path) {
        return call(id, "exec", "{\"command\":" + quote("curl -s -m 5 http://" + host + ":" + port + path
                + "; echo \" exit=$?\"") + "}");
    }

    /** One run of agent main in {@code session}, turn by turn; the tool results the model got, by call id. */
    Map<String, String> run(String session, List<List<ToolCall>> turns) throws Exception {
        for (List<ToolCall> turn : turns) {
            h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiToolCallStream(turn.toArray(ToolCall[]::new)), 0));
        }
        h.a.enqueue(ScriptedUpstream.sse(ScriptedUpstream.openAiTextStream(List.of("done"), 30, 2), 0));
        AgentRuntime rt = h.carapace.agentRuntime();
        RunInfo done = rt.await(rt.start("main", session, "go"), Duration.ofSeconds(120));
        assertThat(done.status()).as(String.valueOf(done.reason())).isEqualTo(RunStatus.COMPLETED);
        String last = null;
        for (int i = 0; i <= turns.size(); i++) last = ScriptedUpstream.body(h.a.take());
        Map<String, String> out = new LinkedHashMap<>();
        for (JsonNode m : GatewayHarness.JSON.readTree(last).get("messages")) {
            if (m.path("role").asText().equals("tool")) out.put(m.path("tool_call_id").asText(), m.path("content").asText());
        }
        return out;
    }

    @Test
    void aSkillWithoutNetworkGetsNoneAndTheSessionsNextRunStillFollowsIt() throws Exception {
        Map<String, String> seen = run("s", List.of(
                List.of(call("k1", "skill", "{\"name\":\"offline\"}")),
                List.of(fetch("w1", "127.0.0.1", "/by-fetch"), curl("x1", "127.0.0.1", "/by-curl"))));
        assertThat(seen.get("k1")).contains("Use curl against the API.");
        assertThat(seen.get("w1")).contains("\"error\":\"denied\"").contains("skill 'offline'")
                .contains("'web_fetch' is not among them").contains("skill.needs:offline");
        // curl is a declared command, so it runs: in a sandbox with no way out
        assertThat(seen.get("x1")).doesNotContain("ECHO[").doesNotContain("exit=0");
        assertThat(received).isEmpty();

        // The skill's instructions are still in the session's transcript: the next run follows it from its first call.
        Map<String, String> next = run("s", List.of(List.of(fetch("w2", "127.0.0.1", "/next-run"),
                curl("x2", "127.0.0.1", "/next-run-curl"))));
        assertThat(next.get("w2")).contains("\"error\":\"denied\"").contains("skill 'offline'");
        assertThat(next.get("x2")).doesNotContain("ECHO[").doesNotContain("exit=0");
        assertThat(received).isEmpty();

        // Another session of the same agent never read it: the policy alone decides there.
        Map<String, String> other = run("other", List.of(List.of(fetch("w3", "127.0.0.1", "/other-session"))));
        assertThat(other.get("w3")).contains("ECHO[/other-session]");
        assertThat(received).containsExactly("127.0.0.1:" + port + "/other-session");
    }

    @Test
    void afterARestartTheSessionStillFollowsTheSkillItsTranscriptRead() throws Exception {
        Map<String, String> seen = run("s", List.of(List.of(call("k1", "skill", "{\"name\":\"local-api\"}"))));
        assertThat(seen.get("k1")).contains("Use curl against the API.");
        restart();

        Map<String, String> after = run("s", List.of(List.of(fetch("w1", "127.0.0.1", "/declared"),
                fetch("w2", "localhost", "/undeclared"), curl("x1", "localhost", "/undeclared-curl"),
                call("x2", "exec", "{\"command\":\"wget -q -O- http://127.0.0.1:" + port + "/wget\"}"))));
        assertThat(after.get("w1")).contains("ECHO[/declared]");
        assertThat(after.get("w2")).contains("\"error\":\"denied\"").contains("skill 'local-api'")
                .contains("localhost:" + port);
        assertThat(after.get("x1")).doesNotContain("ECHO[").contains("skill 'local-api'");
        assertThat(after.get("x2")).contains("\"error\":\"denied\"").contains("'wget' is not among them");
        assertThat(received).containsExactly("127.0.0.1:" + port + "/declared");

        Map<String, String> other = run("fresh", List.of(List.of(fetch("w3", "localhost", "/fresh"))));
        assertThat(other.get("w3")).contains("ECHO[/fresh]");
    }

    @Test
    void aSkillDeclaringOneHostReachesOnlyThatOneWhateverThePolicyAllows() throws Exception {
        Map<String, String> seen = run("s", List.of(
                List.of(call("k1", "skill", "{\"name\":\"local-api\"}")),
                List.of(fetch("w1", "127.0.0.1", "/declared"), curl("x1", "127.0.0.1", "/declared-curl"),
                        fetch("w2", "localhost", "/undeclared"), curl("x2", "localhost", "/undeclared-curl"),
                        call("x3", "exec", "{\"command\":\"wget -q -O- http://127.0.0.1:" + port + "/wget\"}"),
                        call("x4", "exec", "{\"command\":" + quote("printf -v 'a[$(wget -q -O- http://127.0.0.1:"
                                + port + "/printf)]' x; curl -s http://127.0.0.1:" + port + "/declared-curl") + "}"))));
        assertThat(seen.get("w1")).contains("ECHO[/declared]");
        assertThat(seen.get("x1")).contains("ECHO[/declared-curl]");
        assertThat(seen.get("w2")).contains("\"error\":\"denied\"").contains("localhost:" + port)
                .contains("'localhost' in metadata.carapace.hosts");
        assertThat(seen.get("x2")).doesNotContain("ECHO[").contains("skill 'local-api'");
        assertThat(seen.get("x3")).contains("\"error\":\"denied\"").contains("'wget' is not among them");
        assertThat(seen.get("x4")).contains("\"error\":\"denied\"").contains("evaluates a variable name");
        assertThat(received).containsExactlyInAnyOrder("127.0.0.1:" + port + "/declared",
                "127.0.0.1:" + port + "/declared-curl");
    }
}
