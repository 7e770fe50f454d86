package dev.carapace.model.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.model.ApiException;
import dev.carapace.model.FinishReason;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamEvent.Finished;
import dev.carapace.model.StreamEvent.Started;
import dev.carapace.model.StreamEvent.TextDelta;
import dev.carapace.model.StreamEvent.ToolCallDelta;
import dev.carapace.model.StreamEvent.ToolCallStarted;
import dev.carapace.model.StreamEvent.UsageReport;
import dev.carapace.model.Usage;
import dev.carapace.model.WireFormat;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class AnthropicStreamEncoderTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final AnthropicFormat format = new AnthropicFormat();

    @Test
    void textStream() {
        Transcript t = run(List.of(new Started("chatcmpl-1", "gpt-x"), new TextDelta("Hel"), new TextDelta(""),
                new TextDelta("lo"), new Finished(FinishReason.STOP),
                new UsageReport(new Usage(120, 7, 100, 0, 0, false))), false);

        assertThat(t.messageStart.path("id").asText()).isEqualTo("chatcmpl-1");
        assertThat(t.messageStart.path("model").asText()).isEqualTo("client-model"); // not the upstream's name
        assertThat(t.blocks).singleElement().satisfies(b -> {
            assertThat(b.type).isEqualTo("text");
            assertThat(b.content.toString()).isEqualTo("Hello");
        });
        assertThat(t.stopReason).isEqualTo("end_turn");
        assertThat(t.usage.toString()).isEqualTo("{\"output_tokens\":7,\"input_tokens\":20,"
                + "\"cache_read_input_tokens\":100,\"cache_creation_input_tokens\":0}");
    }

    /** OpenAI upstreams may interleave the argument deltas of parallel tool calls by index. */
    @Test
    void interleavedParallelToolCalls() {
        String argsA = "{\"city\": \"Paris\", \"days\": [1, 2]}";
        String argsB = "{\"tz\": \"CET\", \"note\": \"a } in a string\"}";
        Transcript t = run(List.of(
                new Started("chatcmpl-9", "gpt-x"),
                new TextDelta("Checking both."),
                new ToolCallStarted(0, "call_A", "weather"),
                new ToolCallDelta(0, argsA.substring(0, 5)),
                new ToolCallStarted(1, "call_B", "time"),
                new ToolCallDelta(1, argsB.substring(0, 10)),
                new ToolCallDelta(0, argsA.substring(5, 20)),
                new ToolCallDelta(1, argsB.substring(10, 30)),
                new ToolCallDelta(0, argsA.substring(20)),
                new ToolCallDelta(1, argsB.substring(30)),
                new Finished(FinishReason.TOOL_CALLS),
                new UsageReport(Usage.of(50, 20))), false);

        assertThat(t.blocks).extracting(b -> b.type).containsExactly("text", "tool_use", "tool_use");
        assertThat(t.blocks.get(0).content.toString()).isEqualTo("Checking both.");
        assertThat(t.blocks.get(1).id).isEqualTo("call_A");
        assertThat(t.blocks.get(1).name).isEqualTo("weather");
        assertThat(t.blocks.get(1).content.toString()).isEqualTo(argsA);
        assertThat(t.blocks.get(2).id).isEqualTo("call_B");
        assertThat(t.blocks.get(2).content.toString()).isEqualTo(argsB);
        assertThat(t.stopReason).isEqualTo("tool_use");
        assertThat(t.usage.path("output_tokens").asInt()).isEqualTo(20);
        assertThat(t.usage.path("input_tokens").asInt()).isEqualTo(50);
    }

    /** With a sequential upstream, each call's block is stopped as the next begins, so every call streams live. */
    @Test
    void sequentialToolCallsStreamLive() {
        WireFormat.StreamEncoder enc = format.streamEncoder(null, "m");
        enc.encode(new Started("c", "m"));
        enc.encode(new ToolCallStarted(0, "call_A", "a"));
        String first = str(enc.encode(new ToolCallDelta(0, "{\"x\":")));
        assertThat(first).contains("\"partial_json\":\"{\\\"x\\\":\"").contains("\"index\":0");
        enc.encode(new ToolCallDelta(0, "1}"));

        String next = str(enc.encode(new ToolCallStarted(1, "call_B", "b")));
        assertThat(next).contains("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}")
                .contains("\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"call_B\"");
        assertThat(str(enc.encode(new ToolCallDelta(1, "{\"y\"")))).contains("\"index\":1");

        // while call B is incomplete, a third call waits (it might be interleaved with B)
        assertThat(str(enc.encode(new ToolCallStarted(2, "call_C", "c")))).isEmpty();
        assertThat(str(enc.encode(new ToolCallDelta(2, "{}")))).isEmpty();
        // once B completes, C is started with what it buffered
        String done = str(enc.encode(new ToolCallDelta(1, ":2}")));
        assertThat(done).contains("\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\":2}\"}")
                .contains("{\"type\":\"content_block_stop\",\"index\":1}")
                .contains("\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"call_C\"")
                .contains("\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}");
    }

    @Test
    void randomInterleavingsAlwaysYieldAValidStream() {
        Random rnd = new Random(42);
        for (int round = 0; round < 300; round++) {
            int calls = 1 + rnd.nextInt(4);
            List<String> args = new ArrayList<>();
            List<List<String>> chunks = new ArrayList<>();
            for (int c = 0; c < calls; c++) {
                String a = "{\"k\": \"v" + c + " {[\\\"]}\", \"n\": [" + rnd.nextInt(1000) + ", {\"d\": null}]}";
                if (rnd.nextInt(5) == 0) a = ""; // a call without arguments
                args.add(a);
                chunks.add(split(a, rnd));
            }
            List<StreamEvent> events = new ArrayList<>();
            events.add(new Started("id" + round, "m"));
            StringBuilder text = new StringBuilder();
            if (rnd.nextBoolean()) {
                events.add(new TextDelta("intro "));
                text.append("intro ");
            }
            int[] pos = new int[calls];
            int startedCalls = 0;
            while (true) {
                List<Integer> candidates = new ArrayList<>();
                for (int c = 0; c < startedCalls; c++) if (pos[c] < chunks.get(c).size()) candidates.add(c);
                boolean canStart = startedCalls < calls;
                if (candidates.isEmpty() && !canStart) break;
                if (canStart && (candidates.isEmpty() || rnd.nextInt(3) == 0)) {
                    events.add(new ToolCallStarted(startedCalls, "call_" + startedCalls, "f" + startedCalls));
                    startedCalls++;
                } else {
                    int c = candidates.get(rnd.nextInt(candidates.size()));
                    events.add(new ToolCallDelta(c, chunks.get(c).get(pos[c]++)));
                }
            }
            boolean trailingText = rnd.nextInt(4) == 0;
            if (trailingText) events.add(new TextDelta("after"));
            events.add(new Finished(FinishReason.TOOL_CALLS));
            boolean usage = rnd.nextBoolean();
            if (usage) events.add(new UsageReport(Usage.of(10, 5)));

            Transcript t = run(events, !usage);
            List<Block> toolBlocks = t.blocks.stream().filter(b -> b.type.equals("tool_use")).toList();
            assertThat(toolBlocks).as("round %d", round).hasSize(calls);
            for (int c = 0; c < calls; c++) {
                assertThat(toolBlocks.get(c).id).isEqualTo("call_" + c);
                assertThat(toolBlocks.get(c).content.toString()).as("round %d call %d", round, c).isEqualTo(args.get(c));
            }
            StringBuilder allText = new StringBuilder();
            t.blocks.stream().filter(b -> b.type.equals("text")).forEach(b -> allText.append(b.content));
            assertThat(allText.toString()).isEqualTo(text + (trailingText ? "after" : ""));
            assertThat(t.stopReason).isEqualTo("tool_use");
            assertThat(t.usage.path("output_tokens").asInt()).isEqualTo(usage ? 5 : 0);
        }
    }

    @Test
    void deltaTextIsEscapedExactlyAsJacksonWouldWriteIt() throws IOException {
        String tricky = "quote \" backslash \\ newline \n tab \t ctrl \u0001 unicode é 😀 </script>";
        WireFormat.StreamEncoder enc = format.streamEncoder(null, "m");
        enc.encode(new Started("c", "m"));
        String frame = str(enc.encode(new TextDelta(tricky)));
        String data = frame.substring(frame.lastIndexOf("data: ") + 6, frame.length() - 2);
        assertThat(JSON.readTree(data).path("delta").path("text").asText()).isEqualTo(tricky);
        assertThat(data).isEqualTo(JSON.writeValueAsString(JSON.createObjectNode()
                .put("type", "content_block_delta").put("index", 0)
                .set("delta", JSON.createObjectNode().put("type", "text_delta").put("text", tricky))));
    }

    @Test
    void endWithoutUsageStillFinishesTheMessage() {
        WireFormat.StreamEncoder enc = format.streamEncoder(null, "m");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(enc.encode(new Started("c", "m")));
        out.writeBytes(enc.encode(new TextDelta("hi")));
        out.writeBytes(enc.encode(new Finished(FinishReason.LENGTH)));
        assertThat(str(out.toByteArray())).doesNotContain("message_delta");
        out.writeBytes(enc.encode(new TextDelta("late"))); // after Finished: ignored
        out.writeBytes(enc.end());
        assertThat(enc.end()).isEmpty();
        Transcript t = check(out.toByteArray());
        assertThat(t.stopReason).isEqualTo("max_tokens");
        assertThat(t.usage.toString()).isEqualTo("{\"output_tokens\":0}");
        assertThat(t.blocks.get(0).content.toString()).isEqualTo("hi");
    }

    @Test
    void errorFrameEndsTheStream() {
        WireFormat.StreamEncoder enc = format.streamEncoder(null, "m");
        enc.encode(new Started("c", "m"));
        enc.encode(new TextDelta("partial"));
        String err = str(enc.error(ApiException.of(ApiException.Kind.UNAVAILABLE, "x", "upstream overloaded")));
        assertThat(err).isEqualTo("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                + "\"message\":\"upstream overloaded\"}}\n\n");
        assertThat(enc.end()).isEmpty();
        assertThat(enc.encode(new TextDelta("more"))).isEmpty();
    }

    @Test
    void openAiStopWithToolCallsIsReportedAsToolUse() {
        Transcript t = run(List.of(new Started("c", "m"), new ToolCallStarted(0, "call_1", "f"),
                new ToolCallDelta(0, "{}"), new Finished(FinishReason.STOP)), true);
        assertThat(t.stopReason).isEqualTo("tool_use");
    }

    @Test
    void jsonCompletenessTracker() {
        assertThat(complete("{\"a\": 1}")).isTrue();
        assertThat(complete("{\"a\": \"}\"")).isFalse();
        assertThat(complete("{\"a\": \"\\\"}\"}")).isTrue();
        assertThat(complete("{\"a\": [1, {\"b\": 2}]")).isFalse();
        assertThat(complete("  {}  ")).isTrue();
        assertThat(complete("")).isFalse();
        assertThat(complete("{}{}")).isFalse();
        assertThat(complete("{}}")).isFalse();
        assertThat(complete("\"str\"")).isFalse();
    }

    private static boolean complete(String s) {
        AnthropicStreamEncoder.JsonCompleteness j = new AnthropicStreamEncoder.JsonCompleteness();
        for (int i = 0; i < s.length(); i += 3) j.feed(s.substring(i, Math.min(s.length(), i + 3)));
        return j.complete();
    }

    // ---- harness ----

    private Transcript run(List<StreamEvent> events, boolean callEnd) {
        WireFormat.StreamEncoder enc = format.streamEncoder(null, "client-model");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (StreamEvent e : events) out.writeBytes(enc.encode(e));
        if (callEnd) out.writeBytes(enc.end());
        else assertThat(enc.end()).as("message already stopped").isEmpty();
        return check(out.toByteArray());
    }

    private static List<String> split(String s, Random rnd) {
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            int n = 1 + rnd.nextInt(6);
            out.add(s.substring(i, Math.min(s.length(), i + n)));
            i += n;
        }
        return out;
    }

    private static String str(byte[] b) { return new String(b, StandardCharsets.UTF_8); }

    static final class Block {
        String type;
        String id;
        String name;
        final StringBuilder content = new StringBuilder();
    }

    static final class Transcript {
        JsonNode messageStart;
        final List<Block> blocks = new ArrayList<>();
        String stopReason;
        JsonNode usage;
    }

    /**
     * Checks the bytes are a well-formed Anthropic Messages stream, the way Anthropic's SDKs consume it:
     * message_start first; blocks started with consecutive indexes, at most one open, deltas only on the open
     * block and of its kind, each stopped; message_delta then message_stop last.
     */
    static Transcript check(byte[] sse) {
        String all = str(sse);
        assertThat(all).endsWith("\n\n");
        Transcript t = new Transcript();
        Map<Integer, Block> byIndex = new HashMap<>();
        Integer open = null;
        String state = "start"; // start -> content -> delta -> stopped
        for (String frame : all.substring(0, all.length() - 2).split("\n\n")) {
            String[] lines = frame.split("\n");
            assertThat(lines).as("frame %s", frame).hasSize(2);
            assertThat(lines[0]).startsWith("event: ");
            assertThat(lines[1]).startsWith("data: ");
            String event = lines[0].substring(7);
            JsonNode data;
            try {
                data = JSON.readTree(lines[1].substring(6));
            } catch (IOException e) {
                throw new AssertionError("bad JSON in " + frame, e);
            }
            assertThat(data.path("type").asText()).as("type matches event name").isEqualTo(event);
            switch (event) {
                case "message_start" -> {
                    assertThat(state).isEqualTo("start");
                    JsonNode m = data.path("message");
                    assertThat(m.path("type").asText()).isEqualTo("message");
                    assertThat(m.path("role").asText()).isEqualTo("assistant");
                    assertThat(m.path("content").isArray()).isTrue();
                    assertThat(m.path("usage").path("input_tokens").isNumber()).isTrue();
                    t.messageStart = m;
                    state = "content";
                }
                case "content_block_start" -> {
                    assertThat(state).isEqualTo("content");
                    assertThat(open).as("a block is still open").isNull();
                    int index = data.path("index").asInt(-1);
                    assertThat(index).as("consecutive block indexes").isEqualTo(t.blocks.size());
                    Block b = new Block();
                    JsonNode cb = data.path("content_block");
                    b.type = cb.path("type").asText();
                    assertThat(b.type).isIn("text", "tool_use");
                    if (b.type.equals("tool_use")) {
                        b.id = cb.path("id").asText();
                        b.name = cb.path("name").asText();
                        assertThat(cb.path("input").toString()).isEqualTo("{}");
                    } else {
                        assertThat(cb.path("text").asText("x")).isEmpty();
                    }
                    t.blocks.add(b);
                    byIndex.put(index, b);
                    open = index;
                }
                case "content_block_delta" -> {
                    int index = data.path("index").asInt(-1);
                    assertThat(open).as("delta on the open block").isEqualTo(index);
                    Block b = byIndex.get(index);
                    JsonNode d = data.path("delta");
                    if (b.type.equals("text")) {
                        assertThat(d.path("type").asText()).isEqualTo("text_delta");
                        b.content.append(d.path("text").asText());
                    } else {
                        assertThat(d.path("type").asText()).isEqualTo("input_json_delta");
                        b.content.append(d.path("partial_json").asText());
                    }
                }
                case "content_block_stop" -> {
                    assertThat(open).as("stop of the open block").isEqualTo(data.path("index").asInt(-1));
                    open = null;
                }
                case "message_delta" -> {
                    assertThat(state).isEqualTo("content");
                    assertThat(open).as("all blocks stopped before message_delta").isNull();
                    t.stopReason = data.path("delta").path("stop_reason").asText(null);
                    assertThat(data.path("delta").has("stop_sequence")).isTrue();
                    t.usage = data.path("usage");
                    state = "delta";
                }
                case "message_stop" -> {
                    assertThat(state).isEqualTo("delta");
                    state = "stopped";
                }
                default -> throw new AssertionError("unexpected event " + event);
            }
        }
        assertThat(state).as("stream ends with message_stop").isEqualTo("stopped");
        for (Block b : t.blocks) {
            if (b.type.equals("tool_use") && !b.content.isEmpty()) {
                try {
                    assertThat(JSON.readTree(b.content.toString()).isObject()).isTrue();
                } catch (IOException e) {
                    throw new AssertionError("tool input is not JSON: " + b.content, e);
                }
            }
        }
        return t;
    }
}
