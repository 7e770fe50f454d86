package dev.carapace.agent.tools;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Iterator;
import java.util.List;

/**
 * The arguments of one call, checked: every problem becomes an {@link ArgumentException} naming the argument. Public
 * for the tools other packages provide (skill, memory), so every tool words its argument errors alike.
 */
public final class Args {

    private final JsonNode node;

    private Args(JsonNode node) {
        this.node = node;
    }

    /** Checks that {@code arguments} is an object (absent counts as empty) with only the {@code allowed} names. */
    public static Args of(JsonNode arguments, String... allowed) throws ArgumentException {
        if (arguments == null || arguments.isNull() || arguments.isMissingNode()) return new Args(null);
        if (!arguments.isObject()) throw new ArgumentException("arguments must be a JSON object");
        List<String> names = List.of(allowed);
        for (Iterator<String> it = arguments.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!names.contains(name)) {
                throw new ArgumentException("unknown argument " + Workspace.quote(Output.printable(name))
                        + "; expected " + String.join(", ", names));
            }
        }
        return new Args(arguments);
    }

    private JsonNode get(String name) {
        if (node == null) return null;
        JsonNode v = node.get(name);
        return v == null || v.isNull() ? null : v;
    }

    /** A required string. */
    public String string(String name) throws ArgumentException {
        JsonNode v = get(name);
        if (v == null) throw new ArgumentException("missing argument '" + name + "' (a string)");
        if (!v.isTextual()) throw new ArgumentException("argument '" + name + "' must be a string");
        return v.textValue();
    }

    /** An optional string. */
    public String string(String name, String fallback) throws ArgumentException {
        JsonNode v = get(name);
        if (v == null) return fallback;
        if (!v.isTextual()) throw new ArgumentException("argument '" + name + "' must be a string");
        return v.textValue();
    }

    /** An optional integer of at least 1, or null. */
    public Integer positiveInt(String name, String meaning) throws ArgumentException {
        JsonNode v = get(name);
        if (v == null) return null;
        if (!v.isNumber() || !v.canConvertToExactIntegral() || !v.canConvertToInt() || v.intValue() < 1) {
            throw new ArgumentException("argument '" + name + "' must be a positive integer (" + meaning + ")");
        }
        return v.intValue();
    }

    /** An optional boolean. */
    public boolean bool(String name, boolean fallback) throws ArgumentException {
        JsonNode v = get(name);
        if (v == null) return fallback;
        if (!v.isBoolean()) throw new ArgumentException("argument '" + name + "' must be true or false");
        return v.booleanValue();
    }
}
