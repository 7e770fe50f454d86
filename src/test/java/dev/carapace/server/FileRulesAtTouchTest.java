package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.Agents;
import dev.carapace.agent.FileAccess;
import dev.carapace.agent.FileTarget;
import dev.carapace.agent.Guard.Decision;
import dev.carapace.agent.RunStatus;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;
import dev.carapace.agent.tools.FileTools;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.policy.PolicyEngine;
import dev.carapace.guard.policy.PolicyLoader;
import dev.carapace.server.adapter.PolicyGuard;
import dev.carapace.testing.ScriptedUpstream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The policy's file rules hold at the moment a tool touches a file, on the real path it opens: a swap after the
 * guard's up-front decision does not get around them, and neither does picking another tool (grep, glob, list,
 * edit) than the one a rule names.
 */
class FileRulesAtTouchTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    Path ws;
    PolicyGuard guard;
    final List<AuditEvent> audit = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        ws = Files.createDirectories(dir.resolve("ws")).toRealPath();
        Files.createDirectories(ws.resolve("a"));
        Files.writeString(ws.resolve("a/key"), "public TOKEN\n");
        Files.createDirectories(ws.resolve("secrets"));
        Files.writeString(ws.resolve("secrets/key"), "TOKEN=TOPSECRET-1\n");
        Files.writeString(ws.resolve(".env"), "TOKEN=TOPSECRET-2\n");
        Files.createDirectories(ws.resolve("ro"));
        Files.writeString(ws.resolve("ro/f.txt"), "original\n");
        Files.writeString(ws.resolve("app.txt"), "uses TOKEN\n");
        String policy = """
                version: 1
                filesystem_policy:
                  include_workdir: true
                  read_only: [%s]
                tools:
                  allow: [read, list, glob, grep, write, edit]
                  rules:
                    - {id: env-files, tool: read, target: "/**/.env", decision: deny}
                    - {id: secrets, tool: read, target: "/**/secrets/**", decision: deny}
                """.formatted(ws.resolve("ro"));
        AgentSpec coder = new AgentSpec("coder", ws, "m", List.of(), List.of("read", "list", "glob", "grep", "write",
                "edit"), new AgentSpec.Owner(null, "platform"), null, null, null);
        PolicyEngine engine = PolicyEngine.compile(List.of(new PolicyEngine.Attachment(
                PolicyLoader.parse(policy, "p.yaml", "base"), Set.of("*"), Set.of())),
                List.of(new PolicyEngine.Subject("coder", "platform", ws)));
        guard = new PolicyGuard(new Agents(List.of(coder)), () -> engine, audit::add, Clock.systemUTC());
    }

    private ToolResult run(String tool, String args) throws InterruptedException {
        AgentTool t = FileTools.all().stream().filter(x -> x.name().equals(tool)).findFirst().orElseThrow();
        return t.run(json(args), new ToolContext("coder", "s", ws, Duration.ofSeconds(10), 64 * 1024,
                guard.files("coder", "s")));
    }

    private static JsonNode json(String s) {
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw new IllegalArgumentException(s, e);
        }
    }

    private void swapToSymlink(String name, Path target) throws IOException {
        Files.move(ws.resolve(name), ws.resolve(name + ".moved"));
        Files.createSymbolicLink(ws.resolve(name), target);
    }

    @Test
    void aDirectorySwappedAfterTheGuardAllowedTheReadDoesNotLeakTheDeniedFile() throws Exception {
        assertThat(guard.decide("coder", "s", "read", json("{\"path\":\"a/key\"}")).verdict())
                .isEqualTo(Decision.Verdict.ALLOW);
        swapToSymlink("a", ws.resolve("secrets"));   // a symlink inside pointing inside: legal for the workspace
        ToolResult r = run("read", "{\"path\":\"a/key\"}");
        assertThat(r.content()).doesNotContain("TOPSECRET");
        assertThat(r.content()).isEqualTo("'a/key' is denied by policy: read '" + ws.resolve("secrets/key")
                + "' is denied by base:secrets (target /**/secrets/**)");
        assertThat(audit.getLast().outcome()).isEqualTo("deny");
        assertThat(audit.getLast().rule()).isEqualTo("base:secrets");
        assertThat(audit.getLast().target()).isEqualTo(ws.resolve("secrets/key").toString());
        assertThat(audit.getLast().session()).isEqualTo("s");
    }

    @Test
    void aDirectorySwappedAfterTheGuardAllowedTheWriteLeavesTheReadOnlyRootAlone() throws Exception {
        assertThat(guard.decide("coder", "s", "write", json("{\"path\":\"a/f.txt\"}")).verdict())
                .isEqualTo(Decision.Verdict.ALLOW);
        swapToSymlink("a", ws.resolve("ro"));
        ToolResult r = run("write", "{\"path\":\"a/f.txt\",\"content\":\"PWNED\"}");
        assertThat(r.error()).isTrue();
        assertThat(r.content()).startsWith("'a/f.txt' is denied by policy: '" + ws.resolve("ro/f.txt")
                + "' is under the read-only root");
        assertThat(Files.readString(ws.resolve("ro/f.txt"))).isEqualTo("original\n");
    }

    @Test
    void bruteForceSwapsBetweenDecisionAndReadNeverLeakTheDeniedFile() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger flips = new AtomicInteger();
        Path a = ws.resolve("a");
        Path real = ws.resolve("a.real");
        Thread attacker = Thread.ofPlatform().start(() -> {
            while (!stop.get()) {
                try {
                    if (Files.isSymbolicLink(a)) {
                        Files.delete(a);
                        Files.move(real, a);
                    } else {
                        Files.move(a, real);
                        Files.createSymbolicLink(a, ws.resolve("secrets"));
                    }
                    flips.incrementAndGet();
                } catch (IOException ignored) {
                    // raced with itself on a half-made swap: go on
                }
            }
        });
        int allowed = 0;
        long end = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        try {
            for (int i = 0; i < 50_000 && System.nanoTime() < end; i++) {
                if (guard.decide("coder", "s", "read", json("{\"path\":\"a/key\"}")).verdict() != Decision.Verdict.ALLOW) {
                    continue;
                }
                allowed++;
                assertThat(run("read", "{\"path\":\"a/key\"}").content()).doesNotContain("TOPSECRET");
            }
        } finally {
            stop.set(true);
            attacker.join();
        }
        assertThat(allowed).isGreaterThan(10);
        assertThat(flips.get()).isGreaterThan(10);
    }

    @Test
    void grepSkipsAndCountsFilesAReadRuleDenies() throws Exception {
        assertThat(guard.decide("coder", "s", "grep", json("{\"pattern\":\"TOKEN\"}")).verdict())
                .isEqualTo(Decision.Verdict.ALLOW);
        ToolResult r = run("grep", "{\"pattern\":\"TOKEN\"}");
        assertThat(r.content()).doesNotContain("TOPSECRET").doesNotContain(".env").doesNotContain("secrets/key");
        assertThat(r.content()).isEqualTo("a/key:1: public TOKEN\napp.txt:1: uses TOKEN\n[2 files skipped by policy]");
        // named directly, grep is refused the file the way read is
        assertThat(run("grep", "{\"pattern\":\"TOKEN\",\"path\":\".env\"}").content())
                .isEqualTo("'.env' is denied by policy: read '" + ws.resolve(".env")
                        + "' is denied by base:env-files (target /**/.env)");
    }

    @Test
    void globAndListDoNotRevealNamesUnderADeniedPath() throws Exception {
        String glob = run("glob", "{\"pattern\":\"**\"}").content();
        assertThat(glob).doesNotContain(".env").doesNotContain("secrets/key").contains("app.txt", "a/key");
        assertThat(glob).endsWith("secrets/\n[2 files skipped by policy]");
        String list = run("list", "{}").content();
        assertThat(list).doesNotContain(".env").contains("app.txt", "secrets/");
        assertThat(list).endsWith("secrets/\n[1 entry skipped by policy]");
        assertThat(run("list", "{\"path\":\"secrets\"}").content())
                .isEqualTo("[1 entry skipped by policy]");
        Files.createSymbolicLink(ws.resolve("shortcut"), ws.resolve("secrets/key"));
        assertThat(run("list", "{}").content()).contains("shortcut@ -> (link)").doesNotContain("secrets/key");
    }

    @Test
    void editIsRefusedAFileAReadRuleDenies() throws Exception {
        ToolResult r = run("edit", "{\"path\":\".env\",\"old\":\"TOPSECRET-2\",\"new\":\"x\"}");
        assertThat(r.error()).isTrue();
        assertThat(r.content()).startsWith("'.env' is denied by policy: read '").doesNotContain("TOPSECRET");
        assertThat(Files.readString(ws.resolve(".env"))).isEqualTo("TOKEN=TOPSECRET-2\n");
        assertThat(Files.exists(ws.resolve("secrets"), LinkOption.NOFOLLOW_LINKS)).isTrue();
    }

    /** A real gateway whose agent coder (read, grep) works in {@code workspace} under a policy with one read rule. */
    private GatewayHarness coderWithReadRule(Path workspace, String rule) throws Exception {
        Path policy = Files.writeString(Files.createDirectories(dir.resolve("policies")).resolve("base.yaml"), """
                version: 1
                filesystem_policy: {include_workdir: true}
                tools:
                  allow: [read, grep]
                  rules: [%s]
                """.formatted(rule));
        return new GatewayHarness(dir.resolve("data"), """
                guard:
                  policies:
                    base: {file: %s, agents: ["*"]}
                agents:
                  coder: {workspace: %s, model: m-solo, tools: [read, grep], owner: {team: platform}}
                """.formatted(policy, workspace));
    }

    @Test
    void aRealRunsGrepDoesNotReturnWhatAReadRuleDenies() throws Exception {
        Path real = Files.createDirectories(dir.resolve("run-ws"));
        Files.writeString(real.resolve("AGENTS.md"), "You help.");
        Files.writeString(real.resolve(".env"), "TOKEN=TOPSECRET-3\n");
        Files.writeString(real.resolve("app.txt"), "uses TOKEN\n");
        try (GatewayHarness h = coderWithReadRule(real, "{id: env-files, tool: read, target: \"/**/.env\", decision: deny}")) {
            h.a.enqueue(AgentHarness.toolCall("c1", "grep", "{\"pattern\":\"TOKEN\"}"), AgentHarness.text("done", 100, 3));
            AgentRuntime rt = h.carapace.agentRuntime();
            assertThat(rt.await(rt.start("coder", "s", "find tokens"), Duration.ofSeconds(20)).status())
                    .isEqualTo(RunStatus.COMPLETED);
            h.a.take();
            String afterGrep = ScriptedUpstream.body(h.a.take());
            assertThat(afterGrep).contains("app.txt:1: uses TOKEN").contains("1 file skipped by policy")
                    .doesNotContain("TOPSECRET");
        }
    }

    @Test
    void aFileAnAskRuleCoversIsReadOnlyOnceAnOperatorApprovedThatFileAndAGrepNeverReadsItUnasked() throws Exception {
        Path real = Files.createDirectories(dir.resolve("ask-ws"));
        Files.writeString(real.resolve("AGENTS.md"), "You help.");
        Files.createDirectories(real.resolve("hr"));
        Files.writeString(real.resolve("hr/salaries.txt"), "alice SALARY-91\n");
        Files.writeString(real.resolve("app.txt"), "SALARY is computed elsewhere\n");
        try (GatewayHarness h = coderWithReadRule(real, "{id: hr, tool: read, target: \"/**/hr/**\", decision: ask}")) {
            h.a.enqueue(AgentHarness.toolCall("c1", "grep", "{\"pattern\":\"SALARY\"}"),
                    AgentHarness.toolCall("c2", "read", "{\"path\":\"hr/salaries.txt\"}"), AgentHarness.text("done", 100, 3));
            AgentRuntime rt = h.carapace.agentRuntime();
            String run = rt.start("coder", "s", "find salaries");
            // the grep runs without asking, and skips the file; the read names it and waits for an operator
            String[] id = new String[1];
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> {
                JsonNode list = JSON.readTree(h.get("/api/approvals", h.adminKey).body()).path("data");
                if (list.isEmpty()) return false;
                id[0] = list.get(0).path("id").asText();
                return true;
            });
            assertThat(h.post("/api/approvals/" + id[0] + "/approve", h.adminKey, "{}").statusCode()).isEqualTo(200);
            assertThat(rt.await(run, Duration.ofSeconds(20)).status()).isEqualTo(RunStatus.COMPLETED);
            h.a.take();
            String afterGrep = ScriptedUpstream.body(h.a.take());
            assertThat(afterGrep).contains("app.txt:1: SALARY is computed").contains("1 file skipped by policy")
                    .doesNotContain("SALARY-91");
            String afterRead = ScriptedUpstream.body(h.a.take());
            assertThat(afterRead).contains("alice SALARY-91");
        }
    }

    /** A tool added later, unknown to the guard by name, that reads the file its "file" argument names. */
    private static final class CatTool implements AgentTool {
        public String name() { return "cat"; }
        public String description() { return "cat"; }
        public ObjectNode parameters() { return JSON.createObjectNode(); }
        public FileTarget fileTarget() {
            return new FileTarget("file", null, FileAccess.READ);
        }
        public ToolResult run(JsonNode arguments, ToolContext context) { return ToolResult.ok("unused"); }
    }

    @Test
    void aToolDeclaringItReadsAFileIsJudgedOnThatFileWithoutBeingNamedInTheGuard() throws Exception {
        String policy = """
                version: 1
                filesystem_policy: {include_workdir: true}
                tools:
                  allow: [cat]
                  rules: [{id: env-files, tool: cat, target: "/**/.env", decision: deny}]
                """;
        AgentSpec coder = new AgentSpec("coder", ws, "m", List.of(), List.of("cat"), new AgentSpec.Owner(null, "platform"),
                null, null, null);
        PolicyEngine engine = PolicyEngine.compile(List.of(new PolicyEngine.Attachment(
                PolicyLoader.parse(policy, "p.yaml", "base"), Set.of("*"), Set.of())),
                List.of(new PolicyEngine.Subject("coder", "platform", ws)));
        PolicyGuard g = new PolicyGuard(new Agents(List.of(coder)), () -> engine, audit::add, Clock.systemUTC(),
                List.of(new CatTool()));
        Decision env = g.decide("coder", "s", "cat", json("{\"file\":\".env\"}"));
        assertThat(env.verdict()).isEqualTo(Decision.Verdict.DENY);
        assertThat(env.rule()).isEqualTo("base:env-files");
        assertThat(env.target()).isEqualTo(ws.resolve(".env").toString());
        Decision out = g.decide("coder", "s", "cat", json("{\"file\":\"../outside.txt\"}"));
        assertThat(out.layer()).isEqualTo("filesystem");
        assertThat(out.reason()).contains("outside every readable root");
        assertThat(g.decide("coder", "s", "cat", json("{}")).reason()).isEqualTo("the call names no path");
    }
}
