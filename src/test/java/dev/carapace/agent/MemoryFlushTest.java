package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.tools.FileTools;
import dev.carapace.identity.Principal;
import dev.carapace.server.adapter.StoreSessions;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.MockResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.carapace.agent.AgentKit.body;
import static dev.carapace.agent.AgentKit.limits;
import static dev.carapace.agent.AgentKit.text;
import static dev.carapace.agent.AgentKit.toolNames;
import static dev.carapace.testing.ScriptedUpstream.quote;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The memory flush before compaction, against a scripted upstream speaking OpenAI's wire format: the agent's model
 * and its summaries are both on upstream {@code a}, so the order of its requests is the order things happened.
 * {@code memory_write} here is a stub registered by the test (the real one is the memory package's); the runtime
 * knows it only by name.
 */
class MemoryFlushTest {

    static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;
    AgentKit kit;
    final MemoryWrite memory = new MemoryWrite();

    @BeforeEach
    void setUp() throws Exception {
        kit = new AgentKit(dir);
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    /** {@code memory_write {text}}: keeps what it was asked to write; refuses a text containing "fail". */
    static final class MemoryWrite implements AgentTool {
        final List<String> written = new CopyOnWriteArrayList<>();

        @Override public String name() { return MemoryFlush.TOOL; }

        @Override public String description() { return "Saves a durable note."; }

        @Override
        public ObjectNode parameters() {
            ObjectNode p = AgentKit.JSON.createObjectNode().put("type", "object");
            p.putObject("properties").putObject("text").put("type", "string");
            return p;
        }

        @Override
        public ToolResult run(JsonNode arguments, ToolContext context) {
            String text = arguments.path("text").asText();
            if (text.contains("fail")) return ToolResult.error("{\"error\":\"refused\"}");
            written.add(text);
            return ToolResult.ok("saved");
        }
    }

    /** A non-streamed chat.completion asking for tool calls (the flush's call is not streamed). */
    static MockResponse completionWithCalls(int promptTokens, int completionTokens, String[]... calls) {
        StringBuilder list = new StringBuilder();
        for (String[] c : calls) {
            if (!list.isEmpty()) list.append(',');
            list.append("{\"id\":\"").append(c[0]).append("\",\"type\":\"function\",\"function\":{\"name\":\"")
                    .append(c[1]).append("\",\"arguments\":").append(quote(c[2])).append("}}");
        }
        return ScriptedUpstream.json(200, """
                {"id":"chatcmpl-f","object":"chat.completion","created":1,"model":"up-model",
                 "choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[%s]},
                 "finish_reason":"tool_calls"}],
                 "usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}
                """.formatted(list, promptTokens, completionTokens, promptTokens + completionTokens));
    }

    static String[] write(String id, String text) {
        return new String[]{id, MemoryFlush.TOOL, "{\"text\":" + quote(text) + "}"};
    }

    /** Compacts above 50% of m-small's 4,000 tokens, keeping the last turn, summarized by the agent's own model. */
    AgentSpec agent(List<String> tools) {
        return kit.agent("talker", "m-small", tools, limits(10, WAIT, 100_000, Duration.ofSeconds(5)),
                AgentSpec.SubAgents.DEFAULT, new AgentSpec.Compaction(0.5, null, 1));
    }

    /** Runs {@code message} in session s and returns the run, which must have completed. */
    static RunInfo completed(AgentRuntime rt, String message) throws InterruptedException {
        RunInfo run = rt.await(rt.start("talker", "s", message), WAIT);
        assertThat(run.status()).as(String.valueOf(run.reason())).isEqualTo(RunStatus.COMPLETED);
        return run;
    }

    /**
     * A first message long enough that the ledger believes the scripted upstream's prompt count of 2,100 (it disputes
     * a count above what the prompt could be), which puts the next prompt over the threshold.
     */
    static final String FIRST = "first question: my deploy day is Friday. " + "Some background on the project. ".repeat(120);

    static List<String> contents(JsonNode request) {
        List<String> out = new ArrayList<>();
        for (JsonNode m : request.path("messages")) {
            JsonNode c = m.path("content");
            out.add(m.path("role").asText() + ":" + (c.isTextual() ? c.asText() : c.path(0).path("text").asText()));
        }
        return out;
    }

    static JsonNode only(List<TranscriptEntry> t, String role) {
        List<TranscriptEntry> found = t.stream().filter(e -> e.role().equals(role)).toList();
        assertThat(found).as(role + " entries").hasSize(1);
        return found.get(0).content();
    }

    @Test
    void beforeTheThresholdCompactionTheAgentGetsOneTurnOfMemoryWritesOnTheWholeConversation() throws Exception {
        AgentRuntime rt = kit.runtime(List.of(memory), agent(List.of("read", MemoryFlush.TOOL)));
        List<RunEvent> events = new CopyOnWriteArrayList<>();
        rt.subscribeSession("agent:talker:s", events::add);
        kit.a.enqueue(text("answer one", 2100, 10));
        completed(rt, FIRST);
        kit.a.take();

        kit.a.enqueue(
                // the flush: six writes (one refused by the tool, one over the cap of five) and a call of another tool
                completionWithCalls(2150, 60, write("f1", "deploy day is Friday"), write("f2", "user likes tea"),
                        new String[]{"f3", "read", "{\"path\":\"notes.txt\"}"}, write("f4", "please fail"),
                        write("f5", "three"), write("f6", "four"), write("f7", "five, over the cap")),
                ScriptedUpstream.openAiText("SUMMARY: the user's deploy day is Friday.", 300, 20),
                text("answer two", 400, 10));
        RunInfo second = rt.await(rt.start("talker", "s", "second question"), WAIT);
        assertThat(second.status()).isEqualTo(RunStatus.COMPLETED);

        JsonNode flush = body(kit.a.take());
        JsonNode summary = body(kit.a.take());
        JsonNode next = body(kit.a.take());
        // The flush came first, on the conversation not yet compacted plus the note, offered only memory_write.
        assertThat(toolNames(flush)).containsExactly(MemoryFlush.TOOL);
        assertThat(flush.path("stream").asBoolean(false)).isFalse();
        assertThat(contents(flush)).hasSize(5);
        assertThat(contents(flush).subList(1, 5)).containsExactly("user:" + FIRST,
                "assistant:answer one", "user:second question", "user:" + MemoryFlush.NOTE);
        assertThat(flush.path("max_tokens").asInt(flush.path("max_completion_tokens").asInt()))
                .isBetween(1, MemoryFlush.MAX_OUTPUT_TOKENS);
        // Then the summary, then the turn itself on the compacted conversation with all the agent's tools again.
        assertThat(contents(summary).get(0)).startsWith("system:You compress");
        assertThat(contents(summary).get(1)).contains("first question").doesNotContain("second question");
        assertThat(contents(next).get(1)).contains("SUMMARY: the user's deploy day is Friday.");
        assertThat(contents(next)).noneMatch(c -> c.contains("pre-compaction memory flush"));
        assertThat(toolNames(next)).containsExactly("read", MemoryFlush.TOOL);
        assertThat(kit.a.requestCount()).isEqualTo(4);

        // Its memory_write calls ran through the tool path, five at most; nothing else ran.
        assertThat(memory.written).containsExactly("deploy day is Friday", "user likes tea", "three", "four");
        List<TranscriptEntry> t = rt.transcript("agent:talker:s");
        JsonNode record = only(t, MemoryFlush.ROLE);
        assertThat(record.path("status").asText()).isEqualTo("written");
        assertThat(record.path("written").asInt()).isEqualTo(4);
        assertThat(record.path("overflow").asBoolean()).isFalse();
        JsonNode calls = record.path("calls");
        assertThat(calls).hasSize(7);
        assertThat(calls.get(2).path("ok").asBoolean()).isFalse();
        assertThat(calls.get(2).path("result").asText()).contains("only memory_write");
        assertThat(calls.get(3).path("result").asText()).contains("refused");
        assertThat(calls.get(6).path("result").asText()).contains("at most 5");
        // The record sits before the summary, outside the conversation; its tokens are the run's.
        List<String> roles = t.stream().map(TranscriptEntry::role).toList();
        assertThat(roles.indexOf(MemoryFlush.ROLE)).isLessThan(roles.indexOf("summary"));
        assertThat(t.stream().filter(e -> e.role().equals("tool"))).as("no flush result joins the conversation").isEmpty();
        assertThat(second.tokens()).isEqualTo(2150 + 60 + 300 + 20 + 400 + 10);
        assertThat(events).filteredOn(e -> e instanceof RunEvent.MemoryFlushed).singleElement()
                .satisfies(e -> assertThat(((RunEvent.MemoryFlushed) e).written()).isEqualTo(4));
    }

    @Test
    void aPromptTheUpstreamRefusesAsTooLongIsFlushedThenCompactedThenSentAgain() throws Exception {
        // Far below m-solo's threshold by estimate, so only the upstream's refusal can trigger the compaction.
        AgentSpec agent = kit.agent("talker", "m-solo", List.of(MemoryFlush.TOOL),
                limits(10, WAIT, 100_000, Duration.ofSeconds(5)), AgentSpec.SubAgents.DEFAULT,
                new AgentSpec.Compaction(0.9, null, 1));
        AgentRuntime rt = kit.runtime(List.of(memory), agent);
        kit.a.enqueue(text("answer one", 100, 10));
        completed(rt, "first question");
        kit.a.take();

        kit.a.enqueue(
                ScriptedUpstream.json(400, "{\"error\":{\"message\":\"This model's maximum context length is 128000 "
                        + "tokens. However, your messages resulted in 130211 tokens.\",\"type\":\"invalid_request_error\","
                        + "\"param\":\"messages\",\"code\":\"context_length_exceeded\"}}"),
                completionWithCalls(90, 15, write("f1", "first question was asked")),
                ScriptedUpstream.openAiText("SUMMARY: one question so far.", 80, 10),
                text("answer two", 60, 5));
        RunInfo second = rt.await(rt.start("talker", "s", "second question"), WAIT);
        assertThat(second.status()).as(String.valueOf(second.reason())).isEqualTo(RunStatus.COMPLETED);

        JsonNode refused = body(kit.a.take());
        JsonNode flush = body(kit.a.take());
        JsonNode summary = body(kit.a.take());
        JsonNode retried = body(kit.a.take());
        assertThat(contents(refused)).contains("user:second question");
        // The whole conversation did not fit: the flush carries the turns about to be replaced, and the note.
        assertThat(toolNames(flush)).containsExactly(MemoryFlush.TOOL);
        assertThat(contents(flush).subList(1, contents(flush).size())).containsExactly("user:first question",
                "assistant:answer one", "user:" + MemoryFlush.NOTE);
        assertThat(contents(summary).get(0)).startsWith("system:You compress");
        assertThat(contents(retried).get(1)).contains("SUMMARY: one question so far.");
        assertThat(contents(retried).get(contents(retried).size() - 1)).isEqualTo("user:second question");

        assertThat(memory.written).containsExactly("first question was asked");
        JsonNode record = only(rt.transcript("agent:talker:s"), MemoryFlush.ROLE);
        assertThat(record.path("status").asText()).isEqualTo("written");
        assertThat(record.path("overflow").asBoolean()).isTrue();
    }

    @Test
    void anOverflowRightAfterAThresholdCompactionCompactsAgainWithoutFlushingTwice() throws Exception {
        AgentRuntime rt = kit.runtime(List.of(memory), agent(List.of(MemoryFlush.TOOL)));
        kit.a.enqueue(text("answer one", 2100, 10));
        completed(rt, FIRST);
        kit.a.take();
        kit.a.enqueue(
                completionWithCalls(2150, 30, write("f1", "deploy day is Friday")),
                ScriptedUpstream.openAiText("SUMMARY: first.", 300, 20),
                ScriptedUpstream.json(400, "{\"error\":{\"message\":\"prompt is too long: 4100 tokens > 4000 maximum\","
                        + "\"type\":\"invalid_request_error\"}}"),
                ScriptedUpstream.openAiText("SUMMARY: shorter.", 200, 10),
                text("answer two", 100, 10));
        RunInfo second = completed(rt, "second question");

        assertThat(toolNames(body(kit.a.take()))).containsExactly(MemoryFlush.TOOL);
        assertThat(contents(body(kit.a.take())).get(0)).startsWith("system:You compress");
        kit.a.take();   // refused as too long
        JsonNode again = body(kit.a.take());
        assertThat(contents(again).get(0)).as("the second summary, with no flush before it").startsWith("system:You compress");
        assertThat(contents(again).get(1)).contains("EARLIER SUMMARY: SUMMARY: first.");
        assertThat(contents(body(kit.a.take())).get(1)).contains("SUMMARY: shorter.");
        assertThat(kit.a.requestCount()).isEqualTo(6);
        List<TranscriptEntry> t = rt.transcript("agent:talker:s");
        assertThat(t).filteredOn(e -> e.role().equals(MemoryFlush.ROLE)).hasSize(1);
        assertThat(t).filteredOn(e -> e.role().equals("summary")).hasSize(2);
        assertThat(memory.written).containsExactly("deploy day is Friday");
        assertThat(second.tokens()).isEqualTo(2150 + 30 + 300 + 20 + 200 + 10 + 100 + 10);
    }

    @Test
    void anAgentWithoutMemoryWriteIsCompactedWithoutAFlush() throws Exception {
        AgentRuntime rt = kit.runtime(List.of(memory), agent(List.of("read")));
        kit.a.enqueue(text("answer one", 2100, 10),
                ScriptedUpstream.openAiText("SUMMARY: one.", 300, 20), text("answer two", 400, 10));
        completed(rt, FIRST);
        completed(rt, "second question");

        kit.a.take();
        assertThat(contents(body(kit.a.take())).get(0)).as("the next request is the summary").startsWith("system:You compress");
        assertThat(toolNames(body(kit.a.take()))).containsExactly("read");
        assertThat(kit.a.requestCount()).isEqualTo(3);
        List<TranscriptEntry> t = rt.transcript("agent:talker:s");
        assertThat(t).noneMatch(e -> e.role().equals(MemoryFlush.ROLE));
        assertThat(t).filteredOn(e -> e.role().equals("summary")).hasSize(1);
        assertThat(memory.written).isEmpty();
    }

    @Test
    void aFailedFlushIsRecordedAndTheCompactionStillHappens() throws Exception {
        AgentRuntime rt = kit.runtime(List.of(memory), agent(List.of(MemoryFlush.TOOL)));
        kit.a.enqueue(text("answer one", 2100, 10),
                ScriptedUpstream.json(400, "{\"error\":{\"message\":\"tools are not supported here\","
                        + "\"type\":\"invalid_request_error\",\"code\":\"unsupported_parameter\"}}"),
                ScriptedUpstream.openAiText("SUMMARY: one.", 300, 20), text("answer two", 400, 10));
        completed(rt, FIRST);
        RunInfo second = rt.await(rt.start("talker", "s", "second question"), WAIT);

        assertThat(second.status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(kit.a.requestCount()).isEqualTo(4);
        List<TranscriptEntry> t = rt.transcript("agent:talker:s");
        JsonNode record = only(t, MemoryFlush.ROLE);
        assertThat(record.path("status").asText()).isEqualTo("failed");
        assertThat(record.path("reason").asText()).contains("unsupported_parameter").contains("tools are not supported");
        assertThat(t).filteredOn(e -> e.role().equals("summary")).hasSize(1);
        assertThat(memory.written).isEmpty();
    }

    @Test
    void theFlushsWritesAreDecidedByTheGuardLikeAnyCall() throws Exception {
        AgentSpec agent = agent(List.of(MemoryFlush.TOOL));
        Agents registry = new Agents(List.of(agent));
        Guard guard = (agentId, sessionKey, tool, arguments) -> arguments.path("text").asText().contains("card")
                ? Guard.Decision.deny("no card numbers in memory", "test.memory") : Guard.Decision.allow("test");
        List<AgentTool> tools = new ArrayList<>(FileTools.all());
        tools.add(memory);
        AgentRuntime rt = new AgentRuntime(registry, kit.carapace.gateway(), new StoreSessions(kit.carapace.store().sessions()),
                guard, tools, spec -> Principal.agent("acme", "platform", "alice", spec.id()), new RunEvents(),
                Clock.systemUTC());
        try {
            kit.a.enqueue(text("answer one", 2100, 10),
                    completionWithCalls(2150, 30, write("f1", "card 4111 1111 1111 1111"), write("f2", "likes tea")),
                    ScriptedUpstream.openAiText("SUMMARY: one.", 300, 20), text("answer two", 400, 10));
            completed(rt, FIRST);
            completed(rt, "second question");

            assertThat(memory.written).containsExactly("likes tea");
            JsonNode calls = only(rt.transcript("agent:talker:s"), MemoryFlush.ROLE).path("calls");
            assertThat(calls.get(0).path("ok").asBoolean()).isFalse();
            assertThat(calls.get(0).path("result").asText()).contains("no card numbers in memory").contains("test.memory");
        } finally {
            rt.close();
        }
    }
}
