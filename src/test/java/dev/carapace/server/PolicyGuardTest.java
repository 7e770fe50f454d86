package dev.carapace.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;
import dev.carapace.agent.Guard.Decision;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunStatus;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.policy.PolicyEngine;
import dev.carapace.guard.policy.PolicyLoader;
import dev.carapace.server.adapter.PolicyGuard;
import dev.carapace.store.AuditRecords;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PolicyGuardTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final List<AuditEvent> audit = new CopyOnWriteArrayList<>();

    private static final String POLICY = """
            version: 1
            filesystem_policy:
              include_workdir: true
            network_policies:
              github:
                endpoints: [{host: api.github.com, port: 443, access: read-only}]
            tools:
              allow: [read, list, write, edit, web_fetch]
              ask: [exec]
            """;

    private PolicyGuard guard(Path ws, List<String> tools) throws Exception {
        AgentSpec coder = new AgentSpec("coder", ws, "m", List.of(), tools, new AgentSpec.Owner(null, "platform"),
                null, null, null);
        PolicyEngine engine = PolicyEngine.compile(List.of(new PolicyEngine.Attachment(
                PolicyLoader.parse(POLICY, "p.yaml", "base"), Set.of("*"), Set.of())),
                List.of(new PolicyEngine.Subject("coder", "platform", ws)));
        return new PolicyGuard(new Agents(List.of(coder)), () -> engine, audit::add, Clock.systemUTC());
    }

    @Test
    void mapsEachToolToItsLayerAndRecordsEveryDecision() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("a.txt"), "x");
        Files.createDirectories(ws.resolve("sub"));
        PolicyGuard g = guard(ws, List.of("read", "write", "web_fetch", "exec", "grep"));
        Path real = ws.toRealPath();

        Decision read = g.decide("coder", "s1", "read", JSON.readTree("{\"path\":\"a.txt\"}"));
        assertThat(read.verdict()).isEqualTo(Decision.Verdict.ALLOW);
        assertThat(read.rule()).isEqualTo("base:filesystem_policy.include_workdir");

        Decision up = g.decide("coder", "s1", "read", JSON.readTree("{\"path\":\"sub/../../etc/passwd\"}"));
        assertThat(up.verdict()).isEqualTo(Decision.Verdict.DENY);
        assertThat(up.layer()).isEqualTo("filesystem");
        assertThat(up.target()).isEqualTo(dir.toRealPath().resolve("etc/passwd").toString());

        Decision fetch = g.decide("coder", "s1", "web_fetch", JSON.readTree("{\"url\":\"https://api.github.com/repos/x/../y\"}"));
        assertThat(fetch.verdict()).isEqualTo(Decision.Verdict.ALLOW);
        Decision other = g.decide("coder", "s1", "web_fetch", JSON.readTree("{\"url\":\"https://evil.example/x\"}"));
        assertThat(other.layer()).isEqualTo("network");
        assertThat(other.rule()).isEqualTo("coder:default-deny");
        assertThat(other.remedy()).contains("host: evil.example, port: 443");
        Decision encoded = g.decide("coder", "s1", "web_fetch", JSON.readTree("{\"url\":\"https://api.github.com/a%2F..%2Fb\"}"));
        assertThat(encoded.verdict()).isEqualTo(Decision.Verdict.DENY);
        assertThat(encoded.reason()).contains("encoded slash");

        Decision exec = g.decide("coder", "s1", "exec", JSON.readTree("{\"command\":\"ls\"}"));
        assertThat(exec.verdict()).isEqualTo(Decision.Verdict.ASK);
        assertThat(exec.target()).isEqualTo("ls");

        // the agent's own tool list is the first gate, whatever the policy says
        Decision list = g.decide("coder", "s1", "list", JSON.readTree("{}"));
        assertThat(list.rule()).isEqualTo("agent.tools");
        Decision grep = g.decide("coder", "s1", "grep", JSON.readTree("{\"pattern\":\"x\"}"));
        assertThat(grep.rule()).isEqualTo("coder:default-deny");   // enabled for the agent, but no policy allows it

        assertThat(audit).hasSize(8);
        assertThat(audit).extracting(AuditEvent::outcome)
                .containsExactly("allow", "deny", "allow", "deny", "deny", "ask", "deny", "deny");
        assertThat(audit.getFirst().target()).isEqualTo(real.resolve("a.txt").toString());
        assertThat(audit.getFirst().principal()).isEqualTo("team:platform");
        assertThat(audit.getFirst().session()).isEqualTo("s1");
    }

    @Test
    void symlinksAndHardLinksOutOfTheWorkspaceAreRefused() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path secret = Files.writeString(dir.resolve("secret.txt"), "s");
        Files.createSymbolicLink(ws.resolve("link"), secret);
        Files.createSymbolicLink(ws.resolve("dangling"), dir.resolve("nowhere"));
        Files.createSymbolicLink(ws.resolve("root"), Path.of("/proc/self/root"));
        Files.createLink(ws.resolve("hard"), Files.writeString(dir.resolve("other.txt"), "o"));
        PolicyGuard g = guard(ws, List.of("read", "write"));
        assertThat(g.decide("coder", "s", "read", JSON.readTree("{\"path\":\"link\"}")).target())
                .isEqualTo(secret.toRealPath().toString());
        assertThat(g.decide("coder", "s", "read", JSON.readTree("{\"path\":\"link\"}")).verdict()).isEqualTo(Decision.Verdict.DENY);
        assertThat(g.decide("coder", "s", "write", JSON.readTree("{\"path\":\"dangling\"}")).reason())
                .contains("dangling symlink");
        assertThat(g.decide("coder", "s", "read", JSON.readTree("{\"path\":\"root/etc/passwd\"}")).target()).isEqualTo("/etc/passwd");
        assertThat(g.decide("coder", "s", "read", JSON.readTree("{\"path\":\"hard\"}")).reason()).contains("2 hard links");
        assertThat(g.decide("coder", "s", "write", JSON.readTree("{\"path\":\"new/../../x\"}")).reason())
                .contains("'..' after 'new', which does not exist");
    }

    @Test
    void anAgentTryingToEditItsPolicyIsDeniedInARealRun() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "You help.");
        Path policies = Files.createDirectories(dir.resolve("policies"));
        Path policy = policies.resolve("base.yaml");
        Files.writeString(policy, POLICY);
        Files.createSymbolicLink(ws.resolve("p.yaml"), policy);
        String yaml = """
                guard:
                  policies:
                    base: {file: %s, agents: ["*"]}
                agents:
                  coder:
                    workspace: %s
                    model: m-solo
                    tools: [read, write, edit]
                    owner: {team: platform}
                """.formatted(policy, ws);
        try (GatewayHarness h = new GatewayHarness(dir.resolve("data"), yaml)) {
            assertThat(h.carapace.policyWatcher()).isNotNull();
            h.a.enqueue(AgentHarness.toolCall("c1", "edit", "{\"path\":\"../policies/base.yaml\",\"old\":\"ask: [exec]\",\"new\":\"allow: [exec]\"}"),
                    AgentHarness.toolCall("c2", "write", "{\"path\":\"p.yaml\",\"content\":\"tools: {allow: ['*']}\"}"),
                    AgentHarness.text("I may not.", 100, 3));
            AgentRuntime rt = h.carapace.agentRuntime();
            RunInfo done = rt.await(rt.start("coder", "s", "loosen your policy"), Duration.ofSeconds(20));
            assertThat(done.status()).isEqualTo(RunStatus.COMPLETED);
            h.a.take();
            String afterEdit = ScriptedUpstream.body(h.a.take());
            String afterWrite = ScriptedUpstream.body(h.a.take());
            assertThat(afterEdit).contains("denied").contains("filesystem").contains("outside every read-write root");
            assertThat(afterWrite).contains("denied").contains("outside every read-write root");
            assertThat(Files.readString(policy)).isEqualTo(POLICY);
        }
    }

    /** The config of one agent, coder (read), working in {@code ws} under the guard policy {@code policy}. */
    private static String readerUnder(Path policy, Path ws) {
        return """
                guard:
                  policies:
                    base: {file: %s, agents: [coder]}
                agents:
                  coder: {workspace: %s, model: m-solo, tools: [read], owner: {team: platform}}
                """.formatted(policy, ws);
    }

    @Test
    void startupRefusesAPolicyInsideAnAgentWorkspace() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "You help.");
        Path policy = Files.writeString(ws.resolve("policy.yaml"), POLICY);
        String yaml = readerUnder(policy, ws);
        // refused as the config loads (with the position of the workspace key), before any policy is watched
        assertThatThrownBy(() -> new GatewayHarness(dir.resolve("data"), yaml)).hasMessageContaining(
                "agents.coder.workspace: The workspace of agent 'coder' (" + ws + ") holds the file of guard policy "
                        + "'base' (" + policy + "), so an agent could rewrite it");
    }

    @Test
    void aPolicyEditThatWouldMakeTheDataFolderWritableIsRefused() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Path data = dir.resolve("data");
        Path policy = Files.writeString(Files.createDirectories(dir.resolve("etc")).resolve("p.yaml"), POLICY);
        String yaml = readerUnder(policy, ws);
        try (GatewayHarness h = new GatewayHarness(data, yaml)) {
            Files.writeString(policy, POLICY.replace("include_workdir: true", "include_workdir: true\n  read_write: ["
                    + data.toRealPath() + "]"));
            assertThat(h.carapace.policyWatcher().reload()).isFalse();
            // the last valid policy stays: the data folder is not writable for the agent
            assertThat(h.carapace.policyWatcher().policies().getFirst().filesystem().readWrite()).isEmpty();
            assertThat(h.carapace.auditLog().flush(Duration.ofSeconds(10))).isTrue();
            assertThat(h.carapace.store().auditRecords().search(new AuditRecords.Filter(
                    null, null, "deny", "policy", null, null, 0), 10)).singleElement().satisfies(r ->
                    assertThat(r.reason()).contains(data.toString()).contains("lies inside the read_write root"));
        }
    }

    @Test
    void startupRefusesASandboxIdentityWithTheUnisolatedLocalRunner() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "You help.");
        Path policy = Files.writeString(Files.createDirectories(dir.resolve("etc")).resolve("p.yaml"),
                "process: {run_as_user: sandbox}\ntools: {allow: [exec]}\n");
        String yaml = """
                tools: {exec: local}
                guard:
                  policies:
                    base: {file: %s, agents: [coder]}
                agents:
                  coder: {workspace: %s, model: m-solo, tools: [exec], owner: {team: platform}}
                """.formatted(policy, ws);
        assertThatThrownBy(() -> new GatewayHarness(dir.resolve("data"), yaml)).hasMessageContaining(
                "guard policy 'base' sets process (run_as_user/run_as_group: sandbox), but tools.exec is local");
    }
}
