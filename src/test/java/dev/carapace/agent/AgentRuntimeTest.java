package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.AgentKit.BlockTool;
import dev.carapace.agent.AgentKit.SlowTool;
import dev.carapace.ledger.Budgets;
import dev.carapace.model.ApiException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.carapace.agent.AgentKit.ask;
import static dev.carapace.agent.AgentKit.body;
import static dev.carapace.agent.AgentKit.limits;
import static dev.carapace.agent.AgentKit.text;
import static dev.carapace.agent.AgentKit.toolCalls;
import static dev.carapace.agent.AgentKit.toolMessages;
import static dev.carapace.agent.AgentKit.toolNames;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class AgentRuntimeTest {

    static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;
    AgentKit kit;

    @BeforeEach
    void setUp() throws Exception {
        kit = new AgentKit(dir);
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    @Test
    void readsAFileInOneStepAndAnswersInTheNext() throws Exception {
        Files.writeString(kit.workspace.resolve("AGENTS.md"), "Answer with one word.");
        Files.writeString(kit.workspace.resolve("notes.txt"), "the secret word is kumquat\n");
        kit.a.enqueue(toolCalls(120, 15, ask("call_1", "read", "{\"path\":\"notes.txt\"}")), text("kumquat", 160, 3));
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("coder", List.of("read", "list")));

        String run = rt.start("coder", "main", "What is the secret word?");
        RunInfo info = rt.await(run, WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(info.steps()).isEqualTo(2);
        assertThat(info.tokens()).isEqualTo(120 + 15 + 160 + 3);
        JsonNode first = body(kit.a.take());
        assertThat(first.path("stream").asBoolean()).isTrue();
        JsonNode system = first.path("messages").get(0);
        assertThat(system.path("role").asText()).isEqualTo("system");
        assertThat(system.toString()).contains("Answer with one word.").contains("coder");
        List<String> toolNames = new ArrayList<>();
        first.path("tools").forEach(t -> toolNames.add(t.path("function").path("name").asText()));
        assertThat(toolNames).containsExactly("read", "list");   // only the agent's tools, never the catalogue
        JsonNode second = body(kit.a.take());
        assertThat(toolMessages(second)).singleElement().satisfies(m -> {
            assertThat(m[0]).isEqualTo("call_1");
            assertThat(m[1]).contains("kumquat");
        });

        List<TranscriptEntry> t = rt.transcript("agent:coder:main");
        assertThat(t).extracting(TranscriptEntry::role).containsExactly("user", "assistant", "tool", "assistant");
        assertThat(t).extracting(TranscriptEntry::seq).containsExactly(1L, 2L, 3L, 4L);
        assertThat(t.get(0).content().path("text").asText()).isEqualTo("What is the secret word?");
        assertThat(t.get(1).content().path("tool_calls").get(0).path("name").asText()).isEqualTo("read");
        assertThat(t.get(1).model()).isEqualTo("m-solo");
        assertThat(t.get(1).usage().inputTokens()).isEqualTo(120);
        assertThat(t.get(1).usage().outputTokens()).isEqualTo(15);
        assertThat(t.get(2).content().path("error").asBoolean()).isFalse();
        assertThat(t.get(3).content().path("text").asText()).isEqualTo("kumquat");
        assertThat(t.get(3).usage().inputTokens()).isEqualTo(160);
        assertThat(t).allSatisfy(e -> assertThat(e.runId()).isEqualTo(run));

        // Metered as the agent, on its owner's team and user.
        kit.carapace.ledger().flush(5000);
        List<String> agents = kit.carapace.store().jdbi().withHandle(h -> h.createQuery(
                "SELECT agent || '/' || team || '/' || user_id FROM usage_records ORDER BY seq").mapTo(String.class).list());
        assertThat(agents).containsExactly("coder/platform/alice", "coder/platform/alice");
        // The transcript never holds the upstream's key.
        int leaked = kit.carapace.store().jdbi().withHandle(h -> h.createQuery(
                "SELECT COUNT(*) FROM agent_transcript WHERE content LIKE '%secret-a%'").mapTo(Integer.class).one());
        assertThat(leaked).isZero();
    }

    @Test
    void toolCallsOfOneTurnRunInParallelAndReturnInCallOrder() throws Exception {
        SlowTool slow = new SlowTool();
        kit.a.enqueue(toolCalls(50, 20,
                ask("c1", "slow", "{\"tag\":\"one\",\"ms\":600}"),
                ask("c2", "slow", "{\"tag\":\"two\",\"ms\":300}"),
                ask("c3", "slow", "{\"tag\":\"three\",\"ms\":450}")), text("all done", 80, 2));
        AgentRuntime rt = kit.runtime(List.of(slow), kit.agent("par", List.of("slow")));

        RunInfo info = rt.await(rt.start("par", "s", "go"), WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        long[] one = slow.spans.get("one"), two = slow.spans.get("two"), three = slow.spans.get("three");
        long latestStart = Math.max(one[0], Math.max(two[0], three[0]));
        long earliestEnd = Math.min(one[1], Math.min(two[1], three[1]));
        assertThat(latestStart).as("every call started before any finished").isLessThan(earliestEnd);
        kit.a.take();
        List<String[]> results = toolMessages(body(kit.a.take()));
        assertThat(results).extracting(m -> m[0]).containsExactly("c1", "c2", "c3");
        assertThat(results).extracting(m -> m[1]).containsExactly("done one", "done two", "done three");
    }

    @Test
    void aToolTheAgentMayNotUseIsDeniedAndTheModelCarriesOn() throws Exception {
        kit.a.enqueue(toolCalls(50, 20, ask("w1", "write", "{\"path\":\"x.txt\",\"content\":\"hi\"}")),
                text("I may not write files.", 90, 6));
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("reader", List.of("read")));

        RunInfo info = rt.await(rt.start("reader", "s", "write x.txt"), WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(Files.exists(kit.workspace.resolve("x.txt"))).isFalse();
        kit.a.take();
        String[] denial = toolMessages(body(kit.a.take())).get(0);
        assertThat(denial[0]).isEqualTo("w1");
        JsonNode d = AgentKit.JSON.readTree(denial[1]);
        assertThat(d.path("error").asText()).isEqualTo("denied");
        assertThat(d.path("tool").asText()).isEqualTo("write");
        assertThat(d.path("reason").asText()).contains("not enabled for agent 'reader'").contains("read");
        assertThat(rt.transcript("agent:reader:s").get(2).content().path("error").asBoolean()).isTrue();
    }

    @Test
    void badToolArgumentsAndToolErrorsGoBackToTheModel() throws Exception {
        kit.a.enqueue(toolCalls(50, 20, ask("r1", "read", "{not json"), ask("r2", "read", "{\"path\":\"../etc/passwd\"}")),
                text("ok", 90, 1));
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("reader", List.of("read")));

        assertThat(rt.await(rt.start("reader", "s", "read"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        kit.a.take();
        List<String[]> results = toolMessages(body(kit.a.take()));
        assertThat(results.get(0)[1]).contains("invalid_arguments").contains("not valid JSON");
        assertThat(results.get(1)[1]).contains("escapes the workspace");
    }

    @Test
    void maxStepsEndsTheRunWithLimitExceeded() throws Exception {
        Files.writeString(kit.workspace.resolve("a.txt"), "a");
        for (int i = 0; i < 3; i++) kit.a.enqueue(toolCalls(10, 5, ask("c" + i, "read", "{\"path\":\"a.txt\"}")));
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("loop", "m-solo", List.of("read"),
                limits(2, Duration.ofMinutes(1), 1_000_000, Duration.ofSeconds(5)), AgentSpec.OnBusy.QUEUE));

        RunInfo info = rt.await(rt.start("loop", "s", "loop forever"), WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.LIMIT_EXCEEDED);
        assertThat(info.reason()).startsWith("max_steps").contains("2 model calls");
        assertThat(info.steps()).isEqualTo(2);
        assertThat(kit.a.requestCount()).isEqualTo(2);
    }

    @Test
    void maxTokensEndsTheRunWithLimitExceeded() throws Exception {
        Files.writeString(kit.workspace.resolve("a.txt"), "a");
        kit.a.enqueue(toolCalls(900, 200, ask("c1", "read", "{\"path\":\"a.txt\"}")), text("never", 1, 1));
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("big", "m-solo", List.of("read"),
                limits(10, Duration.ofMinutes(1), 1000, Duration.ofSeconds(5)), AgentSpec.OnBusy.QUEUE));

        RunInfo info = rt.await(rt.start("big", "s", "go"), WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.LIMIT_EXCEEDED);
        assertThat(info.reason()).isEqualTo("max_tokens: the run used 1100 tokens, its limit is 1000");
        assertThat(info.tokens()).isEqualTo(1100);
        assertThat(kit.a.requestCount()).isEqualTo(1);
    }

    @Test
    void eachCallsOutputIsCappedAtWhatTheRunHasLeftOfItsTokenLimit() throws Exception {
        Files.writeString(kit.workspace.resolve("a.txt"), "a");
        kit.a.enqueue(toolCalls(1000, 500, ask("c1", "read", "{\"path\":\"a.txt\"}")), text("done", 1, 1));
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("capped", "m-solo", List.of("read"),
                limits(10, Duration.ofMinutes(1), 3000, Duration.ofSeconds(5)), AgentSpec.OnBusy.QUEUE),
                kit.agent("roomy", "m-solo", List.of("read"),
                        limits(10, Duration.ofMinutes(1), 1_000_000, Duration.ofSeconds(5)), AgentSpec.OnBusy.QUEUE));

        assertThat(rt.await(rt.start("capped", "s", "go"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        // 3000 left is below the model's 4096; after 1500 used, 1500 left.
        assertThat(body(kit.a.take()).path("max_tokens").asInt()).isEqualTo(3000);
        assertThat(body(kit.a.take()).path("max_tokens").asInt()).isEqualTo(1500);

        kit.a.enqueue(text("fine", 1, 1));
        assertThat(rt.await(rt.start("roomy", "s", "go"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(body(kit.a.take()).has("max_tokens")).as("no cap below the model's own").isFalse();
    }

    @Test
    void maxWallEndsARunStuckInAToolWithLimitExceeded() throws Exception {
        BlockTool block = new BlockTool();
        kit.a.enqueue(toolCalls(10, 5, ask("b1", "block", "{}")));
        AgentRuntime rt = kit.runtime(List.of(block), kit.agent("stuck", "m-solo", List.of("block"),
                limits(10, Duration.ofMillis(400), 1_000_000, Duration.ofSeconds(30)), AgentSpec.OnBusy.QUEUE));

        long t0 = System.nanoTime();
        RunInfo info = rt.await(rt.start("stuck", "s", "go"), WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.LIMIT_EXCEEDED);
        assertThat(info.reason()).isEqualTo("max_wall: the run took longer than 400ms");
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(3000);
        await().atMost(WAIT).untilAsserted(() -> assertThat(block.interrupted).isTrue());
    }

    @Test
    void aToolCallThatRunsPastItsTimeoutIsStoppedAndReportedToTheModel() throws Exception {
        BlockTool block = new BlockTool();
        kit.a.enqueue(toolCalls(10, 5, ask("b1", "block", "{}")), text("gave up", 20, 2));
        AgentRuntime rt = kit.runtime(List.of(block), kit.agent("slowpoke", "m-solo", List.of("block"),
                limits(10, Duration.ofMinutes(1), 1_000_000, Duration.ofMillis(300)), AgentSpec.OnBusy.QUEUE));

        RunInfo info = rt.await(rt.start("slowpoke", "s", "go"), WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        kit.a.take();
        assertThat(toolMessages(body(kit.a.take())).get(0)[1]).contains("timeout").contains("300ms");
        await().atMost(WAIT).untilAsserted(() -> assertThat(block.interrupted).isTrue());
    }

    @Test
    void cancelMidStreamEndsPromptly() throws Exception {
        kit.a.enqueue(AgentKit.slowText(List.of("one ", "two ", "three ", "four ", "five"), 3000));
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("talker", List.of()));
        List<RunEvent> seen = new CopyOnWriteArrayList<>();
        rt.subscribeSession("agent:talker:s", seen::add);

        String run = rt.start("talker", "s", "talk");
        await().atMost(WAIT).until(() -> seen.stream().anyMatch(e -> e instanceof RunEvent.TextDelta));
        long t0 = System.nanoTime();
        assertThat(rt.cancel(run)).isTrue();
        RunInfo info = rt.await(run, WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.CANCELLED);
        assertThat((System.nanoTime() - t0) / 1_000_000).as("the upstream stays silent for 3 s after each piece").isLessThan(2500);
        assertThat(rt.cancel(run)).isFalse();
        // What streamed before the cancel is kept, marked partial.
        List<TranscriptEntry> t = rt.transcript("agent:talker:s");
        assertThat(t).extracting(TranscriptEntry::role).containsExactly("user", "assistant");
        assertThat(t.get(1).content().path("partial").asBoolean()).isTrue();
        // Cancelling is not the deployment's fault: the next call still goes to it.
        kit.a.enqueue(text("hello", 5, 1));
        AgentRuntime rt2 = kit.runtime(List.of(), kit.agent("talker2", "m-solo", List.of(), AgentSpec.Limits.DEFAULT, AgentSpec.OnBusy.QUEUE));
        assertThat(rt2.await(rt2.start("talker2", "s", "hi"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
    }

    @Test
    void cancelMidToolInterruptsTheToolAndEndsPromptly() throws Exception {
        BlockTool block = new BlockTool();
        kit.a.enqueue(toolCalls(10, 5, ask("b1", "block", "{}")));
        AgentRuntime rt = kit.runtime(List.of(block), kit.agent("blocker", List.of("block")));

        String run = rt.start("blocker", "s", "block");
        block.awaitEntered();
        long t0 = System.nanoTime();
        rt.cancel(run);
        RunInfo info = rt.await(run, WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.CANCELLED);
        assertThat(info.reason()).isEqualTo("cancelled");
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(1000);
        await().atMost(WAIT).untilAsserted(() -> assertThat(block.interrupted).isTrue());
        List<TranscriptEntry> t = rt.transcript("agent:blocker:s");
        assertThat(t).extracting(TranscriptEntry::role).containsExactly("user", "assistant", "tool");
        assertThat(t.get(2).content().path("content").asText()).contains("cancelled");
    }

    @Test
    void aMessageForABusySessionWaitsForTheRunningOne() throws Exception {
        BlockTool block = new BlockTool();
        kit.a.enqueue(toolCalls(10, 5, ask("b1", "block", "{}")), text("first done", 20, 2), text("second done", 30, 2));
        AgentRuntime rt = kit.runtime(List.of(block), kit.agent("q", List.of("block")));

        String first = rt.start("q", "s", "first");
        block.awaitEntered();
        String second = rt.start("q", "s", "second");
        assertThat(rt.run(second).status()).isEqualTo(RunStatus.QUEUED);
        block.release.countDown();

        assertThat(rt.await(first, WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(rt.await(second, WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        List<TranscriptEntry> t = rt.transcript("agent:q:s");
        assertThat(t).extracting(e -> e.role() + ":" + e.content().path("text").asText(""))
                .containsExactly("user:first", "assistant:", "tool:", "assistant:first done", "user:second", "assistant:second done");
        assertThat(t.subList(0, 4)).allSatisfy(e -> assertThat(e.runId()).isEqualTo(first));
        assertThat(t.subList(4, 6)).allSatisfy(e -> assertThat(e.runId()).isEqualTo(second));
    }

    @Test
    void aMessageForABusySessionInterruptsTheRunningOneWhenTheAgentSaysSo() throws Exception {
        BlockTool block = new BlockTool();
        kit.a.enqueue(toolCalls(10, 5, ask("b1", "block", "{}")), text("second done", 30, 2));
        AgentRuntime rt = kit.runtime(List.of(block), kit.agent("i", "m-solo", List.of("block"),
                AgentSpec.Limits.DEFAULT, AgentSpec.OnBusy.INTERRUPT));

        String first = rt.start("i", "s", "first");
        block.awaitEntered();
        String second = rt.start("i", "s", "second");

        RunInfo a = rt.await(first, WAIT);
        assertThat(a.status()).isEqualTo(RunStatus.INTERRUPTED);
        assertThat(a.reason()).contains("newer message");
        assertThat(rt.await(second, WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(block.interrupted).isTrue();
        kit.a.take();
        JsonNode secondRequest = body(kit.a.take());
        // The interrupted call is answered (as cancelled) before the new message, so the conversation stays valid.
        assertThat(toolMessages(secondRequest).get(0)[1]).contains("cancelled");
        JsonNode messages = secondRequest.path("messages");
        assertThat(messages.get(messages.size() - 1).path("content").asText()).isEqualTo("second");
    }

    @Test
    void aRunCutOffByACrashIsMarkedInterruptedAndTheSessionResumes() throws Exception {
        BlockTool block = new BlockTool();
        kit.a.enqueue(toolCalls(10, 5, ask("b1", "block", "{}")));
        AgentSpec spec = kit.agent("crashy", List.of("block", "read"));
        AgentRuntime before = kit.runtime(List.of(block), spec);
        String cut = before.start("crashy", "s", "do the long thing");
        block.awaitEntered();
        String waiting = before.start("crashy", "s", "and then this");
        kit.abandon(before);   // the process dies: nothing is closed, nothing more is written

        AgentRuntime after = kit.runtime(List.of(new BlockTool()), spec);

        assertThat(after.run(cut).status()).isEqualTo(RunStatus.INTERRUPTED);
        assertThat(after.run(waiting).status()).isEqualTo(RunStatus.INTERRUPTED);
        List<TranscriptEntry> t = after.transcript("agent:crashy:s");
        assertThat(t).extracting(TranscriptEntry::role).containsExactly("user", "assistant");   // all that was acknowledged
        assertThatThrownBy(() -> after.start("nobody", "s", "x")).isInstanceOf(ApiException.class).hasMessageContaining("No agent 'nobody'");

        kit.a.enqueue(text("resumed and done", 40, 4));
        String resumed = after.resume("agent:crashy:s");
        assertThat(after.await(resumed, WAIT).status()).isEqualTo(RunStatus.COMPLETED);

        kit.a.take();
        JsonNode request = body(kit.a.take());
        List<String[]> results = toolMessages(request);
        assertThat(results).singleElement().satisfies(m -> assertThat(m[1]).contains("no_result"));
        JsonNode messages = request.path("messages");
        assertThat(messages.get(messages.size() - 1).path("content").asText()).isEqualTo("and then this");
        assertThat(after.transcript("agent:crashy:s")).extracting(TranscriptEntry::role)
                .containsExactly("user", "assistant", "user", "assistant");
        assertThatThrownBy(() -> after.resume("agent:crashy:s")).isInstanceOf(ApiException.class)
                .hasMessageContaining("no interrupted run");
        block.release.countDown();
    }

    @Test
    void eventsArriveInOrder() throws Exception {
        Files.writeString(kit.workspace.resolve("a.txt"), "alpha");
        kit.a.enqueue(toolCalls(10, 5, ask("r1", "read", "{\"path\":\"a.txt\"}")), text("alpha it is", 20, 3));
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("ev", List.of("read")));
        List<RunEvent> session = new CopyOnWriteArrayList<>();
        rt.subscribeSession("agent:ev:s", session::add);

        String run = rt.start("ev", "s", "read a.txt");
        List<RunEvent> perRun = new CopyOnWriteArrayList<>();
        rt.subscribeRun(run, perRun::add);
        rt.await(run, WAIT);
        await().atMost(WAIT).until(() -> session.stream().anyMatch(RunEvent::isTerminal));

        assertThat(session).extracting(AgentRuntimeTest::describe).containsExactly(
                "status:queued", "status:running", "usage:1:15", "tool:read", "result:read:true",
                "text:alpha it is", "usage:2:23", "status:completed");
        await().atMost(WAIT).until(() -> perRun.stream().anyMatch(RunEvent::isTerminal));
        assertThat(perRun.get(perRun.size() - 1)).isEqualTo(new RunEvent.StatusChanged(run, "agent:ev:s", RunStatus.COMPLETED, null));
        // A subscriber that comes after the end still learns it.
        List<RunEvent> late = new CopyOnWriteArrayList<>();
        rt.subscribeRun(run, late::add);
        await().atMost(WAIT).until(() -> !late.isEmpty());
        assertThat(late).singleElement().extracting(AgentRuntimeTest::describe).isEqualTo("status:completed");
    }

    static String describe(RunEvent e) {
        return switch (e) {
            case RunEvent.StatusChanged s -> "status:" + s.status().label();
            case RunEvent.TextDelta t -> "text:" + t.text();
            case RunEvent.ToolStarted t -> "tool:" + t.tool();
            case RunEvent.ToolFinished t -> "result:" + t.tool() + ":" + t.ok();
            case RunEvent.UsageReported u -> "usage:" + u.step() + ":" + (u.usage().inputTokens() + u.usage().outputTokens());
            case RunEvent.Error x -> "error:" + x.message();
            case RunEvent.Dropped d -> "dropped:" + d.count();
            case RunEvent.Compacted c -> "compacted:" + c.through();
            case RunEvent.MemoryFlushed f -> "memory_flushed:" + f.status();
            case RunEvent.ApprovalRequested a -> "approval:" + a.tool();
            case RunEvent.ApprovalResolved a -> "approval:" + a.outcome();
        };
    }

    @Test
    void aRunWithOptionsGetsOnlyItsToolsAndTheTighterLimits() throws Exception {
        Files.writeString(kit.workspace.resolve("a.txt"), "a");
        for (int i = 0; i < 3; i++) kit.a.enqueue(toolCalls(10, 5, ask("c" + i, "read", "{\"path\":\"a.txt\"}")));
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("wide", "m-solo", List.of("read", "write", "list"),
                limits(10, Duration.ofMinutes(1), 1_000_000, Duration.ofSeconds(5)), AgentSpec.OnBusy.QUEUE));

        RunOptions narrow = new RunOptions(List.of("read"), limits(2, Duration.ofHours(1), 2_000_000, Duration.ofSeconds(5)), "nightly");
        RunInfo info = rt.await(rt.start("wide", "job:nightly:1", "loop", null, narrow), WAIT);

        assertThat(info.sessionKey()).isEqualTo("agent:wide:job:nightly:1");
        assertThat(toolNames(body(kit.a.take()))).containsExactly("read");
        assertThat(info.status()).isEqualTo(RunStatus.LIMIT_EXCEEDED);
        assertThat(info.reason()).startsWith("max_steps").contains("2 model calls");
    }

    /**
     * Regression (found from outside): a job's run was offered only the job's tools, but a tool its agent has that the
     * model called anyway ran (a write, even a schedule call adding a job with more tools). Only offered tools run.
     */
    @Test
    void aToolTheRunWasNotOfferedIsRefusedEvenIfItsAgentHasIt() throws Exception {
        kit.a.enqueue(toolCalls(10, 5, ask("w1", "write", "{\"path\":\"pwn.txt\",\"content\":\"x\"}")));
        kit.a.enqueue(text("done", 10, 5));
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("wide", "m-solo", List.of("read", "write", "list"),
                limits(10, Duration.ofMinutes(1), 1_000_000, Duration.ofSeconds(5)), AgentSpec.OnBusy.QUEUE));

        RunInfo info = rt.await(rt.start("wide", "job:nightly:1", "go", null,
                new RunOptions(List.of("read"), null, "nightly")), WAIT);
        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(kit.workspace.resolve("pwn.txt")).doesNotExist();
        TranscriptEntry refused = rt.transcript("agent:wide:job:nightly:1").get(2);
        assertThat(refused.content().path("error").asBoolean()).isTrue();
        assertThat(refused.content().toString()).contains("tool 'write' is not available to this run (its tools: read)")
                .contains("a job's run gets only the tools the job lists");
    }

    @Test
    void aRunCannotBeGivenAToolItsAgentLacksNorAJobSessionOfAnotherJob() {
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("plain", List.of("read")));

        assertThatThrownBy(() -> rt.start("plain", "s", "go", null, new RunOptions(List.of("read", "exec"), null, "j1")))
                .isInstanceOf(ApiException.class).hasMessageContaining("tools: the agent 'plain' has no tool 'exec'")
                .hasMessageContaining("its tools: read");
        // job:ID:RUN names are only for that job's own runs; a client (no job) cannot write into one
        assertThatThrownBy(() -> rt.start("plain", "job:j1:1", "go", null, RunOptions.NONE))
                .isInstanceOf(ApiException.class).hasMessageContaining("session: expected a name");
        assertThatThrownBy(() -> rt.start("plain", "job:j2:1", "go", null, new RunOptions(null, null, "j1")))
                .isInstanceOf(ApiException.class).hasMessageContaining("session: expected a name");
        assertThat(kit.a.requestCount()).isZero();
    }

    /**
     * A budget of 10 tokens a month for {@code scope:subject}, written to the store as the jobs service or an admin
     * would have (the kit's agents and jobs are the runtime's alone, not the config's or the store's, which
     * {@link Budgets#set} checks a subject against).
     */
    private void storedBudget(String scope, String subject) {
        dev.carapace.ledger.book.LedgerBook.of(kit.carapace.store()).putBudget(new dev.carapace.store.LedgerTables.BudgetRow(
                scope + ":" + subject, scope, subject, "month", "UTC", "USD", null, 10L, "", "", java.time.Instant.now()));
        kit.carapace.ledger().budgets().refresh();
    }

    @Test
    void aJobsBudgetRefusesItsRunsWhileTheSameAgentStillWorks() throws Exception {
        storedBudget("job", "nightly");
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("worker", List.of()));

        RunInfo job = rt.await(rt.start("worker", "job:nightly:1", "hello", null, new RunOptions(null, null, "nightly")), WAIT);

        assertThat(job.status()).isEqualTo(RunStatus.FAILED);
        assertThat(job.reason()).containsIgnoringCase("budget").contains("job:nightly");
        assertThat(kit.a.requestCount()).isZero();

        kit.a.enqueue(text("hi", 5, 2));
        assertThat(rt.await(rt.start("worker", "s", "hello"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
    }

    @Test
    void anAgentBudgetRefusesTheAgentWhileItsOwnerStillWorks() throws Exception {
        storedBudget("agent", "thrifty");
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("thrifty", List.of()));

        RunInfo info = rt.await(rt.start("thrifty", "s", "hello"), WAIT);

        assertThat(info.status()).isEqualTo(RunStatus.FAILED);
        assertThat(info.reason()).startsWith("model call failed:").containsIgnoringCase("budget").contains("agent:thrifty");
        assertThat(kit.a.requestCount()).isZero();

        kit.a.enqueue(dev.carapace.testing.ScriptedUpstream.openAiText("hi alice", 5, 2));
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + kit.carapace.port() + "/v1/chat/completions"))
                .header("authorization", "Bearer " + kit.memberKey).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m-solo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("hi alice");
    }

    @Test
    void aRunSurvivesAFailedDeploymentAndFallsBackToAnotherModel() throws Exception {
        kit.a.enqueue(dev.carapace.testing.ScriptedUpstream.json(500, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}"));
        kit.b.enqueue(text("from b", 10, 2));
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("sturdy", "m-mid", List.of(), AgentSpec.Limits.DEFAULT, AgentSpec.OnBusy.QUEUE));
        // a fails, the router fails over to b within m-mid
        RunInfo info = rt.await(rt.start("sturdy", "s", "hi"), WAIT);
        assertThat(info.status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(rt.transcript("agent:sturdy:s").get(1).content().path("text").asText()).isEqualTo("from b");

        // m-solo's only deployment (a) is cooling down now: the agent's fallback model answers.
        kit.b.enqueue(text("fallback answered", 10, 2));
        AgentSpec withFallback = new AgentSpec("fb", kit.workspace, "m-solo", List.of("m-b"), List.of(),
                new AgentSpec.Owner("alice", "platform"), AgentSpec.Limits.DEFAULT, AgentSpec.OnBusy.QUEUE, null);
        AgentRuntime rt2 = kit.runtime(List.of(), withFallback);
        RunInfo fb = rt2.await(rt2.start("fb", "s", "hi"), WAIT);
        assertThat(fb.status()).isEqualTo(RunStatus.COMPLETED);
        List<TranscriptEntry> t = rt2.transcript("agent:fb:s");
        assertThat(t.get(1).model()).isEqualTo("m-b");
        assertThat(t.get(1).content().path("text").asText()).isEqualTo("fallback answered");
    }

    @Test
    void badRequestsAreRefusedWithClearErrors() {
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("x", List.of()));
        assertThatThrownBy(() -> rt.start("x", "bad name!", "hi")).isInstanceOf(ApiException.class).hasMessageContaining("session:");
        assertThatThrownBy(() -> rt.start("x", "s", "  ")).isInstanceOf(ApiException.class).hasMessageContaining("message: must not be empty");
        assertThatThrownBy(() -> rt.run("run_nope")).isInstanceOf(ApiException.class).hasMessageContaining("No run 'run_nope'");
        assertThatThrownBy(() -> rt.transcript("agent:x:none")).isInstanceOf(ApiException.class).hasMessageContaining("No session");
        assertThatThrownBy(() -> kit.runtime(List.of(), kit.agent("y", List.of("exec"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lists tool 'exec'");
    }
}
