package dev.carapace.model.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.ApiException;

import static dev.carapace.model.JsonFields.describe;

/** Field checks the Anthropic request readers share, each refusal in this API's wording ({@code Field required}). */
final class AnthropicFields {

    private AnthropicFields() {}

    /** Anthropic's only cache type is "ephemeral"; its optional ttl cannot be carried and is dropped. */
    static boolean cacheControl(JsonNode b, String bp) {
        JsonNode cc = b.get("cache_control");
        if (cc == null || cc.isNull()) return false;
        String p = bp + ".cache_control";
        if (!cc.isObject()) throw typeError(p, "an object like {\"type\": \"ephemeral\"}", cc);
        JsonNode t = cc.get("type");
        if (t == null || !"ephemeral".equals(t.textValue())) {
            throw ApiException.invalid(p + ".type", p + ".type: expected 'ephemeral', got "
                    + (t == null ? "nothing" : describe(t)));
        }
        return true;
    }

    static String requiredText(JsonNode obj, String field, String p) {
        JsonNode v = obj.get(field);
        String fp = p + "." + field;
        if (v == null || v.isNull()) throw ApiException.invalid(fp, fp + ": Field required; expected a string");
        if (!v.isTextual()) throw typeError(fp, "a string", v);
        return v.textValue();
    }

    static String blockType(JsonNode b, String bp) {
        if (!b.isObject()) throw typeError(bp, "a content block object with a type", b);
        JsonNode t = b.get("type");
        if (t == null) throw ApiException.invalid(bp + ".type", bp + ".type: Field required");
        if (!t.isTextual()) throw typeError(bp + ".type", "a string", t);
        return t.textValue();
    }

    static String requiredString(JsonNode obj, String field, String p) {
        JsonNode v = obj.get(field);
        String fp = p + "." + field;
        if (v == null || v.isNull()) {
            throw ApiException.invalid(fp, fp + ": Field required; expected a non-empty string");
        }
        if (!v.isTextual() || v.textValue().isEmpty()) throw typeError(fp, "a non-empty string", v);
        return v.textValue();
    }

    /** Like {@link dev.carapace.model.JsonFields#wrongType}, in this API's wording (", got"). */
    static ApiException typeError(String path, String expected, JsonNode got) {
        return ApiException.invalid(path, path + ": expected " + expected + ", got " + describe(got));
    }
}
