package dev.carapace.model.responses;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.FinishReason;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.Usage;
import dev.carapace.model.WireFormat;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Renders neutral stream events as the Responses API's typed events, each with its {@code sequence_number}:
 * reasoning a translated upstream showed, when the client asked for summaries, as a {@code reasoning} item with
 * {@code reasoning_summary_part.added}, {@code reasoning_summary_text.delta}..., {@code .done};
 * {@code response.created} and {@code response.in_progress}; per message {@code output_item.added},
 * {@code content_part.added}, {@code output_text.delta}..., {@code output_text.done}, {@code content_part.done},
 * {@code output_item.done}; per function call {@code output_item.added}, {@code function_call_arguments.delta}...,
 * {@code .done}, {@code output_item.done}; and at the end {@code response.completed} (or {@code response.incomplete}
 * when the output limit cut the answer, {@code response.failed} on an error) with the whole response and its usage.
 *
 * <p>The last event waits for {@link #end}: usage comes after the finish, and when the upstream reported none it is
 * Carapace's own estimate, known only once the call is recorded. Stateful: one per streamed answer.
 */
final class ResponsesStreamEncoder implements WireFormat.StreamEncoder, ResponsesFormat.Finals {

    private static final byte[] EMPTY = new byte[0];

    private final ResponsesContext context;
    private final String model;
    private final Supplier<Usage> recordedUsage;
    private final long createdAt = ResponsesJson.nowSeconds();
    private String id;
    private int sequence;
    /** The output items in order; an item still streaming is its added form until it is done. */
    private final List<ObjectNode> output = new ArrayList<>();
    private int messageIndex = -1;
    private StringBuilder text;
    /** Whether the client asked for reasoning summaries, and the reasoning item being streamed as one. */
    private final boolean summaries;
    private int reasoningIndex = -1;
    private StringBuilder reasoning;
    private final Map<Integer, Call> calls = new HashMap<>();
    private final List<Call> openCalls = new ArrayList<>();
    private FinishReason finish;
    private Usage usage;
    private ObjectNode last;

    /** One function or custom tool call being streamed. */
    private static final class Call {
        int outputIndex;
        String itemId, callId, name, namespace;
        boolean custom;
        final StringBuilder arguments = new StringBuilder();
    }

    /** @param recordedUsage the call's usage once recorded, for an upstream that reported none; may be null */
    ResponsesStreamEncoder(ResponsesContext context, String model, Supplier<Usage> recordedUsage) {
        this.context = context;
        this.model = model;
        this.recordedUsage = recordedUsage;
        String summary = context.echo().path("reasoning").path("summary").asText("none");
        this.summaries = !summary.equals("none") && !summary.isEmpty();
    }

    @Override
    public byte[] encode(StreamEvent event) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        switch (event) {
            case StreamEvent.Started s -> {
                id = ResponsesJson.newId("resp");
                ObjectNode r = ResponsesObjects.response(id, createdAt, model, "in_progress", List.of(), null, context, false);
                out.writeBytes(event("response.created", ResponsesJson.object().set("response", r)));
                out.writeBytes(event("response.in_progress", ResponsesJson.object().set("response", r)));
            }
            case StreamEvent.ReasoningDelta r -> {
                // Reasoning a translated upstream showed (Anthropic thinking, vLLM reasoning_content) is the summary
                // the client asked for; otherwise it is billed and counted, not shown.
                if (!summaries || r.text().isEmpty()) return EMPTY;
                if (text != null) closeMessage(out);
                if (reasoning == null) openReasoning(out);
                reasoning.append(r.text());
                out.writeBytes(event("response.reasoning_summary_text.delta", summaryRef().put("delta", r.text())));
            }
            case StreamEvent.TextDelta t -> {
                if (t.text().isEmpty()) return EMPTY;
                if (reasoning != null) closeReasoning(out);
                if (text == null) openMessage(out);
                text.append(t.text());
                out.writeBytes(event("response.output_text.delta", textRef().put("delta", t.text())
                        .set("logprobs", ResponsesJson.MAPPER.createArrayNode())));
            }
            case StreamEvent.ToolCallStarted s -> {
                if (reasoning != null) closeReasoning(out);
                if (text != null) closeMessage(out);
                Call c = new Call();
                c.outputIndex = output.size();
                c.callId = s.id();
                String[] ns = context.namespaced().get(s.name());
                c.namespace = ns == null ? null : ns[0];
                c.name = ns == null ? s.name() : ns[1];
                c.custom = context.customTools().contains(s.name());
                c.itemId = ResponsesJson.newId(c.custom ? "ctc" : "fc");
                calls.put(s.index(), c);
                openCalls.add(c);
                ObjectNode item = ResponsesObjects.callItem(c.itemId, c.callId, c.name, c.namespace, c.custom, "", "in_progress");
                output.add(item);
                out.writeBytes(event("response.output_item.added", ResponsesJson.object().put("output_index", c.outputIndex)
                        .set("item", item)));
            }
            case StreamEvent.ToolCallDelta d -> {
                Call c = calls.get(d.index());
                if (c == null || d.argumentsDelta().isEmpty()) return EMPTY;
                c.arguments.append(d.argumentsDelta());
                // A custom tool's input is one string inside the arguments object: it is sent whole when complete.
                if (!c.custom) {
                    out.writeBytes(event("response.function_call_arguments.delta", ResponsesJson.object()
                            .put("item_id", c.itemId).put("output_index", c.outputIndex).put("delta", d.argumentsDelta())));
                }
            }
            case StreamEvent.Finished f -> {
                finish = f.reason();
                closeAll(out);
            }
            case StreamEvent.UsageReport u -> usage = u.usage();
            default -> { return EMPTY; }   // frames are the relay's
        }
        return out.toByteArray();
    }

    @Override
    public byte[] end() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        closeAll(out);
        Usage u = usage != null ? usage : recordedUsage != null ? recordedUsage.get() : Usage.ZERO;
        boolean incomplete = finish == FinishReason.LENGTH || finish == FinishReason.CONTENT_FILTER;
        ObjectNode r = ResponsesObjects.response(id(), createdAt, model, incomplete ? "incomplete" : "completed",
                output, u, context, true);
        if (incomplete) {
            r.putObject("incomplete_details").put("reason", finish == FinishReason.LENGTH ? "max_output_tokens" : "content_filter");
        }
        last = r;
        out.writeBytes(event(incomplete ? "response.incomplete" : "response.completed", ResponsesJson.object().set("response", r)));
        return out.toByteArray();
    }

    @Override
    public byte[] error(ApiException error) {
        ObjectNode r = ResponsesObjects.response(id(), createdAt, model, "failed", output, usage, context, true);
        r.putObject("error").put("code", error.code() == null ? "server_error" : error.code())
                .put("message", error.getMessage() == null ? "the call failed" : error.getMessage());
        last = r;
        return event("response.failed", ResponsesJson.object().set("response", r));
    }

    @Override
    public ObjectNode finalResponse() { return last; }

    /** Numbers the next event {@code sequence}: for a failure written after frames an upstream numbered itself. */
    void continueAt(int sequence) { this.sequence = sequence; }

    private String id() {
        if (id == null) id = ResponsesJson.newId("resp");
        return id;
    }

    private void openMessage(ByteArrayOutputStream out) {
        messageIndex = output.size();
        text = new StringBuilder();
        String itemId = ResponsesJson.newId("msg");
        ObjectNode item = ResponsesObjects.messageItem(itemId, null, "in_progress");
        output.add(item);
        out.writeBytes(event("response.output_item.added", ResponsesJson.object().put("output_index", messageIndex).set("item", item)));
        out.writeBytes(event("response.content_part.added", textRef().set("part", ResponsesObjects.textPart(""))));
    }

    private void closeMessage(ByteArrayOutputStream out) {
        String all = text.toString();
        out.writeBytes(event("response.output_text.done", textRef().put("text", all)
                .set("logprobs", ResponsesJson.MAPPER.createArrayNode())));
        out.writeBytes(event("response.content_part.done", textRef().set("part", ResponsesObjects.textPart(all))));
        ObjectNode item = ResponsesObjects.messageItem(output.get(messageIndex).path("id").asText(), all, "completed");
        output.set(messageIndex, item);
        out.writeBytes(event("response.output_item.done", ResponsesJson.object().put("output_index", messageIndex).set("item", item)));
        text = null;
    }

    private void openReasoning(ByteArrayOutputStream out) {
        reasoningIndex = output.size();
        reasoning = new StringBuilder();
        ObjectNode item = ResponsesObjects.reasoningItem(ResponsesJson.newId("rs"), null);
        output.add(item);
        out.writeBytes(event("response.output_item.added", ResponsesJson.object().put("output_index", reasoningIndex).set("item", item)));
        out.writeBytes(event("response.reasoning_summary_part.added", summaryRef().set("part", ResponsesObjects.summaryPart(""))));
    }

    private void closeReasoning(ByteArrayOutputStream out) {
        String all = reasoning.toString();
        out.writeBytes(event("response.reasoning_summary_text.done", summaryRef().put("text", all)));
        out.writeBytes(event("response.reasoning_summary_part.done", summaryRef().set("part", ResponsesObjects.summaryPart(all))));
        ObjectNode item = ResponsesObjects.reasoningItem(output.get(reasoningIndex).path("id").asText(), all);
        output.set(reasoningIndex, item);
        out.writeBytes(event("response.output_item.done", ResponsesJson.object().put("output_index", reasoningIndex).set("item", item)));
        reasoning = null;
    }

    private ObjectNode summaryRef() {
        return ResponsesJson.object().put("item_id", output.get(reasoningIndex).path("id").asText())
                .put("output_index", reasoningIndex).put("summary_index", 0);
    }

    private void closeAll(ByteArrayOutputStream out) {
        if (reasoning != null) closeReasoning(out);
        if (text != null) closeMessage(out);
        for (Call c : openCalls) {
            String arguments = c.arguments.isEmpty() ? "{}" : c.arguments.toString();
            String value = c.custom ? ResponsesObjects.customInput(arguments) : arguments;
            if (c.custom) {
                out.writeBytes(event("response.custom_tool_call_input.delta", ResponsesJson.object()
                        .put("item_id", c.itemId).put("output_index", c.outputIndex).put("delta", value)));
                out.writeBytes(event("response.custom_tool_call_input.done", ResponsesJson.object()
                        .put("item_id", c.itemId).put("output_index", c.outputIndex).put("input", value)));
            } else {
                out.writeBytes(event("response.function_call_arguments.done", ResponsesJson.object()
                        .put("item_id", c.itemId).put("output_index", c.outputIndex).put("name", c.name).put("arguments", value)));
            }
            ObjectNode item = ResponsesObjects.callItem(c.itemId, c.callId, c.name, c.namespace, c.custom, value, "completed");
            output.set(c.outputIndex, item);
            out.writeBytes(event("response.output_item.done", ResponsesJson.object().put("output_index", c.outputIndex).set("item", item)));
        }
        openCalls.clear();
    }

    private ObjectNode textRef() {
        return ResponsesJson.object().put("item_id", output.get(messageIndex).path("id").asText())
                .put("output_index", messageIndex).put("content_index", 0);
    }

    /** One event: its type first, then its sequence number, then its fields. */
    private byte[] event(String type, ObjectNode fields) {
        ObjectNode e = ResponsesJson.object().put("type", type).put("sequence_number", sequence++);
        e.setAll(fields);
        return ResponsesJson.frame(type, g -> g.writeTree(e));
    }

    /** For tests: the items of the answer so far. */
    ArrayNode outputItems() {
        ArrayNode a = ResponsesJson.MAPPER.createArrayNode();
        output.forEach(a::add);
        return a;
    }
}
