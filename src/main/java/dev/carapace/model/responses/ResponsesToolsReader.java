package dev.carapace.model.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolChoice;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.carapace.model.JsonFields.clip;
import static dev.carapace.model.JsonFields.describe;
import static dev.carapace.model.JsonFields.fail;
import static dev.carapace.model.JsonFields.optBoolean;
import static dev.carapace.model.JsonFields.optString;
import static dev.carapace.model.JsonFields.requiredString;
import static dev.carapace.model.JsonFields.wrongType;
import static dev.carapace.model.responses.ResponsesRequestParser.checkKeys;

/**
 * Reads the {@code tools} and {@code tool_choice} of a {@code POST /v1/responses} body: function, custom (freeform)
 * and namespace tools become neutral {@link Tool}s, hosted tools are kept aside for a Responses upstream. Part of
 * {@link ResponsesRequestParser}.
 */
final class ResponsesToolsReader {

    private ResponsesToolsReader() {}

    static final Set<String> HOSTED = Set.of("web_search", "web_search_preview", "web_search_preview_2025_03_11",
            "web_search_2025_08_26", "file_search", "computer_use_preview", "computer_use", "computer",
            "code_interpreter", "image_generation", "mcp", "local_shell", "shell", "apply_patch", "tool_search");
    private static final ObjectNode EMPTY_OBJECT_SCHEMA = (ObjectNode) ResponsesJson.object().put("type", "object")
            .set("properties", ResponsesJson.object());

    /** The neutral tools, how flattened names map back, and the hosted tools a translation must refuse. */
    record Tools(List<Tool> neutral, Map<String, String[]> namespaced, Set<String> custom, ObjectNode hosted,
                         Set<String> hostedTypes) {}

    static Tools parseTools(JsonNode v, Set<String> optionalHosted) {
        if (v == null || v.isNull()) return new Tools(List.of(), Map.of(), Set.of(), null, Set.of());
        if (!v.isArray()) throw wrongType("tools", "an array of tools", v);
        List<Tool> neutral = new ArrayList<>(v.size());
        Map<String, String[]> namespaced = new HashMap<>();
        Set<String> custom = new HashSet<>();
        Set<String> names = new HashSet<>();
        Set<String> hostedTypes = new HashSet<>();
        ObjectNode hosted = null;
        for (int i = 0; i < v.size(); i++) {
            String tp = "tools[" + i + "]";
            JsonNode t = v.get(i);
            if (!t.isObject()) throw wrongType(tp, "a tool object", t);
            String type = requiredString(t.get("type"), tp + ".type", "the tool's type");
            switch (type) {
                case "function" -> add(neutral, names, function(t, tp, null), tp);
                case "custom" -> {
                    checkKeys(t, tp, "type", "name", "description", "format");
                    String name = toolName(t.get("name"), tp + ".name");
                    JsonNode description = t.get("description");
                    ObjectNode schema = ResponsesJson.object().put("type", "object");
                    schema.putObject("properties").putObject("input").put("type", "string")
                            .put("description", "The tool's whole input, as free-form text");
                    schema.putArray("required").add("input");
                    add(neutral, names, new Tool(name, description == null || description.isNull() ? null
                            : optString(description, tp + ".description"), schema), tp);
                    custom.add(name);
                }
                case "namespace" -> {
                    checkKeys(t, tp, "type", "name", "description", "tools");
                    String ns = toolName(t.get("name"), tp + ".name");
                    JsonNode fns = t.get("tools");
                    if (fns == null || !fns.isArray()) throw wrongType(tp + ".tools", "an array of function tools", fns);
                    for (int j = 0; j < fns.size(); j++) {
                        String fp = tp + ".tools[" + j + "]";
                        JsonNode fn = fns.get(j);
                        if (!fn.isObject()) throw wrongType(fp, "a function tool object", fn);
                        String fnType = requiredString(fn.get("type"), fp + ".type", "'function'");
                        if (!"function".equals(fnType)) throw fail(fp + ".type", "expected 'function'; got '" + clip(fnType) + "'");
                        Tool tool = function(fn, fp, ns);
                        add(neutral, names, tool, fp);
                        namespaced.put(tool.name(), new String[] {ns, tool.name().substring(ns.length() + ResponsesContext.NAMESPACE_SEPARATOR.length())});
                    }
                }
                default -> {
                    if (!HOSTED.contains(type)) {
                        throw fail(tp + ".type", "unsupported tool type '" + clip(type) + "'; expected"
                                + " function, custom, namespace, or a hosted tool type");
                    }
                    hostedTypes.add(type);
                    if (!optionalHosted.contains(type)) {
                        if (hosted == null) hosted = ResponsesJson.object();
                        hosted.set(tp + " (the hosted " + type + " tool, which only OpenAI runs; a client that can do"
                                + " without it lists it in the x-carapace-optional-tools header)", t);
                    }
                }
            }
        }
        return new Tools(neutral, namespaced, custom, hosted, hostedTypes);
    }

    private static void add(List<Tool> tools, Set<String> names, Tool tool, String path) {
        if (!names.add(tool.name())) {
            throw fail(path + ".name", "duplicate tool name '" + tool.name() + "'; tool names must be unique");
        }
        tools.add(tool);
    }

    private static Tool function(JsonNode t, String path, String namespace) {
        checkKeys(t, path, "type", "name", "description", "parameters", "strict");
        String name = toolName(t.get("name"), path + ".name");
        JsonNode d = t.get("description");
        String description = d == null ? null : optString(d, path + ".description");
        JsonNode strict = t.get("strict");
        if (strict != null) optBoolean(strict, path + ".strict");
        JsonNode p = t.get("parameters");
        ObjectNode parameters;
        if (p == null || p.isNull()) {
            parameters = EMPTY_OBJECT_SCHEMA.deepCopy();
        } else if (!p.isObject()) {
            throw fail(path + ".parameters", "invalid tool schema: expected a JSON Schema object; got " + describe(p));
        } else {
            JsonNode type = p.get("type");
            if (type != null && !"object".equals(type.textValue())) {
                throw fail(path + ".parameters", "invalid tool schema: the top-level \"type\" must be \"object\"");
            }
            parameters = (ObjectNode) p;
        }
        return new Tool(namespace == null ? name : namespace + ResponsesContext.NAMESPACE_SEPARATOR + name, description, parameters);
    }

    private static String toolName(JsonNode v, String path) {
        String name = requiredString(v, path, "the tool's name");
        if (name.isEmpty() || name.length() > 64) throw fail(path, "expected 1 to 64 characters; got " + name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
                throw fail(path, "expected characters from a-z, A-Z, 0-9, _ and -; got '" + clip(name) + "'");
            }
        }
        return name;
    }

    static ToolChoice parseToolChoice(JsonNode v, Tools tools) {
        if (v == null || v.isNull()) return null;
        String expected = "'auto', 'none', 'required' or {\"type\": \"function\", \"name\": ...}";
        if (v.isTextual()) {
            return switch (v.textValue()) {
                case "auto" -> ToolChoice.AUTO;
                case "none" -> new ToolChoice(ToolChoice.Mode.NONE, null);
                case "required" -> {
                    if (tools.neutral.isEmpty() && tools.hostedTypes.isEmpty()) {
                        throw fail("tool_choice", "'required' needs at least one tool in tools");
                    }
                    yield new ToolChoice(ToolChoice.Mode.REQUIRED, null);
                }
                default -> throw wrongType("tool_choice", expected, v);
            };
        }
        if (!v.isObject()) throw wrongType("tool_choice", expected, v);
        String type = requiredString(v.get("type"), "tool_choice.type", "function or custom");
        if (!"function".equals(type) && !"custom".equals(type)) {
            throw fail("tool_choice.type", "only a function or custom tool can be forced through this gateway; got '"
                    + clip(type) + "'");
        }
        String name = requiredString(v.get("name"), "tool_choice.name", "the name of one of the tools");
        JsonNode ns = v.get("namespace");
        if (ns != null && !ns.isNull()) name = requiredString(ns, "tool_choice.namespace", "a namespace") + ResponsesContext.NAMESPACE_SEPARATOR + name;
        for (Tool t : tools.neutral) {
            if (t.name().equals(name)) return new ToolChoice(ToolChoice.Mode.TOOL, name);
        }
        throw fail("tool_choice.name", "no tool named '" + clip(name) + "' in tools");
    }
}
