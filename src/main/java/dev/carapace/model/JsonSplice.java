package dev.carapace.model;

import java.nio.charset.StandardCharsets;

/**
 * Finds one value in a JSON object's text by its keys, without parsing the rest: what a relay needs to rename the
 * model in an answer it otherwise passes on byte for byte (see {@link ChatRequest#relaysTo}).
 *
 * <p>The scan works on UTF-8 bytes: every byte JSON's structure uses is ASCII, and no byte of a multi-byte
 * character is, so strings are skipped by their quotes and escapes alone. It follows the path's keys from the top,
 * skipping every other value whole (nesting is counted, not recursed into, so depth costs no stack). A key is
 * compared as written: one spelled with escapes is not found. Text that is not a well-formed object along the way
 * gives "not found", and the caller leaves the text as it was.
 */
public final class JsonSplice {

    private JsonSplice() {}

    /**
     * Where the value at {@code path} lies in {@code json}: {@code start << 32 | end}, end exclusive, or -1 when it is
     * not there. The first of repeated keys is the one found.
     */
    public static long find(byte[] json, byte[]... path) {
        int i = space(json, 0);
        for (int depth = 0; depth < path.length; depth++) {
            if (i >= json.length || json[i] != '{') return -1;
            i = space(json, i + 1);
            while (true) {
                if (i >= json.length || json[i] != '"') return -1;
                int keyEnd = skipString(json, i);
                if (keyEnd < 0) return -1;
                boolean match = keyEnd - i - 2 == path[depth].length
                        && java.util.Arrays.equals(json, i + 1, keyEnd - 1, path[depth], 0, path[depth].length);
                i = space(json, keyEnd);
                if (i >= json.length || json[i] != ':') return -1;
                int value = space(json, i + 1);
                int valueEnd = skipValue(json, value);
                if (valueEnd < 0) return -1;
                if (match) {
                    if (depth == path.length - 1) return (long) value << 32 | valueEnd;
                    i = value;
                    break;
                }
                i = space(json, valueEnd);
                if (i >= json.length || json[i] != ',') return -1;
                i = space(json, i + 1);
            }
        }
        return -1;
    }

    public static int start(long span) { return (int) (span >>> 32); }

    public static int end(long span) { return (int) span; }

    /** The key path in the form {@link #find} takes. */
    public static byte[][] path(String... keys) {
        byte[][] p = new byte[keys.length][];
        for (int i = 0; i < keys.length; i++) p[i] = keys[i].getBytes(StandardCharsets.UTF_8);
        return p;
    }

    /**
     * Writes {@code json} to {@code out} with the string at {@code path} replaced by {@code value}; as it is when
     * there is no string there.
     */
    public static void replaceString(byte[] json, String value, JsonBytes out, byte[]... path) {
        long span = find(json, path);
        if (span < 0 || json[start(span)] != '"') {
            out.raw(json);
            return;
        }
        out.raw(json, 0, start(span)).string(value).raw(json, end(span), json.length);
    }

    /** A copy of {@code json} with the string at {@code path} replaced by {@code value} (see the other form). */
    public static byte[] replaceString(byte[] json, String value, byte[]... path) {
        JsonBytes out = new JsonBytes(json.length + value.length() + 16);
        replaceString(json, value, out, path);
        return out.toByteArray();
    }

    private static int space(byte[] b, int i) {
        while (i < b.length && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) i++;
        return i;
    }

    /** The index after the string starting at {@code i} (its opening quote), or -1 if it never ends. */
    private static int skipString(byte[] b, int i) {
        for (int j = i + 1; j < b.length; j++) {
            if (b[j] == '\\') j++;
            else if (b[j] == '"') return j + 1;
        }
        return -1;
    }

    /** The index after the value starting at {@code i}, or -1 if it is cut short or starts with no value at all. */
    private static int skipValue(byte[] b, int i) {
        if (i >= b.length) return -1;
        byte c = b[i];
        if (c == '"') return skipString(b, i);
        if (c == '{' || c == '[') {
            int depth = 0;
            for (int j = i; j < b.length; j++) {
                byte d = b[j];
                if (d == '"') {
                    j = skipString(b, j);
                    if (j < 0) return -1;
                    j--;
                } else if (d == '{' || d == '[') {
                    depth++;
                } else if ((d == '}' || d == ']') && --depth == 0) {
                    return j + 1;
                }
            }
            return -1;
        }
        int j = i;
        while (j < b.length && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n'
                && b[j] != '\r' && b[j] != '\t') j++;
        return j == i ? -1 : j;
    }
}
