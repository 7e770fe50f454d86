package dev.carapace.model;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.carapace.text.Excerpt;
import dev.carapace.text.Utf8;

import java.io.IOException;

/**
 * The field readers and error wording the wire formats' request parsers share. Each refusal is an
 * {@link ApiException#invalid} whose {@code param} is the JSON path of the field and whose message starts with that
 * path, says what is wrong and what was expected, and echoes what the client sent only {@value #ECHO_LIMIT}
 * characters long, so an error can neither balloon nor carry much of a prompt into logs.
 *
 * <p>For the optional readers a JSON {@code null} means "not given" and comes back as Java {@code null}.
 */
public final class JsonFields {

    /** How many characters of a client's value an error message echoes. */
    public static final int ECHO_LIMIT = 40;

    private JsonFields() {}

    public static String requiredString(JsonNode v, String path, String what) {
        if (v == null || v.isNull()) throw fail(path, "missing; expected a string (" + what + ")");
        if (!v.isTextual()) throw wrongType(path, "a string (" + what + ")", v);
        return v.textValue();
    }

    public static String optString(JsonNode v, String path) {
        if (v.isNull()) return null;
        if (!v.isTextual()) throw wrongType(path, "a string", v);
        return v.textValue();
    }

    public static Boolean optBoolean(JsonNode v, String path) {
        if (v.isNull()) return null;
        if (!v.isBoolean()) throw wrongType(path, "true or false", v);
        return v.booleanValue();
    }

    public static Integer optPositiveInt(JsonNode v, String path) {
        if (v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1) {
            throw wrongType(path, "a positive integer", v);
        }
        return v.intValue();
    }

    /** A number from {@code min} to {@code max}, both included. */
    public static Double optNumber(JsonNode v, String path, int min, int max) {
        if (v.isNull()) return null;
        double d = v.isNumber() ? v.doubleValue() : Double.NaN;
        if (!(d >= min && d <= max)) throw wrongType(path, "a number from " + min + " to " + max, v);
        return d;
    }

    /** {@code path: problem}, with {@code path} as the error's param. */
    public static ApiException fail(String path, String problem) {
        return ApiException.invalid(path, path + ": " + problem);
    }

    /** {@code path: expected EXPECTED; got VALUE}. */
    public static ApiException wrongType(String path, String expected, JsonNode got) {
        return fail(path, "expected " + expected + "; got " + describe(got));
    }

    /**
     * What the client sent, short enough to echo: a string quoted and clipped, a number or boolean as written
     * (clipped), a container only by its kind. The value says more to a person fixing a request than its type alone.
     */
    public static String describe(JsonNode v) {
        if (v == null || v.isMissingNode()) return "nothing";
        return switch (v.getNodeType()) {
            case STRING -> "'" + clip(v.textValue()) + "'";
            case NUMBER, BOOLEAN -> clip(v.asText());
            case NULL -> "null";
            case OBJECT -> "an object";
            case ARRAY -> "an array";
            default -> "a " + v.getNodeType().name().toLowerCase();
        };
    }

    /** A client's value as the wire formats' messages quote it: at most {@value #ECHO_LIMIT} characters. */
    public static String clip(String s) { return Excerpt.clip(s, ECHO_LIMIT); }

    /**
     * A client's request body as JSON, read by {@code reader} (which refuses duplicate keys; its mapper sets the
     * nesting and number limits): where every wire format's parser starts, so each refuses a bad body alike, with a
     * 400 saying what is wrong and where. The body must be UTF-8 (RFC 8259 8.1): see {@link Utf8}.
     */
    public static JsonNode clientBody(ObjectReader reader, byte[] body) {
        if (body == null || body.length == 0) throw ApiException.invalid(null, "Request body is empty; expected a JSON object");
        requireUtf8(body);
        JsonNode root;
        try {
            root = reader.readTree(body);
        } catch (IOException e) {
            throw ApiException.invalid(null, "Request body is not valid JSON: " + jsonProblem(e));
        } catch (NumberFormatException e) {
            throw numberOutOfRange();
        }
        if (root == null || root.isMissingNode()) throw ApiException.invalid(null, "Request body is empty; expected a JSON object");
        return root;
    }

    /**
     * Refuses a body that is not UTF-8 or holds a zero byte ({@link Utf8}): every reader of a client's JSON calls this
     * before Jackson, which would guess another encoding or decode an invalid form as a character.
     */
    public static void requireUtf8(byte[] body) {
        int bad = Utf8.firstInvalidOrZero(body);
        if (bad >= 0) {
            throw ApiException.invalid(null, "Request body is not UTF-8: byte " + bad + " (0x"
                    + String.format("%02x", body[bad] & 0xff) + ") " + (body[bad] == 0 ? "is zero" : "does not begin a valid "
                    + "UTF-8 character") + "; JSON requests are UTF-8, without NUL bytes (RFC 8259 8.1)");
        }
    }

    /**
     * Jackson's refusal of a number whose exponent no Java decimal holds ({@code 1e-2147483649}), made while a reader
     * that keeps decimals exact builds the tree: an unchecked NumberFormatException, not a parse error.
     */
    public static ApiException numberOutOfRange() {
        return ApiException.invalid(null, "Request body is not valid JSON: a number's exponent is out of range");
    }

    /** {@link #clientBody}, for a body that can only be a JSON object (embeddings, audio). */
    public static JsonNode object(ObjectReader reader, byte[] body) {
        JsonNode root = clientBody(reader, body);
        if (!root.isObject()) throw ApiException.invalid(null, "Request body must be a JSON object; got " + describe(root));
        return root;
    }

    /** A one-line reason for a JSON read failure, with its position, and without Jackson's internals. */
    public static String jsonProblem(IOException e) {
        if (!(e instanceof JsonProcessingException jpe)) return "could not be read";
        String msg = jpe.getOriginalMessage();
        if (msg == null) msg = "malformed";
        if (msg.startsWith("Trailing token")) msg = "unexpected content after the end of the JSON value";
        int nl = msg.indexOf('\n');
        if (nl >= 0) msg = msg.substring(0, nl);
        // Constraint violations name the Jackson setting that tripped, and refusals of non-standard JSON the feature
        // that would allow it; the client only needs the limit, or what is not JSON.
        msg = msg.replaceAll(", from `[^`]*`", "").replaceAll(":? *\\(?(?:enable|use) `[^`]*`[^)]*\\)?( to allow)?", "");
        // Jackson's position notes name a redacted source; keep just the line and column.
        msg = msg.replace("start marker at ", "opened at ")
                .replaceAll("\\[Source: [^;\\]]*; line: (\\d+), column: (\\d+)]", "line $1, column $2");
        if (msg.length() > 200) msg = msg.substring(0, 200) + "...";
        JsonLocation loc = jpe.getLocation();
        if (loc != null && loc.getLineNr() > 0) {
            msg += " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
        }
        // A reader that refuses duplicates: never read as their last value, which another reader may not do.
        if (msg.startsWith("Duplicate field")) msg += "; the body gives a field twice: give each once";
        return msg;
    }
}
