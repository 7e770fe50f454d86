package dev.carapace.model;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Finds values in a JSON object's text by their keys, without parsing the rest: what a relay needs to rename the
 * model in an answer it otherwise passes on byte for byte, and to read its usage alone (see
 * {@link ChatRequest#relaysTo}).
 *
 * <p>The scan works on UTF-8 bytes: every byte JSON's structure uses is ASCII, and no byte of a multi-byte
 * character is, so strings are skipped by their quotes and escapes alone. It walks one object's keys, skipping each
 * value whole (nesting is counted, not recursed into, so depth costs no stack), and checks the object's structure as
 * it goes: quotes, brackets, colons and commas, not the grammar of numbers and literals. A key is compared as
 * written: one spelled with escapes is not found by {@link #find}, and makes {@link #topLevel} give up. Text that is
 * not a well-formed object gives "not found", and the callers leave it as it was or parse it whole.
 */
public final class JsonSplice {

    private JsonSplice() {}

    /**
     * Where the value at {@code path} (keys from the top) lies in {@code json}: {@code start << 32 | end}, end exclusive,
     * or -1 when it is not there or an object on the way is not well formed up to it (what follows it is not looked
     * at). The first of repeated keys is the one found.
     */
    public static long find(byte[] json, byte[]... path) {
        int from = 0, to = json.length;
        long span = -1;
        for (byte[] key : path) {
            long[] at = topLevel(json, from, to, false, key);
            if (at == null || at[0] < 0) return -1;
            span = at[0];
            from = start(span);
            to = end(span);
        }
        return span;
    }

    /**
     * The spans of {@code keys} in the object that is the whole of {@code json} (as {@link #find} gives them, -1 for a
     * key that is not there), or null when the text is not a well-formed object, or has a key spelled with an escape:
     * such a key may be one of {@code keys} to a parser, so a caller cannot know that it is not there.
     */
    public static long[] topLevel(byte[] json, byte[]... keys) {
        return topLevel(json, 0, json.length, true, keys);
    }

    /** @param whole check the whole object; otherwise stop at the first of {@code keys} (as {@link #find} needs) */
    private static long[] topLevel(byte[] b, int from, int to, boolean whole, byte[]... keys) {
        long[] spans = new long[keys.length];
        Arrays.fill(spans, -1);
        int i = space(b, from, to);
        if (i >= to || b[i] != '{') return null;
        i = space(b, i + 1, to);
        if (i < to && b[i] == '}') return space(b, i + 1, to) == to ? spans : null;
        while (true) {
            if (i >= to || b[i] != '"') return null;
            int keyEnd = skipString(b, i, to);
            if (keyEnd < 0) return null;
            if (whole) {
                for (int j = i + 1; j < keyEnd - 1; j++) if (b[j] == '\\') return null;
            }
            int key = -1;
            for (int k = 0; k < keys.length && key < 0; k++) {
                if (Arrays.equals(b, i + 1, keyEnd - 1, keys[k], 0, keys[k].length)) key = k;
            }
            i = space(b, keyEnd, to);
            if (i >= to || b[i] != ':') return null;
            int value = space(b, i + 1, to);
            int valueEnd = skipValue(b, value, to);
            if (valueEnd < 0) return null;
            if (key >= 0 && spans[key] < 0) {
                spans[key] = (long) value << 32 | valueEnd;
                if (!whole) return spans;
            }
            i = space(b, valueEnd, to);
            if (i < to && b[i] == ',') {
                i = space(b, i + 1, to);
            } else {
                return i < to && b[i] == '}' && space(b, i + 1, to) == to ? spans : null;
            }
        }
    }

    public static int start(long span) { return (int) (span >>> 32); }

    public static int end(long span) { return (int) span; }

    /** The key path in the form {@link #find} takes. */
    public static byte[][] path(String... keys) {
        byte[][] p = new byte[keys.length][];
        for (int i = 0; i < keys.length; i++) p[i] = keys[i].getBytes(StandardCharsets.UTF_8);
        return p;
    }

    /** A copy of {@code json} with the string at {@code path} replaced by {@code value}; {@code json} when there is none. */
    public static byte[] replaceString(byte[] json, String value, byte[]... path) {
        long span = find(json, path);
        if (span < 0 || json[start(span)] != '"') return json;
        return new JsonBytes(json.length + value.length() + 16)
                .raw(json, 0, start(span)).string(value).raw(json, end(span), json.length).toByteArray();
    }

    /**
     * A copy of the object {@code json} with the value of each of {@code keys} whose entry in {@code values} is not
     * null set to that raw JSON text: in place where the key is there, added at the object's start where it is not.
     * Null when {@code json} is not a well-formed object.
     */
    public static byte[] setTopLevel(byte[] json, byte[][] keys, byte[][] values) {
        long[] at = topLevel(json, keys);
        if (at == null) return null;
        JsonBytes out = new JsonBytes(json.length + 64);
        int open = space(json, 0, json.length) + 1;
        out.raw(json, 0, open);
        boolean added = false;
        for (int k = 0; k < keys.length; k++) {
            if (values[k] == null || at[k] >= 0) continue;
            if (added) out.raw(COMMA);
            out.raw(QUOTE).raw(keys[k]).raw(QUOTE_COLON).raw(values[k]);
            added = true;
        }
        if (added && json[space(json, open, json.length)] != '}') out.raw(COMMA);
        int from = open;
        while (true) {   // the replacements, in the order they stand
            int next = -1;
            for (int k = 0; k < keys.length; k++) {
                if (values[k] != null && at[k] >= 0 && start(at[k]) >= from && (next < 0 || start(at[k]) < start(at[next]))) next = k;
            }
            if (next < 0) break;
            out.raw(json, from, start(at[next])).raw(values[next]);
            from = end(at[next]);
        }
        return out.raw(json, from, json.length).toByteArray();
    }

    private static final byte[] QUOTE = {'"'}, QUOTE_COLON = {'"', ':'}, COMMA = {','};

    private static int space(byte[] b, int i, int to) {
        while (i < to && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) i++;
        return i;
    }

    /** The index after the string starting at {@code i} (its opening quote), or -1 if it does not end before {@code to}. */
    private static int skipString(byte[] b, int i, int to) {
        for (int j = i + 1; j < to; j++) {
            if (b[j] == '\\') j++;
            else if (b[j] == '"') return j + 1;
        }
        return -1;
    }

    /** The index after the value starting at {@code i}, or -1 if it is cut short, unbalanced or no value at all. */
    private static int skipValue(byte[] b, int i, int to) {
        if (i >= to) return -1;
        byte c = b[i];
        if (c == '"') return skipString(b, i, to);
        if (c == '{' || c == '[') {
            // Which bracket closes is checked, not only how many: {"a":[}] is not well formed.
            byte[] open = new byte[16];
            int depth = 0;
            for (int j = i; j < to; j++) {
                byte d = b[j];
                if (d == '"') {
                    j = skipString(b, j, to);
                    if (j < 0) return -1;
                    j--;
                } else if (d == '{' || d == '[') {
                    if (depth == open.length) open = Arrays.copyOf(open, depth * 2);
                    open[depth++] = d;
                } else if (d == '}' || d == ']') {
                    if (open[--depth] != (d == '}' ? '{' : '[')) return -1;
                    if (depth == 0) return j + 1;
                }
            }
            return -1;
        }
        int j = i;
        while (j < to && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r'
                && b[j] != '\t') j++;
        return j == i ? -1 : j;
    }
}
