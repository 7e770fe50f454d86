package dev.carapace.server.http;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The routing table, in the order routes were added: a method and a path template such as
 * {@code /api/runs/{id}/events}, whose {@code {name}} segments match one non-empty path segment each. The first
 * route that matches wins; a request no route matches goes to the fallback. A HEAD request finds the GET route.
 */
public final class Routes {

    private record Entry(String method, String[] segments, Route route) {}

    /**
     * A route found for a request, with the values of its template's {@code {name}} segments; for the fallback, the
     * methods the path does take, if it is a known path (for a 405's {@code Allow}).
     */
    record Match(Route route, Map<String, String> params, Set<String> allowed) {
        Match(Route route, Map<String, String> params) { this(route, params, Set.of()); }
    }

    private final List<Entry> entries = new ArrayList<>();
    /**
     * Templates without {@code {name}} segments, by method then path, each only if it is the first route that
     * matches its path: most requests are found here, without splitting and decoding their path.
     */
    private final Map<String, Map<String, Route>> literals = new HashMap<>();
    private Route fallback = x -> {
        throw new IllegalStateException("no fallback route");
    };

    public Routes get(String template, Route route) { return add("GET", template, route); }

    public Routes post(String template, Route route) { return add("POST", template, route); }

    public Routes put(String template, Route route) { return add("PUT", template, route); }

    public Routes delete(String template, Route route) { return add("DELETE", template, route); }

    /** Answers every request no route matches (an unknown path, or a known path with another method). */
    public Routes otherwise(Route route) {
        fallback = route;
        return this;
    }

    private Routes add(String method, String template, Route route) {
        if (!template.startsWith("/")) throw new IllegalArgumentException("a template starts with '/': " + template);
        String[] segments = template.substring(1).split("/", -1);
        boolean literal = true;
        for (String t : segments) literal &= !isParam(t);
        if (literal && find(method, segments) == null) literals.computeIfAbsent(method, m -> new HashMap<>()).put(template, route);
        entries.add(new Entry(method, segments, route));
        return this;
    }

    /**
     * The route for a request. {@code rawPath} is still percent-encoded: it is split first and each segment decoded
     * after, so an encoded '/' stays inside its segment.
     *
     * @throws IllegalArgumentException if a segment's percent-encoding is malformed
     */
    Match find(String method, String rawPath) {
        // HEAD is GET without the body (RFC 9110 9.3.2), which Jetty leaves out of the response
        if (method.equals("HEAD")) method = "GET";
        if (rawPath.indexOf('%') < 0) {   // else its decoded form may still name a literal route: the long way
            Map<String, Route> byPath = literals.get(method);
            Route route = byPath == null ? null : byPath.get(rawPath);
            if (route != null) return new Match(route, Map.of());
        }
        String[] parts = rawPath.substring(rawPath.startsWith("/") ? 1 : 0).split("/", -1);
        for (int i = 0; i < parts.length; i++) parts[i] = decode(parts[i]);
        Match match = find(method, parts);
        return match != null ? match : new Match(fallback, Map.of(), allowed(parts));
    }

    /** The methods some route takes this path with (HEAD with GET); empty for a path no route has. */
    private Set<String> allowed(String[] parts) {
        Set<String> methods = new TreeSet<>();
        for (Entry e : entries) {
            if (e.segments.length == parts.length && match(e.segments, parts) != null) methods.add(e.method);
        }
        if (methods.contains("GET")) methods.add("HEAD");
        return methods;
    }

    /** The first route whose template matches these decoded segments, or null. */
    private Match find(String method, String[] parts) {
        for (Entry e : entries) {
            if (!e.method.equals(method) || e.segments.length != parts.length) continue;
            Map<String, String> params = match(e.segments, parts);
            if (params != null) return new Match(e.route, params);
        }
        return null;
    }

    private static boolean isParam(String segment) {
        return segment.startsWith("{") && segment.endsWith("}");
    }

    private static Map<String, String> match(String[] template, String[] parts) {
        Map<String, String> params = null;
        for (int i = 0; i < template.length; i++) {
            String t = template[i];
            if (isParam(t)) {
                if (parts[i].isEmpty()) return null;
                if (params == null) params = new HashMap<>(2);
                params.put(t.substring(1, t.length() - 1), parts[i]);
            } else if (!t.equals(parts[i])) {
                return null;
            }
        }
        return params == null ? Map.of() : params;
    }

    /** Percent-decoding of one path segment ('+' is a plus in a path); malformed escapes and invalid UTF-8 are refused. */
    static String decode(String segment) {
        if (segment.indexOf('%') < 0) return segment;
        byte[] out = new byte[segment.length()];
        int n = 0;
        for (int i = 0; i < segment.length(); i++) {
            char c = segment.charAt(i);
            if (c != '%') {
                if (c > 0x7f) throw new IllegalArgumentException("a non-ASCII character in the path");
                out[n++] = (byte) c;
                continue;
            }
            int hi = i + 2 < segment.length() ? Character.digit(segment.charAt(i + 1), 16) : -1;
            int lo = hi < 0 ? -1 : Character.digit(segment.charAt(i + 2), 16);
            if (lo < 0) throw new IllegalArgumentException("'%' must be followed by two hex digits");
            out[n++] = (byte) (hi << 4 | lo);
            i += 2;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(out, 0, n)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException("the percent-encoded bytes are not UTF-8");
        }
    }
}
