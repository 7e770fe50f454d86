package dev.carapace.model.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.FinishReason;
import dev.carapace.model.Message;
import dev.carapace.model.Role;
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
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.carapace.model.openai.TestJson.decode;
import static dev.carapace.model.openai.TestJson.frames;
import static dev.carapace.model.openai.TestJson.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Streaming in both directions: chunks rendered for clients and upstream chunks decoded. */
class OpenAiStreamTest {

    private final OpenAiFormat format = new OpenAiFormat();

    // =============================== decoding upstream streams ===============================

    /**
     * Shaped like what api.openai.com sends for two parallel tool calls: ids and names in the first entry for each
     * index, arguments in small pieces, then a finish chunk and (because Carapace asked) a usage-only chunk.
     */
    private static final String PARALLEL_TOOL_CALLS = """
            data: {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_paris","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}

            data: {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"ci"}}]},"finish_reason":null}],"usage":null}

            data: {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\\": \\"Pa"}}]},"finish_reason":null}],"usage":null}

            data: {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ris\\", \\"unit\\""}}]},"finish_reason":null}],"usage":null}

            data: {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":": \\"celsius\\"}"}}]},"finish_reason":null}],"usage":null}

            data: {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_tokyo","type":"function","function":{"name":"get_time","arguments":""}}]},"finish_reason":null}],"usage":null}

            data: {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\\"tz"}}]},"finish_reason":null}],"usage":null}

            data: {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\\": \\"Asia/"}}]},"finish_reason":null}],"usage":null}

            data: {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"Tokyo\\"}"}}]},"finish_reason":null}],"usage":null}

            data: {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}

            data: {"id":"chatcmpl-B9x","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":82,"completion_tokens":51,"total_tokens":133,"prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}}}

            data: [DONE]

            """;

    @Test
    void decodesParallelToolCallsWithSplitArguments() {
        WireFormat.StreamDecoder decoder = format.streamDecoder();
        List<StreamEvent> events = new ArrayList<>();
        for (String data : frames(TestJson.bytes(PARALLEL_TOOL_CALLS))) {
            assertThat(decoder.done()).isFalse();
            decoder.decode(null, data, events::add);
        }
        assertThat(decoder.done()).isTrue();

        assertThat(events.get(0)).isEqualTo(new Started("chatcmpl-B9x", "gpt-4o-2024-08-06"));
        assertThat(events).filteredOn(ToolCallStarted.class::isInstance).containsExactly(
                new ToolCallStarted(0, "call_paris", "get_weather"),
                new ToolCallStarted(1, "call_tokyo", "get_time"));
        assertThat(arguments(events)).containsExactly(
                Map.entry(0, "{\"city\": \"Paris\", \"unit\": \"celsius\"}"),
                Map.entry(1, "{\"tz\": \"Asia/Tokyo\"}"));
        assertThat(events).noneMatch(TextDelta.class::isInstance);
        assertThat(events.get(events.size() - 2)).isEqualTo(new Finished(FinishReason.TOOL_CALLS));
        assertThat(events.get(events.size() - 1)).isEqualTo(
                new UsageReport(new Usage(82, 51, 64, 0, 0, false)));
        assertToolCallOrder(events);
    }

    @Test
    void decodesTextWithRoleOnlyDeltaAndUsageOnTheFinishChunk() {
        // llama.cpp / vLLM style: a role-only first delta, usage riding on the finish chunk, then a usage chunk.
        List<StreamEvent> events = decode(format, """
                data: {"id":"cmpl-1","model":"qwen","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}

                data: {"id":"cmpl-1","model":"qwen","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}

                data: {"id":"cmpl-1","model":"qwen","choices":[{"index":0,"delta":{"content":""},"finish_reason":null}]}

                data: {"id":"cmpl-1","model":"qwen","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}

                data: {"id":"cmpl-1","model":"qwen","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}

                data: {"id":"cmpl-1","model":"qwen","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}

                data: [DONE]

                """);
        assertThat(events).containsExactly(
                new Started("cmpl-1", "qwen"),
                new TextDelta("Hel"),
                new TextDelta("lo"),
                new Finished(FinishReason.LENGTH),
                new UsageReport(Usage.of(5, 2)));
    }

    @Test
    void continuousUsageStatsReportOnlyTheFinalCount() {
        // vLLM with continuous_usage_stats puts a running count on every chunk; only the last one is the bill.
        List<StreamEvent> events = decode(format, """
                data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":5,"completion_tokens":1}}

                data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"b"}}],"usage":{"prompt_tokens":5,"completion_tokens":2}}

                data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

                data: {"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3}}

                data: [DONE]

                """);
        assertThat(events).filteredOn(UsageReport.class::isInstance).containsExactly(new UsageReport(Usage.of(5, 3)));
        assertThat(events.get(events.size() - 1)).isInstanceOf(UsageReport.class);
    }

    @Test
    void toleratesServersThatReuseIndexZeroOmitNamesOrSayStop() {
        // Some servers number every call 0 and distinguish them only by id, send a call's name after its first
        // arguments, and finish with "stop" despite the tool calls.
        List<StreamEvent> events = decode(format, """
                data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"arguments":"{\\"q\\":"}}]}}]}

                data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"search","arguments":"1}"}}]}}]}

                data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"b","function":{"name":"fetch","arguments":"{}"}}]}}]}

                data: {"id":"x","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

                data: [DONE]

                """);
        assertThat(events).filteredOn(ToolCallStarted.class::isInstance).containsExactly(
                new ToolCallStarted(0, "a", "search"), new ToolCallStarted(1, "b", "fetch"));
        assertThat(arguments(events)).containsExactly(Map.entry(0, "{\"q\":1}"), Map.entry(1, "{}"));
        assertThat(events.get(events.size() - 1)).isEqualTo(new Finished(FinishReason.TOOL_CALLS));
        assertToolCallOrder(events);
    }

    @Test
    void doneWithoutFinishReasonStillFinishes() {
        WireFormat.StreamDecoder decoder = format.streamDecoder();
        List<StreamEvent> events = new ArrayList<>();
        decoder.decode(null, "{\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}", events::add);
        assertThat(decoder.done()).isFalse();
        decoder.decode(null, "[DONE]", events::add);
        assertThat(decoder.done()).isTrue();
        assertThat(events).containsExactly(new Started("x", "m"), new TextDelta("hi"), new Finished(FinishReason.STOP));
        // Anything after [DONE] is ignored.
        decoder.decode(null, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late\"}}]}", events::add);
        assertThat(events).hasSize(3);
    }

    @Test
    void errorChunkMidStreamThrowsUpstreamError() {
        WireFormat.StreamDecoder decoder = format.streamDecoder();
        List<StreamEvent> events = new ArrayList<>();
        decoder.decode(null, "{\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}", events::add);
        String error = "{\"error\":{\"message\":\"   The server had an error while processing your request.\\n Sorry!  \","
                + "\"type\":\"server_error\",\"param\":null,\"code\":null}}";
        assertThatThrownBy(() -> decoder.decode(null, error, events::add))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.kind()).isEqualTo(ApiException.Kind.UPSTREAM);
                    assertThat(e.getMessage()).isEqualTo(
                            "upstream error: The server had an error while processing your request. Sorry!");
                });
        assertThat(events).hasSize(2);
        assertThat(decoder.done()).isFalse();
    }

    @Test
    void vllmStyleErrorAndErrorEventsAndLongMessagesAreHandled() {
        String vllm = "{\"object\":\"error\",\"message\":\"" + "x".repeat(5000) + "\",\"type\":\"BadRequestError\",\"code\":400}";
        assertThatThrownBy(() -> format.streamDecoder().decode(null, vllm, e -> { }))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.kind()).isEqualTo(ApiException.Kind.UPSTREAM);
                    assertThat(e.getMessage()).startsWith("upstream error: xxx").hasSizeLessThan(350);
                });
        assertThatThrownBy(() -> format.streamDecoder().decode("error", "model overloaded", e -> { }))
                .isInstanceOfSatisfying(ApiException.class,
                        e -> assertThat(e.getMessage()).isEqualTo("upstream error: model overloaded"));
    }

    @Test
    void malformedChunkIsAnInvalidUpstreamResponse() {
        assertThatThrownBy(() -> format.streamDecoder().decode(null, "{\"choices\": [", e -> { }))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.kind()).isEqualTo(ApiException.Kind.UPSTREAM);
                    assertThat(e.code()).isEqualTo("upstream_invalid_response");
                });
    }

    // =============================== encoding streams for clients ===============================

    private static ChatRequest request(boolean includeUsage) {
        return new ChatRequest("tier:x", List.of(Message.of(Role.USER, "hi")), List.of(), null, null, null, null,
                null, null, true, includeUsage, null, null);
    }

    private static final List<StreamEvent> ANSWER = List.of(
            new Started("up-123", "upstream-model-name"),
            new TextDelta("Let me check."),
            new ToolCallStarted(0, "call_1", "lookup"),
            new ToolCallDelta(0, "{\"q\":"),
            new ToolCallDelta(0, "\"x\"}"),
            new Finished(FinishReason.TOOL_CALLS),
            new UsageReport(new Usage(10, 7, 2, 0, 1, false)));

    private static byte[] encodeAll(WireFormat.StreamEncoder encoder, List<StreamEvent> events) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (StreamEvent e : events) out.writeBytes(encoder.encode(e));
        out.writeBytes(encoder.end());
        return out.toByteArray();
    }

    @Test
    void encodesChunksInOpenAiShape() {
        byte[] sse = encodeAll(format.streamEncoder(request(true), "smart"), ANSWER);
        String text = new String(sse);
        assertThat(text).startsWith("data: {").endsWith("data: [DONE]\n\n");

        List<JsonNode> chunks = frames(sse).stream().filter(d -> !d.equals("[DONE]")).map(TestJson::tree).toList();
        assertThat(chunks).hasSize(7);
        for (JsonNode c : chunks) {
            assertThat(c.path("id").asText()).isEqualTo("up-123");
            assertThat(c.path("object").asText()).isEqualTo("chat.completion.chunk");
            assertThat(c.path("model").asText()).isEqualTo("smart");
            assertThat(c.path("created").asLong()).isEqualTo(chunks.get(0).path("created").asLong()).isPositive();
        }
        assertThat(delta(chunks.get(0))).isEqualTo(tree("{\"role\":\"assistant\",\"content\":\"\"}"));
        assertThat(delta(chunks.get(1))).isEqualTo(tree("{\"content\":\"Let me check.\"}"));
        assertThat(delta(chunks.get(2))).isEqualTo(tree("""
                {"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup","arguments":""}}]}"""));
        assertThat(delta(chunks.get(3))).isEqualTo(tree("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"q\\\":\"}}]}"));
        for (int i = 0; i < 5; i++) {
            assertThat(chunks.get(i).path("choices").get(0).get("finish_reason").isNull()).isTrue();
        }
        assertThat(chunks.get(5).path("choices").get(0)).isEqualTo(
                tree("{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}"));
        JsonNode usageChunk = chunks.get(6);
        assertThat(usageChunk.path("choices").isArray()).isTrue();
        assertThat(usageChunk.path("choices")).isEmpty();
        assertThat(usageChunk.path("usage")).isEqualTo(tree("""
                {"prompt_tokens":10,"completion_tokens":7,"total_tokens":17,
                 "prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}}"""));
    }

    @Test
    void rendersChunksInTheExactBytesOfBefore() {
        // The frames are written by hand now; these are the bytes Jackson's generator wrote for them.
        WireFormat.StreamEncoder encoder = format.streamEncoder(request(true), "sm\"art");
        List<StreamEvent> events = List.of(
                new Started("up-1", "upstream-model"),
                new TextDelta("a\"b\\c\n\t\u0001 é 😀"),
                new ToolCallStarted(0, "call_1", "lookup"),
                new ToolCallDelta(0, "{\"q\":"),
                new Finished(FinishReason.TOOL_CALLS),
                new UsageReport(new Usage(10, 7, 2, 0, 1, false)));
        StringBuilder sse = new StringBuilder();
        for (StreamEvent e : events) sse.append(new String(encoder.encode(e), StandardCharsets.UTF_8));
        String head = "data: {\"id\":\"up-1\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"sm\\\"art\",";
        assertThat(sse.toString().replaceAll("\"created\":\\d+", "\"created\":0")).isEqualTo(
                head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
                + head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\\\"b\\\\c\\n\\t\\u0001 é \\uD83D\\uDE00\"},"
                        + "\"finish_reason\":null}]}\n\n"
                + head + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\","
                        + "\"function\":{\"name\":\"lookup\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n"
                + head + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"q\\\":\"}}]},"
                        + "\"finish_reason\":null}]}\n\n"
                + head + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
                + head + "\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":7,\"total_tokens\":17,"
                        + "\"prompt_tokens_details\":{\"cached_tokens\":2},\"completion_tokens_details\":{\"reasoning_tokens\":1}}}\n\n");
    }

    @Test
    void usageChunkIsStrippedWhenTheClientDidNotAsk() {
        WireFormat.StreamEncoder encoder = format.streamEncoder(request(false), "smart");
        byte[] sse = encodeAll(encoder, ANSWER);
        List<String> frames = frames(sse);
        assertThat(frames).hasSize(7); // six chunks and [DONE]
        assertThat(frames).noneMatch(f -> f.contains("\"usage\""));
        assertThat(encoder.encode(new UsageReport(Usage.of(1, 1)))).isEmpty();
    }

    @Test
    void synthesizesIdAndRoleChunkWhenStartedNeverCame() {
        WireFormat.StreamEncoder encoder = format.streamEncoder(request(false), "smart");
        List<String> frames = frames(encoder.encode(new TextDelta("hi")));
        assertThat(frames).hasSize(2);
        JsonNode role = tree(frames.get(0));
        JsonNode text = tree(frames.get(1));
        assertThat(role.path("id").asText()).startsWith("chatcmpl-").hasSizeGreaterThan(20);
        assertThat(text.path("id").asText()).isEqualTo(role.path("id").asText());
        assertThat(delta(role).path("role").asText()).isEqualTo("assistant");
        assertThat(delta(text).path("content").asText()).isEqualTo("hi");
        // A late Started neither repeats the role chunk nor changes the id.
        assertThat(encoder.encode(new Started("other", "m"))).isEmpty();
        assertThat(tree(frames(encoder.encode(new Finished(FinishReason.STOP))).get(0)).path("id").asText())
                .isEqualTo(role.path("id").asText());
    }

    @Test
    void errorFrameUsesTheErrorBodyShape() {
        WireFormat.StreamEncoder encoder = format.streamEncoder(request(false), "smart");
        ApiException error = ApiException.of(ApiException.Kind.TIMEOUT, "upstream_timeout", "too slow");
        byte[] frame = encoder.error(error);
        assertThat(new String(frame)).startsWith("data: {\"error\":").endsWith("}\n\n");
        assertThat(tree(frames(frame).get(0))).isEqualTo(tree(format.renderError(error)));
    }

    @Test
    void encoderOutputDecodesBackToTheSameEvents() {
        byte[] sse = encodeAll(format.streamEncoder(request(true), "smart"), ANSWER);
        List<StreamEvent> decoded = decode(format, new String(sse));
        List<StreamEvent> expected = new ArrayList<>(ANSWER);
        expected.set(0, new Started("up-123", "smart"));
        assertThat(decoded).isEqualTo(expected);
    }

    // ---- helpers ----

    private static JsonNode delta(JsonNode chunk) { return chunk.path("choices").get(0).path("delta"); }

    /** Reassembles each tool call's arguments from its deltas. */
    private static Map<Integer, String> arguments(List<StreamEvent> events) {
        Map<Integer, StringBuilder> args = new LinkedHashMap<>();
        for (StreamEvent e : events) {
            if (e instanceof ToolCallStarted s) args.put(s.index(), new StringBuilder());
            if (e instanceof ToolCallDelta d) args.get(d.index()).append(d.argumentsDelta());
        }
        Map<Integer, String> out = new LinkedHashMap<>();
        args.forEach((k, v) -> out.put(k, v.toString()));
        return out;
    }

    /** The neutral contract: every delta comes after its call's start, and indexes are 0, 1, 2... in order. */
    private static void assertToolCallOrder(List<StreamEvent> events) {
        int started = 0;
        for (StreamEvent e : events) {
            if (e instanceof ToolCallStarted s) assertThat(s.index()).isEqualTo(started++);
            if (e instanceof ToolCallDelta d) assertThat(d.index()).isLessThan(started);
        }
    }
}
