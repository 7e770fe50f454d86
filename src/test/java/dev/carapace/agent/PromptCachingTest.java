package dev.carapace.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.testing.ScriptedUpstream;
import mockwebserver3.MockResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.carapace.agent.AgentKit.ask;
import static dev.carapace.agent.AgentKit.body;
import static dev.carapace.agent.AgentKit.text;
import static dev.carapace.agent.AgentKit.toolCalls;
import static org.assertj.core.api.Assertions.assertThat;

/** The stable prefix (system prompt + tools) is sent byte for byte the same, and marked for explicit caches. */
class PromptCachingTest {

    static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;
    AgentKit kit;

    @BeforeEach
    void setUp() throws Exception {
        kit = new AgentKit(dir);
        Files.writeString(kit.workspace.resolve("AGENTS.md"), "Be brief.");
        Files.writeString(kit.workspace.resolve("a.txt"), "alpha");
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    @Test
    void consecutiveTurnsSendAByteIdenticalPrefix() throws Exception {
        kit.a.enqueue(toolCalls(100, 10, ask("c1", "read", "{\"path\":\"a.txt\"}")), text("alpha it is", 130, 4),
                text("again", 150, 1));
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("coder", List.of("read", "grep", "list", "spawn_agent")));

        rt.await(rt.start("coder", "s", "read a.txt"), WAIT);
        rt.await(rt.start("coder", "s", "and again"), WAIT);

        String[] raw = {ScriptedUpstream.body(kit.a.take()), ScriptedUpstream.body(kit.a.take()),
                ScriptedUpstream.body(kit.a.take())};
        String prefix = prefixThroughSystem(raw[0]);
        String tools = AgentKit.JSON.readTree(raw[0]).path("tools").toString();
        assertThat(tools).contains("\"read\"").contains("spawn_agent").contains("wait_agents");
        for (String r : raw) {
            assertThat(prefixThroughSystem(r)).isEqualTo(prefix);
            assertThat(AgentKit.JSON.readTree(r).path("tools").toString()).isEqualTo(tools);
        }
        // The conversation grew behind the prefix.
        assertThat(raw[2].length()).isGreaterThan(raw[1].length());
    }

    /** The request body up to the end of its system message. */
    static String prefixThroughSystem(String body) throws Exception {
        JsonNode n = AgentKit.JSON.readTree(body);
        String system = n.path("messages").get(0).path("content").toString();
        int end = body.indexOf(system);
        assertThat(end).as("system message in the body").isPositive();
        return body.substring(0, end + system.length());
    }

    @Test
    void anAnthropicUpstreamGetsCacheControlOnThePrefixAndCachedTokensAreMetered() throws Exception {
        kit.c.enqueue(anthropicText("first", 20, 900), anthropicText("second", 40, 900));
        AgentRuntime rt = kit.runtime(List.of(), kit.agent("claude", "m-claude", List.of("read", "list"),
                AgentSpec.Limits.DEFAULT, AgentSpec.OnBusy.QUEUE));

        rt.await(rt.start("claude", "s", "hello"), WAIT);
        rt.await(rt.start("claude", "s", "again"), WAIT);

        JsonNode one = body(kit.c.take()), two = body(kit.c.take());
        for (JsonNode b : List.of(one, two)) {
            JsonNode system = b.path("system");
            assertThat(system.get(system.size() - 1).path("cache_control").path("type").asText()).isEqualTo("ephemeral");
            assertThat(system.toString()).contains("Be brief.");
            // The rolling breakpoint: the newest message ends the prefix cached for the next turn.
            JsonNode last = b.path("messages").get(b.path("messages").size() - 1);
            assertThat(last.path("content").get(0).path("cache_control").path("type").asText()).isEqualTo("ephemeral");
        }
        assertThat(two.path("system")).isEqualTo(one.path("system"));
        assertThat(two.path("tools")).isEqualTo(one.path("tools"));
        assertThat(one.path("tools")).hasSize(2);
        // Earlier messages lose their breakpoint (Anthropic allows four): only the last one has it.
        assertThat(two.path("messages").get(0).toString()).doesNotContain("cache_control");

        List<TranscriptEntry> t = rt.transcript("agent:claude:s");
        assertThat(t.get(1).usage().cachedInputTokens()).isEqualTo(900);
        assertThat(t.get(1).usage().inputTokens()).isEqualTo(920);
    }

    /** An Anthropic streamed answer whose prompt was mostly read from the cache. */
    static MockResponse anthropicText(String text, int input, int cacheRead) {
        return ScriptedUpstream.sse(ScriptedUpstream.anthropicFrames(
                "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"type\":\"message\",\"role\":\"assistant\","
                        + "\"model\":\"claude-up\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":" + input
                        + ",\"cache_read_input_tokens\":" + cacheRead + ",\"cache_creation_input_tokens\":0,\"output_tokens\":1}}}",
                "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
                "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"
                        + ScriptedUpstream.quote(text) + "}}",
                "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}",
                "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
                        + "\"usage\":{\"output_tokens\":3}}",
                "message_stop", "{\"type\":\"message_stop\"}"), 0);
    }
}
