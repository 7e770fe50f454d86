package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.tools.FileTools;
import dev.carapace.identity.Principal;
import dev.carapace.server.adapter.StoreSessions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.carapace.agent.AgentKit.ask;
import static dev.carapace.agent.AgentKit.limits;
import static dev.carapace.agent.AgentKit.text;
import static dev.carapace.agent.AgentKit.toolCalls;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which skills a run follows, as the runtime tells the guard and the tools: from the turn after a successful
 * {@code skill} call, for the rest of its session (later runs read it from the transcript, on a new runtime too),
 * and for its sub-agents as the level above theirs.
 */
class FollowingTest {

    static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;
    AgentKit kit;
    /** What the guard was asked: agent, tool, the skills of the level asked about, and of the level above. */
    final List<String> asked = new CopyOnWriteArrayList<>();
    /** What the probe tool saw in its context: the skills of each level, this run's first. */
    final List<List<Set<String>>> probed = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        kit = new AgentKit(dir);
    }

    @AfterEach
    void tearDown() {
        closing.forEach(AgentRuntime::close);
        kit.close();
    }

    /** {@code skill {name?, action?}}: "reads" a skill; fails for a name starting with "missing". */
    static final class SkillStub implements AgentTool {
        @Override public String name() { return Following.SKILL_TOOL; }

        @Override public String description() { return "Reads a skill."; }

        @Override public ObjectNode parameters() { return AgentKit.JSON.createObjectNode().put("type", "object"); }

        @Override
        public ToolResult run(JsonNode arguments, ToolContext context) {
            String name = arguments.path("name").asText();
            return name.startsWith("missing") ? ToolResult.error("no skill '" + name + "'") : ToolResult.ok("# Skill " + name);
        }
    }

    /** {@code probe {}}: notes the skills its context says the run follows. */
    final class Probe implements AgentTool {
        @Override public String name() { return "probe"; }

        @Override public String description() { return "Probes."; }

        @Override public ObjectNode parameters() { return AgentKit.JSON.createObjectNode().put("type", "object"); }

        @Override
        public ToolResult run(JsonNode arguments, ToolContext context) {
            List<Set<String>> levels = new ArrayList<>();
            for (Following f : context.following().levels()) levels.add(f.skills());
            probed.add(levels);
            return ToolResult.ok("probed");
        }
    }

    /** Started once {@code block} runs; it then waits until the run is stopped. */
    final java.util.concurrent.CountDownLatch blocking = new java.util.concurrent.CountDownLatch(1);

    /** {@code block {}}: waits until interrupted (the gateway shutting down). */
    final class Block implements AgentTool {
        @Override public String name() { return "block"; }

        @Override public String description() { return "Blocks."; }

        @Override public ObjectNode parameters() { return AgentKit.JSON.createObjectNode().put("type", "object"); }

        @Override
        public ToolResult run(JsonNode arguments, ToolContext context) {
            blocking.countDown();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return ToolResult.ok("unblocked");
        }
    }

    AgentRuntime runtime(AgentSpec agent) {
        Agents registry = new Agents(List.of(agent));
        Guard guard = new Guard() {
            @Override
            public Decision decide(String agentId, String sessionKey, String tool, JsonNode arguments) {
                throw new AssertionError("the runtime asks with what the run follows");
            }

            @Override
            public Decision decide(String agentId, String sessionKey, String tool, JsonNode arguments, Following f) {
                assertThat(f.agentId()).isEqualTo(agentId);
                asked.add(agentId + " " + tool + " " + f.skills() + " above=" + (f.parent() == null ? "-" : f.parent().skills()));
                return Decision.allow("test");
            }
        };
        List<AgentTool> tools = new ArrayList<>(FileTools.all());
        tools.add(new SkillStub());
        tools.add(new Probe());
        tools.add(new Block());
        AgentRuntime rt = new AgentRuntime(registry, kit.carapace.gateway(), new StoreSessions(kit.carapace.store().sessions()),
                guard, tools, spec -> Principal.agent("acme", "platform", "alice", spec.id()), new RunEvents(),
                Clock.systemUTC());
        closing.add(rt);
        return rt;
    }

    final List<AgentRuntime> closing = new ArrayList<>();

    AgentSpec agent() {
        return kit.agent("boss", "m-solo", List.of("skill", "probe", "block", "spawn_agent"),
                limits(10, WAIT, 100_000, Duration.ofSeconds(10)), AgentSpec.SubAgents.DEFAULT, AgentSpec.Compaction.DEFAULT);
    }

    @Test
    void aRunFollowsASkillFromTheTurnAfterItLoadedItAndTheSessionsNextRunFromItsStart() throws Exception {
        AgentRuntime rt = runtime(agent());
        kit.a.enqueue(
                toolCalls(10, 2, ask("p0", "probe", "{}"), ask("k1", "skill", "{\"name\":\"weather\"}")),
                toolCalls(10, 2, ask("k2", "skill", "{\"name\":\"missing-one\"}"), ask("k3", "skill", "{\"action\":\"list\",\"name\":\"github\"}")),
                toolCalls(10, 2, ask("p1", "probe", "{}")),
                text("done", 10, 2),
                toolCalls(10, 2, ask("p2", "probe", "{}")),
                text("done again", 10, 2));
        assertThat(rt.await(rt.start("boss", "s", "check the weather"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(rt.await(rt.start("boss", "s", "again"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);

        assertThat(asked).containsExactly(
                "boss probe [] above=-", "boss skill [] above=-",
                // loaded: from the next turn on; a failed load and a listing load nothing
                "boss skill [weather] above=-", "boss skill [weather] above=-",
                "boss probe [weather] above=-",
                // the next run of the same session reads its transcript: it follows the skill from its first call
                "boss probe [weather] above=-");
        assertThat(probed).containsExactly(List.of(Set.of()), List.of(Set.of("weather")), List.of(Set.of("weather")));

        // another session of the agent read nothing
        kit.a.enqueue(toolCalls(10, 2, ask("p3", "probe", "{}")), text("elsewhere", 10, 2));
        assertThat(rt.await(rt.start("boss", "t", "elsewhere"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(asked.getLast()).isEqualTo("boss probe [] above=-");
    }

    @Test
    void aNewRuntimeOnTheSameStoreFollowsWhatTheSessionRead() throws Exception {
        AgentRuntime first = runtime(agent());
        kit.a.enqueue(toolCalls(10, 2, ask("k1", "skill", "{\"name\":\"weather\"}")), text("read", 10, 2));
        assertThat(first.await(first.start("boss", "s", "read it"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        first.close();

        AgentRuntime second = runtime(agent());
        kit.a.enqueue(toolCalls(10, 2, ask("p1", "probe", "{}")), text("done", 10, 2));
        assertThat(second.await(second.start("boss", "s", "again"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(asked.getLast()).isEqualTo("boss probe [weather] above=-");
    }

    @Test
    void aRunResumedAfterTheGatewayStoppedFollowsWhatTheInterruptedRunRead() throws Exception {
        AgentRuntime first = runtime(agent());
        kit.a.enqueue(toolCalls(10, 2, ask("k1", "skill", "{\"name\":\"weather\"}")),
                toolCalls(10, 2, ask("b1", "block", "{}")));
        String run = first.start("boss", "s", "read it, then wait");
        assertThat(blocking.await(15, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        first.close();
        assertThat(first.await(run, WAIT).status()).isEqualTo(RunStatus.INTERRUPTED);

        AgentRuntime second = runtime(agent());
        kit.a.enqueue(toolCalls(10, 2, ask("p1", "probe", "{}")), text("done", 10, 2));
        assertThat(second.await(second.resume(agent().sessionKey("s")), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(asked.getLast()).isEqualTo("boss probe [weather] above=-");
        assertThat(probed.getLast()).containsExactly(Set.of("weather"));
    }

    static SessionStore.Entry row(long seq, String role, String json) {
        return new SessionStore.Entry("agent:boss:s", seq, "r", role, json, null, null, java.time.Instant.EPOCH);
    }

    static String assistant(String... calls) {
        return "{\"text\":\"\",\"tool_calls\":[" + String.join(",", calls) + "]}";
    }

    static String skillCall(String id, String arguments) {
        return "{\"id\":\"" + id + "\",\"name\":\"skill\",\"arguments\":" + AgentKit.JSON.valueToTree(arguments) + "}";
    }

    static String result(String id, String name, boolean error) {
        return "{\"tool_call_id\":\"" + id + "\",\"name\":\"" + name + "\",\"content\":\"x\",\"error\":" + error + "}";
    }

    @Test
    void theTranscriptTellsWhichSkillsWereReadSummarizedOrNot() {
        List<SessionStore.Entry> rows = List.of(
                row(1, "user", "{\"text\":\"read the skill weather; {\\\"name\\\":\\\"fake\\\"}\"}"),
                row(2, "assistant", assistant(skillCall("k1", "{\"name\":\"weather\"}"),
                        skillCall("k2", "{\"name\":\"missing\"}"), skillCall("k3", "{\"action\":\"list\",\"name\":\"x\"}"))),
                row(3, "tool", result("k2", "skill", true)),
                row(4, "tool", result("k1", "skill", false)),
                row(5, "tool", result("k3", "skill", false)),
                // the same call id in a later turn: a failed read there does not undo the earlier one, nor count
                row(6, "assistant", assistant(skillCall("k1", "{\"name\":\"github\",\"file\":\"a.md\"}"),
                        skillCall("k9", "{\"name\":\"never-answered\"}"), skillCall("k5", "not json"))),
                row(7, "tool", result("k1", "skill", true)),
                row(8, "summary", "{\"text\":\"the agent read weather\",\"through\":7}"),
                // a result whose call is not the skill tool's, with a skill's name in it
                row(9, "assistant", "{\"text\":\"\",\"tool_calls\":[{\"id\":\"p1\",\"name\":\"probe\",\"arguments\":\"{\\\"name\\\":\\\"notes\\\"}\"}]}"),
                row(10, "tool", result("p1", "skill", false)),
                row(11, "assistant", assistant(skillCall("k7", "{\"name\":\"notes\",\"file\":\"b.md\"}"))),
                row(12, "tool", result("k7", "skill", false)));
        // weather stays followed though a summary replaced its read; a file of notes counts as reading notes
        assertThat(Transcript.skillsRead(rows)).containsExactly("weather", "notes");
        assertThat(Transcript.skillsRead(rows.subList(0, 3))).isEmpty();
    }

    @Test
    void aSubAgentIsAskedAboutWithItsParentsSkillsAsTheLevelAbove() throws Exception {
        AgentRuntime rt = runtime(agent());
        kit.a.enqueue(
                toolCalls(10, 2, ask("k1", "skill", "{\"name\":\"weather\"}")),
                toolCalls(10, 2, ask("s1", "spawn_agent", "{\"task\":\"child\",\"wait\":true}")),
                toolCalls(10, 2, ask("c1", "probe", "{}")),
                text("child done", 10, 2),
                text("done", 10, 2));
        assertThat(rt.await(rt.start("boss", "s", "delegate"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);

        // The child's call is decided for the child (following nothing itself) and for its parent (following weather).
        assertThat(asked).contains("boss probe [] above=[weather]", "boss probe [weather] above=-");
        assertThat(probed).containsExactly(List.of(Set.of(), Set.of("weather")));
    }

    /**
     * Bug: a parent could have a sub-agent read a skill and hand its instructions up in its result; the child was
     * held to the skill, the parent (which then acts on the instructions) was not. A finished child's skills now pass
     * to the parent with its result, and a later run of the parent's session (a new runtime too) still follows them.
     */
    @Test
    void aSubAgentThatReadASkillForItsParentNoLongerLeavesTheParentFree() throws Exception {
        AgentRuntime rt = runtime(agent());
        kit.a.enqueue(
                toolCalls(10, 2, ask("s1", "spawn_agent", "{\"task\":\"read skill weather and tell me its steps\",\"wait\":true}")),
                toolCalls(10, 2, ask("c1", "skill", "{\"name\":\"weather\"}")),
                text("the steps: curl wttr.in", 10, 2),
                toolCalls(10, 2, ask("p1", "probe", "{}")),
                text("done", 10, 2));
        assertThat(rt.await(rt.start("boss", "s", "delegate"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(asked.getLast()).isEqualTo("boss probe [weather] above=-");
        assertThat(probed.getLast()).containsExactly(Set.of("weather"));
        rt.close();

        AgentRuntime second = runtime(agent());
        kit.a.enqueue(toolCalls(10, 2, ask("p2", "probe", "{}")), text("done", 10, 2));
        assertThat(second.await(second.start("boss", "s", "again"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(asked.getLast()).isEqualTo("boss probe [weather] above=-");
    }
}
