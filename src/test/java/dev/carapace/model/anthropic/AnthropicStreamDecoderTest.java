package dev.carapace.model.anthropic;

import dev.carapace.model.ApiException;
import dev.carapace.model.FinishReason;
import dev.carapace.model.SseReader;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.Usage;
import dev.carapace.model.WireFormat;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class AnthropicStreamDecoderTest {

    /** A stream as api.anthropic.com sends it: thinking, text, then two tool calls in small pieces. */
    private static final String STREAM = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_01X","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":300,"cache_read_input_tokens":2000,"output_tokens":1}}}

            event: ping
            data: {"type": "ping"}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Two lookups."}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: content_block_start
            data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Let me "}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"check."}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":1}

            event: content_block_start
            data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_A","name":"get_weather","input":{}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\\"ci"}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"ty\\": \\"Par"}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"is\\", \\"unit\\""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":": \\"C\\"}"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":2}

            event: content_block_start
            data: {"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_B","name":"get_time","input":{}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\\"tz\\":"}}

            event: some_future_event
            data: {"type":"some_future_event","whatever":1}

            event: content_block_delta
            data: {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":" \\"Europe/Paris\\"}"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":3}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":87}}

            event: message_stop
            data: {"type":"message_stop"}

            """;

    @Test
    void decodesTextAndTwoToolCalls() throws IOException {
        List<StreamEvent> events = new ArrayList<>();
        WireFormat.StreamDecoder d = new AnthropicFormat().streamDecoder();
        new SseReader(new ByteArrayInputStream(STREAM.getBytes(StandardCharsets.UTF_8)))
                .read((ev, data) -> d.decode(ev, data, events::add), d::done);

        assertThat(d.done()).isTrue();
        assertThat(events.get(0)).isEqualTo(new StreamEvent.Started("msg_01X", "claude-sonnet-4-5"));
        assertThat(text(events)).isEqualTo("Let me check.");
        assertThat(events).filteredOn(StreamEvent.ToolCallStarted.class::isInstance).containsExactly(
                new StreamEvent.ToolCallStarted(0, "toolu_A", "get_weather"),
                new StreamEvent.ToolCallStarted(1, "toolu_B", "get_time"));
        assertThat(arguments(events, 0)).isEqualTo("{\"city\": \"Paris\", \"unit\": \"C\"}");
        assertThat(arguments(events, 1)).isEqualTo("{\"tz\": \"Europe/Paris\"}");
        assertThat(events).filteredOn(StreamEvent.ToolCallDelta.class::isInstance)
                .allSatisfy(e -> assertThat(((StreamEvent.ToolCallDelta) e).argumentsDelta()).isNotEmpty());
        // Finished then usage, last: input = 12 uncached + 2000 read + 300 written; output is message_delta's
        assertThat(events.subList(events.size() - 2, events.size())).containsExactly(
                new StreamEvent.Finished(FinishReason.TOOL_CALLS),
                new StreamEvent.UsageReport(new Usage(2312, 87, 2000, 300, 0, false)));
        // the ToolCallStarted of each call precedes its deltas
        int startB = events.indexOf(new StreamEvent.ToolCallStarted(1, "toolu_B", "get_time"));
        int firstDeltaB = -1;
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i) instanceof StreamEvent.ToolCallDelta td && td.index() == 1) {
                firstDeltaB = i;
                break;
            }
        }
        assertThat(startB).isLessThan(firstDeltaB);
    }

    @Test
    void messageDeltaUsageOverridesInputCountsWhenPresent() {
        List<StreamEvent> events = new ArrayList<>();
        WireFormat.StreamDecoder d = new AnthropicFormat().streamDecoder();
        d.decode("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"x\","
                + "\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}", events::add);
        d.decode("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
                + "\"content_block\":{\"type\":\"text\",\"text\":\"Hi\"}}", events::add);
        d.decode("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},"
                + "\"usage\":{\"input_tokens\":9,\"cache_read_input_tokens\":4,\"output_tokens\":30}}", events::add);
        assertThat(d.done()).isFalse();
        d.decode(null, "{\"type\":\"message_stop\"}", events::add);
        assertThat(d.done()).isTrue();
        assertThat(events).containsExactly(new StreamEvent.Started("m", "x"), new StreamEvent.TextDelta("Hi"),
                new StreamEvent.Finished(FinishReason.LENGTH),
                new StreamEvent.UsageReport(new Usage(13, 30, 4, 0, 0, false)));
    }

    @Test
    void errorEventsBecomeApiExceptions() {
        WireFormat.StreamDecoder d = new AnthropicFormat().streamDecoder();
        ApiException overloaded = catchThrowableOfType(ApiException.class, () -> d.decode("error",
                "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}", e -> { }));
        assertThat(overloaded.kind()).isEqualTo(ApiException.Kind.UNAVAILABLE);
        assertThat(overloaded.retryable()).isTrue();
        assertThat(overloaded.getMessage()).contains("Overloaded");

        ApiException limited = catchThrowableOfType(ApiException.class, () -> d.decode("error",
                "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}", e -> { }));
        assertThat(limited.kind()).isEqualTo(ApiException.Kind.RATE_LIMITED);

        ApiException other = catchThrowableOfType(ApiException.class, () -> d.decode("error",
                "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}", e -> { }));
        assertThat(other.kind()).isEqualTo(ApiException.Kind.UPSTREAM);

        ApiException garbage = catchThrowableOfType(ApiException.class,
                () -> d.decode("content_block_delta", "{not json", e -> { }));
        assertThat(garbage.code()).isEqualTo("upstream_invalid_response");
    }

    @Test
    void stopReasonMapping() {
        assertThat(AnthropicFormat.finishReason("end_turn")).isEqualTo(FinishReason.STOP);
        assertThat(AnthropicFormat.finishReason("stop_sequence")).isEqualTo(FinishReason.STOP);
        assertThat(AnthropicFormat.finishReason("pause_turn")).isEqualTo(FinishReason.STOP);
        assertThat(AnthropicFormat.finishReason("max_tokens")).isEqualTo(FinishReason.LENGTH);
        assertThat(AnthropicFormat.finishReason("tool_use")).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(AnthropicFormat.finishReason("refusal")).isEqualTo(FinishReason.CONTENT_FILTER);
    }

    private static String text(List<StreamEvent> events) {
        StringBuilder sb = new StringBuilder();
        for (StreamEvent e : events) if (e instanceof StreamEvent.TextDelta t) sb.append(t.text());
        return sb.toString();
    }

    private static String arguments(List<StreamEvent> events, int index) {
        StringBuilder sb = new StringBuilder();
        for (StreamEvent e : events) {
            if (e instanceof StreamEvent.ToolCallDelta d && d.index() == index) sb.append(d.argumentsDelta());
        }
        return sb.toString();
    }
}
