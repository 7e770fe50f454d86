package dev.carapace.privacy;

import java.util.List;
import java.util.function.Consumer;

/**
 * One string of an outgoing request in which the scanner found something: where it is (a JSON path such as
 * {@code tools[3].input_schema.properties.path.description}, never a value), its text, and how it may be rewritten.
 *
 * @param text    the string as scanned, or null for a part that is not text (an image), found by its class alone
 * @param json    whether the string is itself JSON text (tool-call arguments), where values are written escaped
 * @param fixed   why the string cannot be rewritten (signed thinking, an identifier the API checks, an object key),
 *                or null when a placeholder may replace a value in it
 * @param replace puts the rewritten string in its place in the request being built; null when {@code fixed}
 */
record Piece(String where, String text, boolean json, String fixed, List<Finding> findings, Consumer<String> replace) {

    /** The request's top-level field the string is in ({@code messages}, {@code tools}, {@code metadata}...). */
    String topLevel() {
        int end = 0;
        while (end < where.length() && where.charAt(end) != '.' && where.charAt(end) != '[') end++;
        return where.substring(0, end);
    }
}
