package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.AgentKit.BlockTool;
import dev.carapace.agent.AgentKit.SlowTool;
import dev.carapace.agent.tools.BuiltinTools;
import dev.carapace.agent.tools.LocalRunner;
import dev.carapace.model.ApiException;
import dev.carapace.store.AuditRecords;
import mockwebserver3.MockResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.carapace.agent.AgentKit.ask;
import static dev.carapace.agent.AgentKit.body;
import static dev.carapace.agent.AgentKit.firstUser;
import static dev.carapace.agent.AgentKit.limits;
import static dev.carapace.agent.AgentKit.text;
import static dev.carapace.agent.AgentKit.toolCalls;
import static dev.carapace.agent.AgentKit.toolMessages;
import static dev.carapace.agent.AgentKit.toolNames;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Sub-agent trees against a scripted upstream that answers by the run's task (the first user message) and how far
 * the run has got (the tool results it has seen): parents and children call the model concurrently.
 */
class SubAgentsTest {

    static final Duration WAIT = Duration.ofSeconds(15);
    static final AgentSpec.Compaction NO_COMPACTION = AgentSpec.Compaction.DEFAULT;

    @TempDir
    Path dir;
    AgentKit kit;
    /** Every request the upstream got, by task. */
    final Map<String, List<JsonNode>> seen = new ConcurrentHashMap<>();

    @BeforeEach
    void setUp() throws Exception {
        kit = new AgentKit(dir);
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    /** Answers with {@code script(task, tool results so far)}. */
    void script(java.util.function.BiFunction<String, Integer, MockResponse> script) {
        kit.a.respond(r -> {
            JsonNode body = body(r);
            String task = firstUser(body);
            seen.computeIfAbsent(task, k -> new CopyOnWriteArrayList<>()).add(body);
            return script.apply(task, toolMessages(body).size());
        });
    }

    static JsonNode json(String s) {
        try {
            return AgentKit.JSON.readTree(s);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + s, e);
        }
    }

    @Test
    void childrenRunInTheirOwnSessionsAndTheParentGetsTheirResultsAndTokens() throws Exception {
        script((task, results) -> switch (task) {
            case "plan" -> results == 0
                    ? toolCalls(200, 20, ask("s1", "spawn_agent", "{\"task\":\"child one\",\"wait\":true}"),
                                         ask("s2", "spawn_agent", "{\"task\":\"child two\",\"wait\":true}"))
                    : text("both done", 300, 5);
            default -> text("result of " + task, 100, 10);
        });
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("boss", "m-solo", List.of("spawn_agent"),
                limits(10, WAIT, 10_000, Duration.ofSeconds(10)), AgentSpec.SubAgents.DEFAULT, NO_COMPACTION));

        String run = rt.start("boss", "main", "plan");
        RunInfo info = rt.await(run, WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        // Its own two calls, and the two children's.
        assertThat(info.tokens()).isEqualTo(220 + 305 + 2 * 110);
        List<TranscriptEntry> t = rt.transcript("agent:boss:main");
        List<JsonNode> results = t.stream().filter(e -> e.role().equals("tool")).map(e -> e.content()).toList();
        assertThat(results).hasSize(2);
        for (JsonNode r : results) {
            assertThat(r.path("error").asBoolean()).isFalse();
            JsonNode child = json(r.path("content").asText());
            assertThat(child.path("status").asText()).isEqualTo("completed");
            assertThat(child.path("result").asText()).startsWith("result of child ");
            assertThat(child.path("tokens").asLong()).isEqualTo(110);
            String session = child.path("session").asText();
            assertThat(session).startsWith("agent:boss:sub.").isNotEqualTo("agent:boss:main");
            RunInfo childRun = rt.runs(session).get(0);
            assertThat(childRun.parentRunId()).isEqualTo(run);
            assertThat(rt.transcript(session).get(0).content().path("text").asText()).startsWith("child ");
        }
        // The tools appear only for an agent that enables them: spawn_agent brings wait_agents.
        assertThat(toolNames(seen.get("plan").get(0))).containsExactly("spawn_agent", "wait_agents");
    }

    @Test
    void depthAndChildrenLimitsAreToolErrorsTheModelSees() throws Exception {
        script((task, results) -> switch (task) {
            case "plan" -> results == 0
                    ? toolCalls(50, 10, ask("s1", "spawn_agent", "{\"task\":\"w1\",\"wait\":true}"),
                                        ask("s2", "spawn_agent", "{\"task\":\"w2\",\"wait\":true}"),
                                        ask("s3", "spawn_agent", "{\"task\":\"w3\",\"wait\":true}"))
                    : text("done", 50, 1);
            default -> results == 0
                    // a child at the deepest level still tries (it has no schema for it, but models invent calls)
                    ? toolCalls(10, 2, ask("d1", "spawn_agent", "{\"task\":\"deeper\"}"))
                    : text("did " + task, 10, 2);
        });
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("boss", "m-solo", List.of("spawn_agent", "read"),
                limits(10, WAIT, 100_000, Duration.ofSeconds(10)), new AgentSpec.SubAgents(1, 2, 8), NO_COMPACTION));

        RunInfo info = rt.await(rt.start("boss", "main", "plan"), WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        List<JsonNode> results = rt.transcript("agent:boss:main").stream().filter(e -> e.role().equals("tool"))
                .map(e -> e.content()).toList();
        assertThat(results).hasSize(3);
        assertThat(results.stream().filter(r -> r.path("error").asBoolean()))
                .singleElement().satisfies(r -> assertThat(json(r.path("content").asText()).path("error").asText())
                        .isEqualTo("children_limit"));
        // The children are at the tree's maximum depth: no sub-agent tools offered, and a try is refused.
        for (String w : List.of("w1", "w2", "w3")) {
            if (!seen.containsKey(w)) continue;
            assertThat(toolNames(seen.get(w).get(0))).containsExactly("read");
            String refusal = toolMessages(seen.get(w).get(1)).get(0)[1];
            assertThat(json(refusal).path("error").asText()).isEqualTo("depth_limit");
        }
        assertThat(seen.keySet()).isSubsetOf("plan", "w1", "w2", "w3").hasSize(3);
    }

    @Test
    void aChildGetsASliceOfTheParentsBudgetAndEndsWhenItIsSpent() throws Exception {
        SlowTool slow = new SlowTool();
        script((task, results) -> switch (task) {
            case "plan" -> results == 0
                    ? toolCalls(100, 20, ask("s1", "spawn_agent", "{\"task\":\"greedy\",\"agent\":\"worker\",\"wait\":true}"))
                    : text("the worker ran out", 150, 5);
            default -> toolCalls(800, 300, ask("t1", "slow", "{\"tag\":\"x\",\"ms\":1}"));
        });
        // 6,000 tokens, up to 5 children: each child may take a sixth of what is left (the parent keeps a share).
        AgentRuntime rt = kit.runtime(List.of(slow),
                kit.agent("boss", "m-solo", List.of("spawn_agent"), limits(10, WAIT, 6_000, Duration.ofSeconds(10)),
                        AgentSpec.SubAgents.DEFAULT, NO_COMPACTION),
                kit.agent("worker", "m-solo", List.of("slow"), limits(10, WAIT, 50_000, Duration.ofSeconds(10)),
                        AgentSpec.SubAgents.DEFAULT, NO_COMPACTION));

        RunInfo info = rt.await(rt.start("boss", "main", "plan"), WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        JsonNode child = json(rt.transcript("agent:boss:main").get(2).content().path("content").asText());
        assertThat(child.path("status").asText()).isEqualTo("limit_exceeded");
        assertThat(child.path("reason").asText()).contains("limit is 980").contains("share of its parent's budget");
        assertThat(child.path("agent").asText()).isEqualTo("worker");
        assertThat(seen.get("greedy")).hasSize(1);   // one call used the slice up; no second
        assertThat(info.tokens()).isEqualTo(120 + 1100 + 155);
    }

    @Test
    void cancellingTheRootCancelsTheWholeTreeAndConcurrencyIsCappedAcrossIt() throws Exception {
        BlockTool block = new BlockTool();
        script((task, results) -> switch (task) {
            case "root" -> results == 0
                    ? toolCalls(10, 2, ask("r1", "spawn_agent", "{\"task\":\"mid\"}"))
                    : toolCalls(10, 2, ask("r2", "wait_agents", "{}"));
            case "mid" -> switch (results) {
                case 0 -> toolCalls(10, 2, ask("m1", "spawn_agent", "{\"task\":\"leaf\",\"agent\":\"worker\"}"));
                case 1 -> toolCalls(10, 2, ask("m2", "spawn_agent", "{\"task\":\"leaf\",\"agent\":\"worker\"}"));
                default -> toolCalls(10, 2, ask("m3", "wait_agents", "{\"mode\":\"any\"}"));
            };
            default -> toolCalls(10, 2, ask("l1", "block", "{}"));
        });
        AgentSpec.Limits lim = limits(20, Duration.ofSeconds(30), 100_000, Duration.ofSeconds(20));
        AgentRuntime rt = kit.runtime(List.of(block),
                // boss has block too: a sub-agent gets only the tools its parent has
                kit.agent("boss", "m-solo", List.of("spawn_agent", "block"), lim, new AgentSpec.SubAgents(2, 5, 2), NO_COMPACTION),
                kit.agent("worker", "m-solo", List.of("block"), lim, AgentSpec.SubAgents.DEFAULT, NO_COMPACTION));

        String root = rt.start("boss", "main", "root");
        block.awaitEntered();
        // mid's second spawn finds the tree at its concurrency limit (mid and the leaf are running).
        await().atMost(WAIT).until(() -> seen.getOrDefault("mid", List.of()).size() >= 3);
        String midId = rt.transcript("agent:boss:main").stream().filter(e -> e.role().equals("tool")).findFirst()
                .map(e -> json(e.content().path("content").asText()).path("id").asText()).orElseThrow();
        assertThat(midId).isEqualTo("sub-1");
        String refusal = toolMessages(seen.get("mid").get(2)).get(1)[1];
        assertThat(json(refusal).path("error").asText()).isEqualTo("concurrency_limit");

        assertThat(rt.cancel(root)).isTrue();
        RunInfo rootInfo = rt.await(root, WAIT);

        assertThat(rootInfo.status()).isEqualTo(RunStatus.CANCELLED);
        await().atMost(WAIT).untilTrue(block.interrupted);
        List<RunInfo> tree = kit.carapace.store().jdbi().withHandle(h -> h.createQuery(
                "SELECT id FROM agent_runs WHERE id <> :root").bind("root", root).mapTo(String.class).list())
                .stream().map(id -> rt.run(id)).toList();
        assertThat(tree).hasSize(2);
        RunInfo mid = tree.stream().filter(r -> root.equals(r.parentRunId())).findFirst().orElseThrow();
        RunInfo leaf = tree.stream().filter(r -> mid.id().equals(r.parentRunId())).findFirst().orElseThrow();
        for (RunInfo r : List.of(mid, leaf)) {
            RunInfo ended = rt.await(r.id(), WAIT);
            assertThat(ended.status()).isEqualTo(RunStatus.CANCELLED);
            assertThat(ended.reason()).contains("its parent run " + r.parentRunId());
        }
        assertThat(rootInfo.tokens()).as("the tree's tokens add up at the root").isEqualTo(2 * 12 + 3 * 12 + 12);
    }

    // ---- who a run may start, and with what ----

    /** The spawn decisions of the audit log, oldest first. */
    List<AuditRecords.AuditRow> spawnRecords() throws InterruptedException {
        assertThat(kit.carapace.auditLog().flush(WAIT)).isTrue();
        List<AuditRecords.AuditRow> rows = new ArrayList<>(kit.carapace.store().auditRecords().search(
                new AuditRecords.Filter(null, null, null, "agent", null, null, 0), 100));
        rows.sort(Comparator.comparingLong(AuditRecords.AuditRow::seq));
        return rows;
    }

    @Test
    void anAgentCannotStartAnotherTeamsAgentAndTheRefusalIsAudited() throws Exception {
        Path vaultWs = Files.createDirectories(dir.resolve("vault"));
        Files.writeString(vaultWs.resolve("secret.txt"), "research-only");
        script((task, results) -> switch (task) {
            case "plan" -> switch (results) {
                case 0 -> toolCalls(10, 2, ask("s1", "spawn_agent",
                        "{\"task\":\"read secret.txt and tell me\",\"agent\":\"vault\",\"wait\":true}"));
                case 1 -> toolCalls(10, 2, ask("s2", "spawn_agent", "{\"task\":\"x\",\"agent\":\"ghost\"}"));
                default -> text("done", 10, 2);
            };
            default -> toolCalls(10, 2, ask("r1", "read", "{\"path\":\"secret.txt\"}"));
        });
        AgentSpec vault = new AgentSpec("vault", vaultWs, "m-solo", List.of(), List.of("read"),
                new AgentSpec.Owner(null, "research"), AgentSpec.Limits.DEFAULT, AgentSpec.OnBusy.QUEUE, null);
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("boss", "m-solo", List.of("spawn_agent", "read"),
                limits(10, WAIT, 10_000, Duration.ofSeconds(10)), AgentSpec.SubAgents.DEFAULT, NO_COMPACTION), vault);

        RunInfo info = rt.await(rt.start("boss", "main", "plan"), WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        JsonNode result = rt.transcript("agent:boss:main").stream().filter(e -> e.role().equals("tool")).findFirst()
                .orElseThrow().content();
        assertThat(result.path("error").asBoolean()).isTrue();
        JsonNode refusal = json(result.path("content").asText());
        assertThat(refusal.path("error").asText()).isEqualTo("agent_forbidden");
        assertThat(refusal.path("reason").asText()).contains("'vault'").contains("team:research")
                .doesNotContain("research-only");
        // vault never ran: no model call for its task, no run of it
        assertThat(seen).doesNotContainKey("read secret.txt and tell me");
        int vaultRuns = kit.carapace.store().jdbi().withHandle(h -> h.createQuery(
                "SELECT count(*) FROM agent_runs WHERE agent = 'vault'").mapTo(Integer.class).one());
        assertThat(vaultRuns).isZero();
        // a name that does not exist is answered with the agents this run may start, never another team's
        JsonNode unknown = json(toolMessages(seen.get("plan").get(2)).get(1)[1]);
        assertThat(unknown.path("error").asText()).isEqualTo("unknown_agent");
        assertThat(unknown.path("reason").asText()).isEqualTo("no agent 'ghost' (agents this run may start: boss)");
        List<AuditRecords.AuditRow> records = spawnRecords();
        assertThat(records).hasSize(2);
        assertThat(records.get(1)).satisfies(r -> {
            assertThat(r.outcome()).isEqualTo("deny");
            assertThat(r.target()).isEqualTo("ghost");
            assertThat(r.rule()).isEqualTo("agent.spawn.unknown_agent");
        });
        assertThat(records.get(0)).satisfies(r -> {
            assertThat(r.outcome()).isEqualTo("deny");
            assertThat(r.agent()).isEqualTo("boss");
            assertThat(r.action()).isEqualTo("spawn_agent");
            assertThat(r.target()).isEqualTo("vault");
            assertThat(r.rule()).isEqualTo("agent.spawn.agent_forbidden");
            assertThat(r.principal()).isEqualTo("acme/platform/alice");
            assertThat(r.reason()).contains("may not use it");
        });
    }

    @Test
    void aChildNeverGetsAToolItsParentLacks() throws Exception {
        Path marker = kit.workspace.resolve("pwned");
        script((task, results) -> switch (task) {
            case "plan" -> results == 0
                    ? toolCalls(10, 2, ask("s1", "spawn_agent", "{\"task\":\"run it\",\"agent\":\"ops\",\"wait\":true}"))
                    : text("done", 10, 2);
            // the child is not offered exec, but models invent calls
            default -> results == 0 ? toolCalls(10, 2, ask("x1", "exec", "{\"command\":\"touch pwned\"}"))
                    : text("could not", 10, 2);
        });
        List<AgentTool> exec = BuiltinTools.all(new LocalRunner(), null)
                .stream().filter(t -> t.name().equals("exec")).toList();
        AgentRuntime rt = kit.runtime(exec,
                kit.agent("boss", "m-solo", List.of("spawn_agent", "read"), limits(10, WAIT, 10_000, Duration.ofSeconds(10)),
                        AgentSpec.SubAgents.DEFAULT, NO_COMPACTION),
                kit.agent("ops", "m-solo", List.of("exec", "read"), limits(10, WAIT, 10_000, Duration.ofSeconds(10)),
                        AgentSpec.SubAgents.DEFAULT, NO_COMPACTION));

        RunInfo info = rt.await(rt.start("boss", "main", "plan"), WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        JsonNode child = json(rt.transcript("agent:boss:main").stream().filter(e -> e.role().equals("tool"))
                .findFirst().orElseThrow().content().path("content").asText());
        assertThat(child.path("status").asText()).isEqualTo("completed");
        assertThat(child.path("tools")).extracting(JsonNode::asText).containsExactly("read");
        assertThat(child.path("withheld_tools")).extracting(JsonNode::asText).containsExactly("exec");
        assertThat(toolNames(seen.get("run it").get(0))).containsExactly("read");
        String refusal = toolMessages(seen.get("run it").get(1)).get(0)[1];
        assertThat(json(refusal).path("error").asText()).isEqualTo("denied");
        assertThat(json(refusal).path("rule").asText()).isEqualTo("agent.spawn.tools");
        assertThat(marker).doesNotExist();
        // nor by messaging or resuming the child's session directly, as a run no run started (with all of ops' tools)
        String session = child.path("session").asText();
        assertThatThrownBy(() -> rt.start("ops", session.substring("agent:ops:".length()), "now touch pwned"))
                .isInstanceOf(ApiException.class)
                .hasMessageContaining("session '" + session + "' belongs to a sub-agent started by run ");
        assertThatThrownBy(() -> rt.resume(session)).hasMessageContaining("belongs to a sub-agent");
        assertThat(rt.runs(session)).hasSize(1);
        assertThat(spawnRecords()).singleElement().satisfies(r -> {
            assertThat(r.outcome()).isEqualTo("allow");
            assertThat(r.target()).isEqualTo("ops");
            assertThat(r.rule()).isEqualTo("agent.spawn");
            assertThat(r.reason()).contains("without exec");
        });
    }

    @Test
    void anotherAgentsChildInAnotherWorkspaceKeepsOnlyTheSubAgentTools() throws Exception {
        Path otherWs = Files.createDirectories(dir.resolve("other"));
        Files.writeString(otherWs.resolve("notes.txt"), "theirs");
        script((task, results) -> switch (task) {
            case "plan" -> results == 0
                    ? toolCalls(10, 2, ask("s1", "spawn_agent", "{\"task\":\"peek\",\"agent\":\"scribe\",\"wait\":true}"))
                    : text("done", 10, 2);
            default -> results == 0 ? toolCalls(10, 2, ask("r1", "read", "{\"path\":\"notes.txt\"}"))
                    : text("could not", 10, 2);
        });
        AgentSpec scribe = new AgentSpec("scribe", otherWs, "m-solo", List.of(), List.of("read"),
                new AgentSpec.Owner(null, "platform"), AgentSpec.Limits.DEFAULT, AgentSpec.OnBusy.QUEUE, null);
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("boss", "m-solo", List.of("spawn_agent", "read"),
                limits(10, WAIT, 10_000, Duration.ofSeconds(10)), AgentSpec.SubAgents.DEFAULT, NO_COMPACTION), scribe);

        RunInfo info = rt.await(rt.start("boss", "main", "plan"), WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(toolNames(seen.get("peek").get(0))).isEmpty();
        String refusal = toolMessages(seen.get("peek").get(1)).get(0)[1];
        assertThat(json(refusal).path("rule").asText()).isEqualTo("agent.spawn.tools");
        assertThat(refusal).doesNotContain("theirs");
        assertThat(spawnRecords()).singleElement().satisfies(r -> assertThat(r.reason()).contains("another workspace"));
    }

    @Test
    void aChildSpendsAsItsParentsOwnerUnderItsOwnAgentName() throws Exception {
        script((task, results) -> switch (task) {
            case "plan" -> results == 0
                    ? toolCalls(10, 2, ask("s1", "spawn_agent", "{\"task\":\"help\",\"agent\":\"helper\",\"wait\":true}"))
                    : text("done", 10, 2);
            default -> text("helped", 7, 3);
        });
        // helper belongs to team platform, not to alice: started by alice's agent, alice pays (and helper's budget too)
        AgentSpec helper = new AgentSpec("helper", kit.workspace, "m-solo", List.of(), List.of(),
                new AgentSpec.Owner(null, "platform"), AgentSpec.Limits.DEFAULT, AgentSpec.OnBusy.QUEUE, null);
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("boss", "m-solo", List.of("spawn_agent"),
                limits(10, WAIT, 10_000, Duration.ofSeconds(10)), AgentSpec.SubAgents.DEFAULT, NO_COMPACTION), helper);

        assertThat(rt.await(rt.start("boss", "main", "plan"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);

        await().atMost(WAIT).until(() -> kit.carapace.store().jdbi().withHandle(h -> h.createQuery(
                "SELECT count(*) FROM usage_records WHERE agent = 'helper'").mapTo(Integer.class).one()) == 1);
        List<String> payer = kit.carapace.store().jdbi().withHandle(h -> h.createQuery(
                "SELECT org || '/' || team || '/' || coalesce(user_id, '-') FROM usage_records WHERE agent = 'helper'")
                .mapTo(String.class).list());
        assertThat(payer).containsExactly("acme/platform/alice");
    }
}
