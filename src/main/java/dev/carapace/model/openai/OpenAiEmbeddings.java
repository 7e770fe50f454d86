package dev.carapace.model.openai;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.EmbeddingRequest;
import dev.carapace.model.JsonBytes;
import dev.carapace.model.JsonSplice;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.TokenCounter;
import dev.carapace.model.Usage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.carapace.text.Excerpt.clip;

/**
 * OpenAI's embeddings API ({@code POST /v1/embeddings}) on both sides: a client's request validated into an
 * {@link EmbeddingRequest}, the body sent to an upstream, and the upstream's answer read for its usage and passed on
 * with the model renamed. Vectors are never parsed: an answer can be megabytes of numbers.
 */
public final class OpenAiEmbeddings {

    /** OpenAI's own limit of inputs per request. */
    public static final int MAX_INPUTS = 2048;

    private static final ObjectMapper MAPPER = JsonMapper.builder(OpenAiFormat.JSON_FACTORY)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
    /** A repeated key is refused, as it could mean one thing to Carapace and another upstream. */
    private static final ObjectReader CLIENT = MAPPER.reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
    private static final byte[][] MODEL = JsonSplice.path("model");
    private static final byte[][] ANSWER_KEYS = JsonSplice.path("data", "usage");
    private static final int ECHO = 40;

    private OpenAiEmbeddings() {}

    /** Validates a client's body; a 400 in OpenAI's words names the field that is wrong, and what it expected. */
    public static EmbeddingRequest parse(byte[] body) {
        JsonNode root = dev.carapace.model.JsonFields.object(CLIENT, body);
        String model = null;
        List<EmbeddingRequest.Input> inputs = null;
        Integer dimensions = null;
        String encoding = null;
        String user = null;
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            JsonNode v = e.getValue();
            switch (e.getKey()) {
                case "model" -> {
                    if (!v.isTextual() || v.asText().isBlank()) throw typeError("model", "a model id string", v);
                    model = v.asText();
                }
                case "input" -> inputs = inputs(v);
                case "dimensions" -> {
                    if (v.isNull()) break;
                    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1) {
                        throw typeError("dimensions", "a positive integer", v);
                    }
                    dimensions = v.intValue();
                }
                case "encoding_format" -> {
                    if (v.isNull()) break;
                    if (!v.isTextual() || !(v.asText().equals("float") || v.asText().equals("base64"))) {
                        throw typeError("encoding_format", "'float' or 'base64'", v);
                    }
                    encoding = v.asText();
                }
                case "user" -> {
                    if (v.isNull()) break;
                    if (!v.isTextual()) throw typeError("user", "a string", v);
                    user = v.asText();
                }
                default -> throw ApiException.invalid(clip(e.getKey(), ECHO), "Unrecognized request argument supplied: "
                        + clip(e.getKey(), ECHO) + ". /v1/embeddings takes model, input, dimensions, encoding_format and user.");
            }
        }
        if (model == null) throw ApiException.invalid("model", "model: required; expected a model id string");
        if (inputs == null) {
            throw ApiException.invalid("input", "input: required; expected a string, an array of strings, an array of"
                    + " token ids or an array of arrays of token ids");
        }
        return new EmbeddingRequest(model, inputs, dimensions, encoding, user, (ObjectNode) root, body);
    }

    /** A string, an array of strings, an array of token ids, or an array of arrays of token ids: never mixed. */
    private static List<EmbeddingRequest.Input> inputs(JsonNode v) {
        if (v.isTextual()) return List.of(text("input", v));
        if (!v.isArray()) throw typeError("input", "a string, an array of strings, an array of token ids or an array of arrays of token ids", v);
        if (v.isEmpty()) throw ApiException.invalid("input", "input: must not be an empty array");
        JsonNode first = v.get(0);
        if (first.isIntegralNumber()) return List.of(tokens("input", v));
        if (v.size() > MAX_INPUTS) {
            throw ApiException.invalid("input", "input: at most " + MAX_INPUTS + " inputs per request; got " + v.size());
        }
        boolean strings = first.isTextual();
        if (!strings && !first.isArray()) throw typeError("input[0]", "a string, a token id or an array of token ids", first);
        List<EmbeddingRequest.Input> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            JsonNode item = v.get(i);
            String at = "input[" + i + "]";
            if (strings) {
                if (!item.isTextual()) throw typeError(at, "a string, like input[0] (inputs may not be mixed)", item);
                out.add(text(at, item));
            } else {
                if (!item.isArray()) throw typeError(at, "an array of token ids, like input[0] (inputs may not be mixed)", item);
                out.add(tokens(at, item));
            }
        }
        return out;
    }

    private static EmbeddingRequest.Input text(String at, JsonNode v) {
        if (v.asText().isEmpty()) throw ApiException.invalid("input", at + ": must not be an empty string");
        return new EmbeddingRequest.Input(v.asText(), null);
    }

    private static EmbeddingRequest.Input tokens(String at, JsonNode v) {
        if (v.isEmpty()) throw ApiException.invalid("input", at + ": must not be an empty array of token ids");
        int[] ids = new int[v.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = v.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0) {
                throw typeError(at + "[" + i + "]", "a token id (a whole number from 0)", id);
            }
            ids[i] = id.intValue();
        }
        String text = TokenCounter.decodeEmbeddingTokens(ids);
        if (text == null) {
            throw ApiException.invalid("input", at + ": holds a token id that is not in cl100k_base, the encoding of"
                    + " OpenAI's embedding models; Carapace reads token ids back to text to screen them. Send text instead.");
        }
        return new EmbeddingRequest.Input(text, ids);
    }

    /**
     * The body for an upstream serving {@code upstreamModel}: the client's own body with the model renamed, or,
     * when a filter rewrote the view (a redaction), the view's texts as the input and its end-user id as {@code user}.
     */
    public static byte[] upstreamRequest(EmbeddingRequest req, ChatRequest view, String upstreamModel) {
        byte[] model = new JsonBytes(upstreamModel.length() + 2).string(upstreamModel).toByteArray();
        if (sameInputs(req, view)) {
            byte[] spliced = JsonSplice.setTopLevel(req.raw(), MODEL, new byte[][] {model});
            if (spliced != null) return spliced;
        }
        ObjectNode body = req.body().deepCopy();
        body.put("model", upstreamModel);
        if (view.user() != null) body.put("user", view.user());
        if (!sameInputs(req, view)) {
            ArrayNode input = body.putArray("input");
            for (Message m : view.messages()) {
                StringBuilder text = new StringBuilder();
                for (Part p : m.content()) if (p instanceof Part.Text t) text.append(t.text());
                input.add(text.toString());
            }
        }
        return body.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Whether the pipeline left the inputs and the end-user id as the client sent them (a redaction rewrites the view). */
    private static boolean sameInputs(EmbeddingRequest req, ChatRequest view) {
        if (view.messages().size() != req.inputs().size() || !java.util.Objects.equals(view.user(), req.user())) return false;
        for (int i = 0; i < req.inputs().size(); i++) {
            List<Part> content = view.messages().get(i).content();
            if (content.size() != 1 || !(content.get(0) instanceof Part.Text t) || !t.text().equals(req.inputs().get(i).text())) {
                return false;
            }
        }
        return true;
    }

    /** An upstream's answer, to pass on with the model shown as {@code model}, and the usage it reported. */
    public record Answer(byte[] body, Usage usage) {}

    /**
     * Reads an upstream's answer for its usage ({@code usage.prompt_tokens}) and renames its model. An answer that is
     * not a list of embeddings is an upstream failure (502); one without usage is estimated from {@code view}.
     */
    public static Answer answer(byte[] body, String model, ChatRequest view) {
        long[] at = JsonSplice.topLevel(body, ANSWER_KEYS);
        if (at == null || at[0] < 0 || body[JsonSplice.start(at[0])] != '[') {
            throw ApiException.of(ApiException.Kind.UPSTREAM, "upstream_invalid_response",
                    "the upstream's answer to an embeddings request is not a list of embeddings");
        }
        Usage usage = null;
        if (at[1] >= 0 && body[JsonSplice.start(at[1])] == '{') {
            try {
                JsonNode u = MAPPER.readTree(new String(body, JsonSplice.start(at[1]),
                        JsonSplice.end(at[1]) - JsonSplice.start(at[1]), StandardCharsets.UTF_8));
                JsonNode prompt = u.get("prompt_tokens");
                if (prompt != null && prompt.canConvertToLong() && prompt.asLong() >= 0) usage = Usage.of(prompt.asLong(), 0);
            } catch (IOException malformed) {
                // estimated below
            }
        }
        if (usage == null) usage = new Usage(inputTokens(view), 0, 0, 0, 0, true);
        return new Answer(JsonSplice.replaceString(body, model, MODEL), usage);
    }

    /** Our count of the inputs' tokens, for an answer without usage. */
    private static long inputTokens(ChatRequest view) {
        long n = 0;
        for (Message m : view.messages()) for (Part p : m.content()) if (p instanceof Part.Text t) n += TokenCounter.count(t.text());
        return n;
    }

    private static ApiException typeError(String field, String expected, JsonNode got) {
        String kind = got.isNull() ? "null" : got.isTextual() ? "a string" : got.isNumber() ? "a number " + clip(got.toString(), ECHO)
                : got.isBoolean() ? "a boolean" : got.isArray() ? "an array" : "an object";
        String param = field.startsWith("input") ? "input" : field;
        return ApiException.invalid(param, field + ": expected " + expected + "; got " + kind);
    }

}
