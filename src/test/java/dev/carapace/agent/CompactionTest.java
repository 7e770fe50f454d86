package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.testing.ScriptedUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.carapace.agent.AgentKit.ask;
import static dev.carapace.agent.AgentKit.body;
import static dev.carapace.agent.AgentKit.limits;
import static dev.carapace.agent.AgentKit.text;
import static dev.carapace.agent.AgentKit.toolCalls;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Compaction against scripted upstreams: {@code m-small} (context window 4,000, on upstream a) runs the agent,
 * {@code m-cheap} (on upstream b) writes summaries. The upstream's reported prompt sizes decide when the
 * conversation is too long, as they would in production.
 */
class CompactionTest {

    static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;
    AgentKit kit;

    @BeforeEach
    void setUp() throws Exception {
        kit = new AgentKit(dir);
        Files.writeString(kit.workspace.resolve("notes.txt"), "the answer is 42\n");
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    static List<String> roles(JsonNode request) {
        List<String> roles = new ArrayList<>();
        request.path("messages").forEach(m -> roles.add(m.path("role").asText()));
        return roles;
    }

    @Test
    void aLongConversationIsSummarizedOnceKeepingTheRecentTurnsAndToolPairsVerbatim() throws Exception {
        // Compact above 50% of 4,000 tokens; keep the last 3 turns.
        AgentSpec agent = kit.agent("talker", "m-small", List.of("read"), limits(10, WAIT, 100_000, Duration.ofSeconds(5)),
                AgentSpec.SubAgents.DEFAULT, new AgentSpec.Compaction(0.5, "m-cheap", 3));
        AgentRuntime rt = kit.runtime(List.of(), agent);
        kit.a.enqueue(
                toolCalls(300, 20, ask("c1", "read", "{\"path\":\"notes.txt\"}")), text("answer one", 600, 10),
                toolCalls(1500, 20, ask("c2", "read", "{\"path\":\"notes.txt\"}")), text("answer two", 2100, 10),
                text("answer three", 900, 5),
                text("answer four", 950, 5));
        kit.b.enqueue(ScriptedUpstream.openAiText("SUMMARY: the user asked two questions; notes.txt says 42.", 500, 40));

        for (String q : List.of("first question", "second question")) {
            assertThat(rt.await(rt.start("talker", "s", q), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        }
        assertThat(kit.b.requestCount()).as("below the threshold: no summary").isZero();
        for (int i = 0; i < 4; i++) kit.a.take();

        RunInfo third = rt.await(rt.start("talker", "s", "third question"), WAIT);
        RunInfo fourth = rt.await(rt.start("talker", "s", "fourth question"), WAIT);

        assertThat(third.status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(fourth.status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(kit.b.requestCount()).as("exactly one summarization").isEqualTo(1);
        JsonNode summaryCall = body(kit.b.take());
        assertThat(summaryCall.path("model").asText()).isEqualTo("cheap-model");
        String old = summaryCall.path("messages").get(1).path("content").asText();
        assertThat(old).contains("USER: first question").contains("USER: second question").contains("TOOL RESULT: ")
                .doesNotContain("third question").doesNotContain("answer two");

        // The next call carries the summary, then the kept turns: a tool call with its result, an answer, the question.
        JsonNode next = body(kit.a.take());
        assertThat(roles(next)).containsExactly("system", "user", "assistant", "tool", "assistant", "user");
        JsonNode m = next.path("messages");
        assertThat(m.get(1).path("content").asText()).contains("SUMMARY: the user asked two questions");
        assertThat(m.get(2).path("tool_calls").get(0).path("id").asText()).isEqualTo("c2");
        assertThat(m.get(3).path("tool_call_id").asText()).isEqualTo("c2");
        assertThat(m.get(4).path("content").asText()).isEqualTo("answer two");
        assertThat(m.get(5).toString()).contains("third question");
        JsonNode after = body(kit.a.take());
        assertThat(roles(after)).containsExactly("system", "user", "assistant", "tool", "assistant", "user", "assistant", "user");
        assertThat(after.path("messages").get(1).path("content").asText()).contains("SUMMARY:");

        // Stored in the transcript, where the API shows it, after the entries it replaces; its tokens are the run's.
        List<TranscriptEntry> t = rt.transcript("agent:talker:s");
        TranscriptEntry summary = t.stream().filter(e -> e.role().equals("summary")).findFirst().orElseThrow();
        assertThat(t.stream().filter(e -> e.role().equals("summary"))).hasSize(1);
        assertThat(summary.content().path("text").asText()).startsWith("SUMMARY:");
        assertThat(summary.content().path("through").asLong()).isEqualTo(5);   // user1, call, result, answer, user2
        assertThat(summary.model()).isEqualTo("m-cheap");
        assertThat(summary.runId()).isEqualTo(third.id());
        assertThat(third.tokens()).isEqualTo(540 + 905);
        assertThat(t.get(0).content().path("text").asText()).as("nothing is deleted").isEqualTo("first question");
    }

    @Test
    void aShortConversationIsNeverSummarizedEvenAboveTheThreshold() throws Exception {
        // One turn cannot be compacted (it is all "recent"): the call goes out as is.
        AgentSpec agent = kit.agent("talker", "m-small", List.of(), limits(10, WAIT, 100_000, Duration.ofSeconds(5)),
                AgentSpec.SubAgents.DEFAULT, new AgentSpec.Compaction(0.01, "m-cheap", 3));
        AgentRuntime rt = kit.runtime(List.of(), agent);
        kit.a.enqueue(text("short", 30, 2));

        assertThat(rt.await(rt.start("talker", "s", "hello there"), WAIT).status()).isEqualTo(RunStatus.COMPLETED);
        assertThat(kit.b.requestCount()).isZero();
        assertThat(roles(body(kit.a.take()))).containsExactly("system", "user");
    }
}
