package dev.carapace.model.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolChoice;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import static dev.carapace.model.JsonFields.clip;
import static dev.carapace.model.JsonFields.describe;
import static dev.carapace.model.anthropic.AnthropicFields.cacheControl;
import static dev.carapace.model.anthropic.AnthropicFields.requiredString;
import static dev.carapace.model.anthropic.AnthropicFields.typeError;

/**
 * Reads the {@code tools} and {@code tool_choice} of a {@code /v1/messages} body: client tools become neutral
 * {@link Tool}s, server and Anthropic-defined tools are named in {@link AnthropicRequestExtras} for a relay only.
 * Part of {@link AnthropicRequestParser}.
 */
final class AnthropicToolsReader {

    private AnthropicToolsReader() {}

    private static final Pattern TOOL_NAME = Pattern.compile("^[a-zA-Z0-9_-]{1,64}$");

    // ---- tools ----

    static List<Tool> tools(JsonNode v, AnthropicRequestExtras extras) {
        if (v.isNull()) return List.of();
        if (!v.isArray()) throw typeError("tools", "an array of tool definitions", v);
        List<Tool> out = new ArrayList<>(v.size());
        Set<String> names = new HashSet<>();
        for (int i = 0; i < v.size(); i++) {
            String p = "tools[" + i + "]";
            JsonNode t = v.get(i);
            if (!t.isObject()) throw typeError(p, "an object with name, description and input_schema", t);
            JsonNode type = t.get("type");
            if (type != null && !type.isNull() && !"custom".equals(type.textValue())) {
                // Server tools (web_search, code_execution, ...) and Anthropic-defined client tools (bash,
                // text_editor, computer) only exist at Anthropic: relayed as they are, refused in a translation.
                if (!type.isTextual()) throw typeError(p + ".type", "a string naming the tool type", type);
                JsonNode name = t.get("name");
                if (name == null || !name.isTextual() || name.textValue().isEmpty()) {
                    throw typeError(p + ".name", "a non-empty string", name == null ? MissingNode.getInstance() : name);
                }
                if (!names.add(name.textValue())) {
                    throw ApiException.invalid(p + ".name", p + ".name: tool names must be unique; '"
                            + clip(name.textValue()) + "' is defined twice");
                }
                extras.serverTools.add(name.textValue());
                extras.untranslatable.add(p + " ('" + clip(type.textValue()) + "' tool)");
                continue;
            }
            for (var field : t.properties()) {
                switch (field.getKey()) {
                    case "type", "name", "description", "input_schema", "cache_control" -> { }
                    default -> extras.lossy("tools[]." + field.getKey());   // defer_loading, strict, input_examples...
                }
            }
            JsonNode name = t.get("name");
            if (name == null || !name.isTextual() || !TOOL_NAME.matcher(name.textValue()).matches()) {
                throw ApiException.invalid(p + ".name", p + ".name: expected a name matching ^[a-zA-Z0-9_-]{1,64}$, "
                        + "got " + (name == null ? "nothing" : describe(name)));
            }
            if (!names.add(name.textValue())) {
                throw ApiException.invalid(p + ".name", p + ".name: tool names must be unique; '"
                        + name.textValue() + "' is defined twice");
            }
            JsonNode desc = t.get("description");
            if (desc != null && !desc.isNull() && !desc.isTextual()) {
                throw typeError(p + ".description", "a string", desc);
            }
            JsonNode schema = t.get("input_schema");
            if (schema == null || !schema.isObject() || !"object".equals(schema.path("type").textValue())) {
                String got = schema == null ? "nothing"
                        : !schema.isObject() ? describe(schema)
                        : schema.has("type") ? "an object with \"type\": " + describe(schema.get("type"))
                        : "an object without \"type\"";
                throw ApiException.invalid(p + ".input_schema", p + ".input_schema: expected a JSON Schema object "
                        + "with \"type\": \"object\", got " + got);
            }
            cacheControl(t, p); // validated; a breakpoint on a tool has no neutral representation and is dropped
            out.add(new Tool(name.textValue(), desc == null || desc.isNull() ? null : desc.textValue(),
                    (ObjectNode) schema));
        }
        return out;
    }

    static ToolChoice toolChoice(JsonNode v) {
        if (!v.isObject()) throw typeError("tool_choice", "an object like {\"type\": \"auto\"}", v);
        JsonNode type = v.get("type");
        String t = type != null && type.isTextual() ? type.textValue() : null;
        if (t == null) {
            throw ApiException.invalid("tool_choice.type", "tool_choice.type: "
                    + (type == null ? "Field required; expected" : "expected") + " one of 'auto', 'any', 'tool', "
                    + "'none'" + (type == null ? "" : ", got " + describe(type)));
        }
        return switch (t) {
            case "auto" -> ToolChoice.AUTO;
            case "any" -> new ToolChoice(ToolChoice.Mode.REQUIRED, null);
            case "none" -> new ToolChoice(ToolChoice.Mode.NONE, null);
            case "tool" -> new ToolChoice(ToolChoice.Mode.TOOL, requiredString(v, "name", "tool_choice"));
            default -> throw ApiException.invalid("tool_choice.type", "tool_choice.type: expected one of 'auto', "
                    + "'any', 'tool', 'none', got " + describe(type));
        };
    }
}
