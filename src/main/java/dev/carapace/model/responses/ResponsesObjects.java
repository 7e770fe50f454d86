package dev.carapace.model.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.FinishReason;
import dev.carapace.model.ToolCall;
import dev.carapace.model.Usage;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** The objects of the Responses API as Carapace writes them: the response, its output items, their parts. */
final class ResponsesObjects {

    private ResponsesObjects() {}

    /**
     * A response object.
     *
     * @param output items in order; null or empty for none
     * @param usage  null while the answer is under way
     * @param tools  whether to repeat the request's tools (the last event does; the first ones need not carry them)
     */
    static ObjectNode response(String id, long createdAt, String model, String status, List<ObjectNode> output,
                               Usage usage, ResponsesContext context, boolean tools) {
        ObjectNode r = ResponsesJson.object().put("id", id).put("object", "response").put("created_at", createdAt)
                .put("status", status);
        r.putNull("error");
        r.putNull("incomplete_details");
        r.put("model", model);
        ArrayNode items = r.putArray("output");
        if (output != null) output.forEach(items::add);
        ObjectNode echo = context.echo();
        r.set("instructions", echo.path("instructions").isMissingNode() ? r.nullNode() : echo.get("instructions"));
        r.set("max_output_tokens", echo.path("max_output_tokens").isMissingNode() ? r.nullNode() : echo.get("max_output_tokens"));
        r.put("parallel_tool_calls", echo.path("parallel_tool_calls").asBoolean(true));
        if (context.previousResponseId() == null) r.putNull("previous_response_id");
        else r.put("previous_response_id", context.previousResponseId());
        r.set("reasoning", echo.has("reasoning") ? echo.get("reasoning") : r.objectNode().putNull("effort"));
        r.put("store", context.store());
        if (echo.has("temperature")) r.set("temperature", echo.get("temperature"));
        if (echo.has("top_p")) r.set("top_p", echo.get("top_p"));
        r.set("text", echo.has("text") ? echo.get("text") : r.objectNode().set("format", r.objectNode().put("type", "text")));
        r.set("tool_choice", echo.has("tool_choice") ? echo.get("tool_choice") : r.textNode("auto"));
        r.set("tools", tools && echo.has("tools") ? echo.get("tools") : r.arrayNode());
        r.set("truncation", echo.has("truncation") ? echo.get("truncation") : r.textNode("disabled"));
        r.set("metadata", echo.path("metadata").isObject() ? echo.get("metadata") : r.objectNode());
        if (echo.has("prompt_cache_key")) r.set("prompt_cache_key", echo.get("prompt_cache_key"));
        if (echo.has("user")) r.set("user", echo.get("user"));
        if (usage == null) {
            r.putNull("usage");
        } else {
            r.set("usage", usageNode(usage));
        }
        return r;
    }

    private static ObjectNode usageNode(Usage u) {
        ObjectNode n = ResponsesJson.object().put("input_tokens", u.inputTokens());
        n.putObject("input_tokens_details").put("cached_tokens", u.cachedInputTokens());
        n.put("output_tokens", u.outputTokens());
        n.putObject("output_tokens_details").put("reasoning_tokens", u.reasoningTokens());
        n.put("total_tokens", u.inputTokens() + u.outputTokens());
        return n;
    }

    /** An assistant message item; {@code text} null for one just opened (no content yet). */
    static ObjectNode messageItem(String id, String text, String status) {
        ObjectNode item = ResponsesJson.object().put("id", id).put("type", "message").put("status", status)
                .put("role", "assistant");
        ArrayNode content = item.putArray("content");
        if (text != null) content.add(textPart(text));
        return item;
    }

    /** A reasoning item whose summary is {@code summary}; {@code summary} null for one just opened. */
    static ObjectNode reasoningItem(String id, String summary) {
        ObjectNode item = ResponsesJson.object().put("id", id).put("type", "reasoning");
        ArrayNode parts = item.putArray("summary");
        if (summary != null) parts.add(summaryPart(summary));
        return item;
    }

    static ObjectNode summaryPart(String text) {
        return ResponsesJson.object().put("type", "summary_text").put("text", text);
    }

    static ObjectNode textPart(String text) {
        ObjectNode part = ResponsesJson.object().put("type", "output_text").put("text", text);
        part.putArray("annotations");
        part.putArray("logprobs");
        return part;
    }

    /** A function call item, or a custom tool call item whose {@code value} is its input text. */
    static ObjectNode callItem(String id, String callId, String name, String namespace, boolean custom, String value,
                               String status) {
        ObjectNode item = ResponsesJson.object().put("id", id).put("type", custom ? "custom_tool_call" : "function_call")
                .put("status", status);
        if (custom) {
            item.put("call_id", callId).put("name", name).put("input", value);
        } else {
            item.put("arguments", value).put("call_id", callId).put("name", name);
            if (namespace != null) item.put("namespace", namespace);
        }
        return item;
    }

    /** A custom tool's input: the {@code input} string of the arguments the model wrote, else the arguments as written. */
    static String customInput(String arguments) {
        try {
            JsonNode n = ResponsesJson.MAPPER.readTree(arguments);
            if (n != null && n.path("input").isTextual()) return n.get("input").textValue();
        } catch (IOException e) {
            // not JSON: the model wrote the input itself
        }
        return arguments;
    }

    /** The output items of a complete neutral answer: its text as one message, then its tool calls. */
    static List<ObjectNode> output(ChatResponse r, ResponsesContext context) {
        List<ObjectNode> items = new ArrayList<>(1 + r.toolCalls().size());
        if (r.text() != null && !r.text().isEmpty()) {
            items.add(messageItem(ResponsesJson.newId("msg"), r.text(), "completed"));
        }
        for (ToolCall c : r.toolCalls()) {
            String[] ns = context.namespaced().get(c.name());
            boolean custom = context.customTools().contains(c.name());
            String arguments = c.arguments() == null || c.arguments().isEmpty() ? "{}" : c.arguments();
            items.add(callItem(ResponsesJson.newId(custom ? "ctc" : "fc"), c.id(), ns == null ? c.name() : ns[1],
                    ns == null ? null : ns[0], custom, custom ? customInput(arguments) : arguments, "completed"));
        }
        return items;
    }

    /** A complete neutral answer as a response object. */
    static ObjectNode response(ChatResponse r, ResponsesContext context) {
        boolean incomplete = r.finishReason() == FinishReason.LENGTH || r.finishReason() == FinishReason.CONTENT_FILTER;
        ObjectNode body = response(ResponsesJson.newId("resp"), ResponsesJson.nowSeconds(), r.model(),
                incomplete ? "incomplete" : "completed", output(r, context), r.usage() == null ? Usage.ZERO : r.usage(),
                context, true);
        if (incomplete) {
            body.putObject("incomplete_details").put("reason",
                    r.finishReason() == FinishReason.LENGTH ? "max_output_tokens" : "content_filter");
        }
        return body;
    }
}
