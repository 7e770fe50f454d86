package dev.carapace.model.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.Usage;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What one upstream {@code chat.completion.chunk} says, as far as the stream decoder needs it, in plain fields.
 *
 * <p>There are two ways to get one. {@link #read} pulls the fields straight out of the JSON text with a streaming
 * parser: a stream has a chunk per token, and building a Jackson tree for each (a map per object) was most of the
 * decoder's cost. {@link #of} takes them from a tree and is the reference: {@code read} gives up, returning null,
 * on anything it does not model exactly (invalid JSON, an error body, a repeated key, a number of an unusual kind),
 * and the decoder then goes the tree way. For every chunk {@code read} accepts, both must give equal results
 * ({@code OpenAiChunkTest} checks this).
 */
final class OpenAiChunk {

    /** Text values only; null when absent or not text. */
    String id, model;
    /** The choices with index 0, in order. */
    final List<Choice> choices = new ArrayList<>(1);
    /** Present when {@code usage} is an object. */
    Usage usage;

    static final class Choice {
        /** Whether {@code delta} is an object; the fields below come from it. */
        boolean delta;
        /** {@code reasoning_content} if the key is there, else {@code reasoning}; text only. */
        String reasoning;
        String content;
        /** Present when {@code delta.tool_calls} is an array. */
        List<ToolEntry> toolCalls;
        String finishReason;

        @Override
        public boolean equals(Object o) {
            return o instanceof Choice c && delta == c.delta && Objects.equals(reasoning, c.reasoning)
                    && Objects.equals(content, c.content) && Objects.equals(toolCalls, c.toolCalls)
                    && Objects.equals(finishReason, c.finishReason);
        }

        @Override
        public int hashCode() { return Objects.hash(delta, reasoning, content, toolCalls, finishReason); }

        @Override
        public String toString() {
            return "Choice[delta=" + delta + ", reasoning=" + reasoning + ", content=" + content + ", toolCalls="
                    + toolCalls + ", finishReason=" + finishReason + "]";
        }
    }

    /** One entry of {@code tool_calls}; an entry that is not an object has every field null. */
    record ToolEntry(Integer index, String id, String name, String arguments) {
        static final ToolEntry NONE = new ToolEntry(null, null, null, null);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OpenAiChunk c && Objects.equals(id, c.id) && Objects.equals(model, c.model)
                && choices.equals(c.choices) && Objects.equals(usage, c.usage);
    }

    @Override
    public int hashCode() { return Objects.hash(id, model, choices, usage); }

    @Override
    public String toString() {
        return "OpenAiChunk[id=" + id + ", model=" + model + ", choices=" + choices + ", usage=" + usage + "]";
    }

    // =====================================================================================================
    // From a tree: the reference reading
    // =====================================================================================================

    /** @param n a JSON object that is not an error body */
    static OpenAiChunk of(JsonNode n) {
        OpenAiChunk c = new OpenAiChunk();
        c.id = n.path("id").textValue();
        c.model = n.path("model").textValue();
        JsonNode choices = n.get("choices");
        if (choices != null && choices.isArray()) {
            for (JsonNode choice : choices) {
                if (choice.path("index").asInt(0) == 0) c.choices.add(choice(choice));
            }
        }
        JsonNode usage = n.get("usage");
        if (usage != null && usage.isObject()) c.usage = OpenAiFormat.parseUsage(usage);
        return c;
    }

    private static Choice choice(JsonNode choice) {
        Choice c = new Choice();
        JsonNode delta = choice.get("delta");
        if (delta != null && delta.isObject()) {
            c.delta = true;
            // vLLM, SGLang and DeepSeek stream reasoning apart from the answer, under either name.
            c.reasoning = text(delta.has("reasoning_content") ? delta.get("reasoning_content") : delta.get("reasoning"));
            c.content = text(delta.get("content"));
            JsonNode calls = delta.get("tool_calls");
            if (calls != null && calls.isArray()) {
                c.toolCalls = new ArrayList<>(calls.size());
                for (JsonNode entry : calls) c.toolCalls.add(toolEntry(entry));
            }
        }
        c.finishReason = text(choice.get("finish_reason"));
        return c;
    }

    private static ToolEntry toolEntry(JsonNode entry) {
        JsonNode fn = entry.path("function");
        JsonNode index = entry.get("index");
        return new ToolEntry(index != null && index.canConvertToInt() ? index.intValue() : null,
                text(entry.get("id")), text(fn.get("name")), OpenAiFormat.argumentsText(fn.get("arguments")));
    }

    private static String text(JsonNode v) { return v == null ? null : v.textValue(); }

    // =====================================================================================================
    // From the text: the fast reading
    // =====================================================================================================

    /** Thrown inside {@link #read} for a chunk it leaves to the tree reading. */
    private static final class GiveUp extends Exception {
        static final GiveUp INSTANCE = new GiveUp();

        private GiveUp() { super(null, null, false, false); }
    }

    /**
     * The chunk in {@code json}, or null when only the tree reading can say what it means.
     *
     * @param json the chunk's UTF-8 bytes, as the tree reading takes them too
     * @param ids whether to read {@code id} and {@code model}: only the first chunk's are used
     */
    static OpenAiChunk read(JsonFactory factory, byte[] json, boolean ids) {
        try (JsonParser p = factory.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) return null;
            OpenAiChunk c = new OpenAiChunk();
            int seen = 0;
            for (String field; (field = p.nextFieldName()) != null; ) {
                JsonToken t = p.nextToken();
                switch (field) {
                    case "id" -> {
                        seen = once(seen, 1);
                        c.id = ids ? text(p, t) : skip(p);
                    }
                    case "model" -> {
                        seen = once(seen, 2);
                        c.model = ids ? text(p, t) : skip(p);
                    }
                    case "choices" -> {
                        seen = once(seen, 4);
                        if (t == JsonToken.START_ARRAY) readChoices(p, c.choices);
                        else p.skipChildren();
                    }
                    case "usage" -> {
                        seen = once(seen, 8);
                        if (t == JsonToken.START_OBJECT) c.usage = readUsage(p);
                        else p.skipChildren();
                    }
                    // An error body: the tree reading turns it into the upstream's error.
                    case "error" -> {
                        if (t != JsonToken.VALUE_NULL) return null;
                        seen = once(seen, 16);
                    }
                    case "object" -> {
                        seen = once(seen, 32);
                        // Checks the length first: it takes no String, and the usual value is longer.
                        if (t == JsonToken.VALUE_STRING && p.getTextLength() == 5 && p.getText().equals("error")) return null;
                        p.skipChildren();
                    }
                    default -> p.skipChildren();
                }
            }
            return p.nextToken() == null ? c : null;   // trailing tokens: the tree reading reports them
        } catch (IOException | GiveUp e) {
            return null;
        }
    }

    private static void readChoices(JsonParser p, List<Choice> out) throws IOException, GiveUp {
        for (JsonToken t; (t = p.nextToken()) != JsonToken.END_ARRAY; ) {
            if (t != JsonToken.START_OBJECT) {
                // Not an object: index 0 by default and nothing in it, as the tree reading sees it.
                p.skipChildren();
                out.add(new Choice());
                continue;
            }
            Choice c = new Choice();
            int index = 0;
            int seen = 0;
            for (String field; (field = p.nextFieldName()) != null; ) {
                JsonToken v = p.nextToken();
                switch (field) {
                    case "index" -> {
                        seen = once(seen, 1);
                        if (v == JsonToken.VALUE_NUMBER_INT && p.getNumberType() == JsonParser.NumberType.INT) {
                            index = p.getIntValue();
                        } else if (v != JsonToken.VALUE_NULL) {
                            throw GiveUp.INSTANCE;
                        }
                    }
                    case "delta" -> {
                        seen = once(seen, 2);
                        if (v == JsonToken.START_OBJECT) readDelta(p, c);
                        else p.skipChildren();
                    }
                    case "finish_reason" -> {
                        seen = once(seen, 4);
                        c.finishReason = text(p, v);
                    }
                    default -> p.skipChildren();
                }
            }
            if (index == 0) out.add(c);
        }
    }

    private static void readDelta(JsonParser p, Choice c) throws IOException, GiveUp {
        c.delta = true;
        boolean reasoningContent = false;
        String reasoning = null;
        int seen = 0;
        for (String field; (field = p.nextFieldName()) != null; ) {
            JsonToken v = p.nextToken();
            switch (field) {
                case "content" -> {
                    seen = once(seen, 1);
                    c.content = text(p, v);
                }
                case "reasoning_content" -> {
                    seen = once(seen, 2);
                    reasoningContent = true;
                    c.reasoning = text(p, v);
                }
                case "reasoning" -> {
                    seen = once(seen, 4);
                    reasoning = text(p, v);
                }
                case "tool_calls" -> {
                    seen = once(seen, 8);
                    if (v == JsonToken.START_ARRAY) c.toolCalls = readToolCalls(p);
                    else p.skipChildren();
                }
                default -> p.skipChildren();
            }
        }
        if (!reasoningContent) c.reasoning = reasoning;
    }

    private static List<ToolEntry> readToolCalls(JsonParser p) throws IOException, GiveUp {
        List<ToolEntry> out = new ArrayList<>(1);
        for (JsonToken t; (t = p.nextToken()) != JsonToken.END_ARRAY; ) {
            if (t != JsonToken.START_OBJECT) {
                p.skipChildren();
                out.add(ToolEntry.NONE);
                continue;
            }
            Integer index = null;
            String id = null, name = null, arguments = null;
            int seen = 0;
            for (String field; (field = p.nextFieldName()) != null; ) {
                JsonToken v = p.nextToken();
                switch (field) {
                    case "index" -> {
                        seen = once(seen, 1);
                        // As JsonNode.canConvertToInt: a whole number in int range; text, null and the rest are none.
                        if (v == JsonToken.VALUE_NUMBER_FLOAT) throw GiveUp.INSTANCE;
                        if (v == JsonToken.VALUE_NUMBER_INT && p.getNumberType() == JsonParser.NumberType.INT) {
                            index = p.getIntValue();
                        }
                        p.skipChildren();
                    }
                    case "id" -> {
                        seen = once(seen, 2);
                        id = text(p, v);
                    }
                    case "function" -> {
                        seen = once(seen, 4);
                        if (v != JsonToken.START_OBJECT) {
                            p.skipChildren();
                            continue;
                        }
                        int fnSeen = 0;
                        for (String f; (f = p.nextFieldName()) != null; ) {
                            JsonToken fv = p.nextToken();
                            switch (f) {
                                case "name" -> {
                                    fnSeen = once(fnSeen, 1);
                                    name = text(p, fv);
                                }
                                case "arguments" -> {
                                    fnSeen = once(fnSeen, 2);
                                    // Arguments sent as an object are re-serialized by the tree reading.
                                    if (fv == JsonToken.VALUE_STRING) arguments = p.getText();
                                    else if (fv != JsonToken.VALUE_NULL) throw GiveUp.INSTANCE;
                                }
                                default -> p.skipChildren();
                            }
                        }
                    }
                    default -> p.skipChildren();
                }
            }
            out.add(new ToolEntry(index, id, name, arguments));
        }
        return out;
    }

    private static Usage readUsage(JsonParser p) throws IOException, GiveUp {
        long prompt = 0, completion = 0, cached = 0, reasoning = 0;
        int seen = 0;
        for (String field; (field = p.nextFieldName()) != null; ) {
            JsonToken v = p.nextToken();
            switch (field) {
                case "prompt_tokens" -> {
                    seen = once(seen, 1);
                    prompt = count(p, v);
                }
                case "completion_tokens" -> {
                    seen = once(seen, 2);
                    completion = count(p, v);
                }
                case "prompt_tokens_details" -> {
                    seen = once(seen, 4);
                    cached = detail(p, v, "cached_tokens");
                }
                case "completion_tokens_details" -> {
                    seen = once(seen, 8);
                    reasoning = detail(p, v, "reasoning_tokens");
                }
                default -> p.skipChildren();
            }
        }
        return new Usage(prompt, completion, cached, 0, reasoning, false);
    }

    /** {@code name} inside a details object; 0 when the details are not an object. */
    private static long detail(JsonParser p, JsonToken t, String name) throws IOException, GiveUp {
        if (t != JsonToken.START_OBJECT) {
            p.skipChildren();
            return 0;
        }
        long value = 0;
        boolean seen = false;
        for (String field; (field = p.nextFieldName()) != null; ) {
            JsonToken v = p.nextToken();
            if (field.equals(name)) {
                if (seen) throw GiveUp.INSTANCE;
                seen = true;
                value = count(p, v);
            } else {
                p.skipChildren();
            }
        }
        return value;
    }

    /** As JsonNode.asLong(0) for the values it takes: whole numbers in long range, and null as 0. */
    private static long count(JsonParser p, JsonToken t) throws IOException, GiveUp {
        if (t == JsonToken.VALUE_NULL) return 0;
        if (t == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) return p.getLongValue();
        throw GiveUp.INSTANCE;
    }

    /** The value if it is text; anything else is skipped and read as null, as JsonNode.textValue() does. */
    private static String text(JsonParser p, JsonToken t) throws IOException {
        if (t == JsonToken.VALUE_STRING) return p.getText();
        p.skipChildren();
        return null;
    }

    private static String skip(JsonParser p) throws IOException {
        p.skipChildren();
        return null;
    }

    /** Marks a key as seen; a repeated key gives up, since the tree keeps only the last value. */
    private static int once(int seen, int bit) throws GiveUp {
        if ((seen & bit) != 0) throw GiveUp.INSTANCE;
        return seen | bit;
    }
}
