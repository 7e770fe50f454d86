package dev.carapace.model.responses;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.FinishReason;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.Usage;
import dev.carapace.model.WireFormat;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Responses event stream both ways: the encoder's event order, sequence numbers, item ids and final response, for
 * text, function calls, namespaced and custom tools, a cut answer and an error; and the decoder reading an upstream's.
 */
class ResponsesStreamTest {

    private record Event(String name, JsonNode data) {
        String type() { return data.get("type").asText(); }
    }

    private static List<Event> events(byte[] sse) {
        List<Event> out = new ArrayList<>();
        for (String block : new String(sse, StandardCharsets.UTF_8).split("\n\n")) {
            if (block.isBlank()) continue;
            String[] lines = block.split("\n");
            assertThat(lines).hasSize(2);
            assertThat(lines[0]).startsWith("event: ");
            assertThat(lines[1]).startsWith("data: ");
            try {
                out.add(new Event(lines[0].substring(7), ResponsesJson.MAPPER.readTree(lines[1].substring(6))));
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        }
        return out;
    }

    private static List<Event> encode(ResponsesContext context, Usage recorded, StreamEvent... in) {
        WireFormat.StreamEncoder enc = new ResponsesFormat().streamEncoder(context, "m-x", recorded == null ? null : () -> recorded);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (StreamEvent e : in) out.writeBytes(enc.encode(e));
        out.writeBytes(enc.end());
        List<Event> events = events(out.toByteArray());
        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i).name()).isEqualTo(events.get(i).type());
            assertThat(events.get(i).data().get("sequence_number").asInt()).isEqualTo(i);
        }
        return events;
    }

    @Test
    void textThenAFunctionCallInTheirOrder() {
        List<Event> ev = encode(ResponsesContext.none(), null,
                new StreamEvent.Started("up-1", "up"), new StreamEvent.TextDelta("Let me "), new StreamEvent.TextDelta("check."),
                new StreamEvent.ToolCallStarted(0, "call_1", "get_weather"), new StreamEvent.ToolCallDelta(0, "{\"city\":"),
                new StreamEvent.ToolCallDelta(0, "\"Oslo\"}"), new StreamEvent.Finished(FinishReason.TOOL_CALLS),
                new StreamEvent.UsageReport(new Usage(50, 12, 20, 0, 4, false)));

        assertThat(ev).extracting(Event::type).containsExactly("response.created", "response.in_progress",
                "response.output_item.added", "response.content_part.added", "response.output_text.delta",
                "response.output_text.delta", "response.output_text.done", "response.content_part.done",
                "response.output_item.done", "response.output_item.added", "response.function_call_arguments.delta",
                "response.function_call_arguments.delta", "response.function_call_arguments.done",
                "response.output_item.done", "response.completed");
        String responseId = ev.get(0).data().at("/response/id").asText();
        assertThat(responseId).startsWith("resp_");
        assertThat(ev.get(0).data().at("/response/status").asText()).isEqualTo("in_progress");
        assertThat(ev.get(0).data().at("/response/model").asText()).isEqualTo("m-x");
        String messageId = ev.get(2).data().at("/item/id").asText();
        assertThat(ev.get(4).data().get("item_id").asText()).isEqualTo(messageId);
        assertThat(ev.get(6).data().get("text").asText()).isEqualTo("Let me check.");
        assertThat(ev.get(9).data().get("output_index").asInt()).isEqualTo(1);
        assertThat(ev.get(9).data().at("/item/arguments").asText()).isEmpty();
        assertThat(ev.get(12).data().get("arguments").asText()).isEqualTo("{\"city\":\"Oslo\"}");

        JsonNode done = ev.get(14).data().get("response");
        assertThat(done.get("id").asText()).isEqualTo(responseId);
        assertThat(done.get("status").asText()).isEqualTo("completed");
        assertThat(done.at("/output/0/content/0/text").asText()).isEqualTo("Let me check.");
        assertThat(done.at("/output/0/status").asText()).isEqualTo("completed");
        assertThat(done.at("/output/1/type").asText()).isEqualTo("function_call");
        assertThat(done.at("/output/1/call_id").asText()).isEqualTo("call_1");
        assertThat(done.at("/output/1/arguments").asText()).isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(done.at("/usage/input_tokens").asLong()).isEqualTo(50);
        assertThat(done.at("/usage/input_tokens_details/cached_tokens").asLong()).isEqualTo(20);
        assertThat(done.at("/usage/output_tokens_details/reasoning_tokens").asLong()).isEqualTo(4);
        assertThat(done.at("/usage/total_tokens").asLong()).isEqualTo(62);
    }

    @Test
    void namespacedAndCustomToolCallsAreShownAsTheClientDeclaredThem() {
        ResponsesContext c = new ResponsesFormat().parse("""
                {"model":"m","input":"x","tools":[{"type":"namespace","name":"ns","tools":[{"type":"function","name":"spawn"}]},
                 {"type":"custom","name":"apply_patch"}]}""".getBytes(StandardCharsets.UTF_8), ResponsesFormat.DEFAULT_OPTIONAL_TOOLS).context();
        List<Event> ev = encode(c, Usage.of(3, 4),
                new StreamEvent.Started("u", "up"),
                new StreamEvent.ToolCallStarted(0, "c1", "ns__spawn"), new StreamEvent.ToolCallDelta(0, "{}"),
                new StreamEvent.ToolCallStarted(1, "c2", "apply_patch"), new StreamEvent.ToolCallDelta(1, "{\"input\":\"*** Begin"),
                new StreamEvent.ToolCallDelta(1, " Patch\"}"), new StreamEvent.Finished(FinishReason.TOOL_CALLS));
        JsonNode done = ev.get(ev.size() - 1).data().get("response");
        assertThat(done.at("/output/0/name").asText()).isEqualTo("spawn");
        assertThat(done.at("/output/0/namespace").asText()).isEqualTo("ns");
        assertThat(done.at("/output/1/type").asText()).isEqualTo("custom_tool_call");
        assertThat(done.at("/output/1/input").asText()).isEqualTo("*** Begin Patch");
        assertThat(ev).extracting(Event::type).contains("response.custom_tool_call_input.done")
                .doesNotContain("response.output_text.delta");
        // no usage reported by the upstream: the call's recorded usage is shown
        assertThat(done.at("/usage/input_tokens").asLong()).isEqualTo(3);
        assertThat(done.at("/usage/output_tokens").asLong()).isEqualTo(4);
    }

    @Test
    void reasoningIsASummaryItemWhenTheClientAskedForOne() {
        ResponsesContext asked = new ResponsesFormat().parse("{\"model\":\"m\",\"input\":\"x\",\"reasoning\":{\"summary\":\"auto\"}}"
                .getBytes(StandardCharsets.UTF_8), ResponsesFormat.DEFAULT_OPTIONAL_TOOLS).context();
        StreamEvent[] answer = {new StreamEvent.Started("u", "up"), new StreamEvent.ReasoningDelta("First, "),
                new StreamEvent.ReasoningDelta("greet."), new StreamEvent.TextDelta("Hi"), new StreamEvent.Finished(FinishReason.STOP)};
        List<Event> ev = encode(asked, null, answer);
        assertThat(ev).extracting(Event::type).containsExactly("response.created", "response.in_progress",
                "response.output_item.added", "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done", "response.output_item.done", "response.output_item.added",
                "response.content_part.added", "response.output_text.delta", "response.output_text.done",
                "response.content_part.done", "response.output_item.done", "response.completed");
        JsonNode done = ev.get(ev.size() - 1).data().get("response");
        assertThat(done.at("/output/0/type").asText()).isEqualTo("reasoning");
        assertThat(done.at("/output/0/summary/0/text").asText()).isEqualTo("First, greet.");
        assertThat(done.at("/output/1/content/0/text").asText()).isEqualTo("Hi");

        // not asked: billed and counted, not shown
        List<Event> quiet = encode(ResponsesContext.none(), null, answer);
        assertThat(quiet).extracting(Event::type).doesNotContain("response.reasoning_summary_text.delta");
        assertThat(quiet.get(quiet.size() - 1).data().at("/response/output").size()).isEqualTo(1);
    }

    @Test
    void anAnswerCutByTheOutputLimitIsIncomplete() {
        List<Event> ev = encode(ResponsesContext.none(), null, new StreamEvent.Started("u", "up"),
                new StreamEvent.TextDelta("abc"), new StreamEvent.Finished(FinishReason.LENGTH));
        Event last = ev.get(ev.size() - 1);
        assertThat(last.type()).isEqualTo("response.incomplete");
        assertThat(last.data().at("/response/status").asText()).isEqualTo("incomplete");
        assertThat(last.data().at("/response/incomplete_details/reason").asText()).isEqualTo("max_output_tokens");
    }

    @Test
    void anErrorMidStreamIsResponseFailed() {
        WireFormat.StreamEncoder enc = new ResponsesFormat().streamEncoder(ResponsesContext.none(), "m-x", null);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(enc.encode(new StreamEvent.Started("u", "up")));
        out.writeBytes(enc.encode(new StreamEvent.TextDelta("par")));
        out.writeBytes(enc.error(ApiException.of(ApiException.Kind.UPSTREAM, "upstream_stream_truncated", "cut")));
        List<Event> ev = events(out.toByteArray());
        Event last = ev.get(ev.size() - 1);
        assertThat(last.type()).isEqualTo("response.failed");
        assertThat(last.data().get("sequence_number").asInt()).isEqualTo(ev.size() - 1);
        assertThat(last.data().at("/response/status").asText()).isEqualTo("failed");
        assertThat(last.data().at("/response/error/code").asText()).isEqualTo("upstream_stream_truncated");
        assertThat(last.data().at("/response/id").asText()).isEqualTo(ev.get(0).data().at("/response/id").asText());
    }

    @Test
    void theDecoderReadsAnUpstreamsEventsIntoNeutralOnes() {
        WireFormat.StreamDecoder d = new ResponsesFormat().streamDecoder();
        List<StreamEvent> got = new ArrayList<>();
        String[][] frames = {
                {"response.created", "{\"type\":\"response.created\",\"response\":{\"id\":\"resp_9\",\"model\":\"gpt\"}}"},
                {"response.reasoning_summary_text.delta", "{\"type\":\"response.reasoning_summary_text.delta\",\"delta\":\"hmm\"}"},
                {"response.output_text.delta", "{\"type\":\"response.output_text.delta\",\"item_id\":\"m\",\"delta\":\"Hi\"}"},
                {"response.output_item.added", "{\"type\":\"response.output_item.added\",\"item\":{\"id\":\"fc_1\",\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"namespace\":\"ns\",\"arguments\":\"\"}}"},
                {"response.output_item.done", "{\"type\":\"response.output_item.done\",\"item\":{\"id\":\"fc_1\",\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"namespace\":\"ns\",\"arguments\":\"{\\\"a\\\":1}\"}}"},
                {"response.completed", "{\"type\":\"response.completed\",\"response\":{\"status\":\"completed\",\"usage\":{\"input_tokens\":8,\"input_tokens_details\":{\"cached_tokens\":2},\"output_tokens\":5,\"output_tokens_details\":{\"reasoning_tokens\":1}}}}"}};
        for (String[] f : frames) d.decode(f[0], f[1], got::add);
        assertThat(d.done()).isTrue();
        assertThat(got).containsExactly(new StreamEvent.Started("resp_9", "gpt"), new StreamEvent.ReasoningDelta("hmm"),
                new StreamEvent.TextDelta("Hi"), new StreamEvent.ToolCallStarted(0, "c1", "ns__f"),
                new StreamEvent.ToolCallDelta(0, "{\"a\":1}"), new StreamEvent.Finished(FinishReason.TOOL_CALLS),
                new StreamEvent.UsageReport(new Usage(8, 5, 2, 0, 1, false)));

        WireFormat.StreamDecoder failing = new ResponsesFormat().streamDecoder();
        failing.decode("response.created", "{\"response\":{\"id\":\"r\"}}", e -> { });
        assertThatThrownBy(() -> failing.decode("response.failed",
                "{\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"boom\"}}}", e -> { }))
                .isInstanceOf(ApiException.class).hasMessageContaining("boom");
    }
}
