package dev.carapace.model;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * How a client's request degrades when it is translated for an upstream of another API (or rebuilt from its neutral
 * view for one of its own, after a filter rewrote it): what only the client's API can say is left out and named, for
 * the client to be told ({@code x-carapace-dropped}), unless leaving it out would change what the request asks, in
 * which case the translation is refused, naming it. What a request carries of that kind is in its
 * {@link ChatRequest.Passthrough}; a relayed request loses nothing.
 */
public final class Translation {

    /** Names are echoed into a response header: a request with hundreds of odd fields is told of the first ones. */
    static final int MAX_NAMES = 24;
    private static final int MAX_NAME = 48;

    private Translation() {}

    /**
     * Refuses a translation of {@code request} for a {@code target} upstream that would leave out a part whose loss
     * changes the request's meaning (a server tool, a document, a structured-output format), naming the first.
     */
    public static void check(ChatRequest request, WireApi target) {
        ChatRequest.Passthrough pt = request.passthrough();
        for (String path : pt.untranslatable()) {
            if (!kept(pt, path, target)) {
                int what = path.indexOf(" (");   // "tools[2] ('web_search_20250305' tool)": the param is the path
                String param = what < 0 ? path : path.substring(0, what);
                if (pt.api() == target) {   // its own API, but rebuilt from the neutral view: a filter changed it
                    throw ApiException.invalid(param, path + ": cannot be carried when the request is rebuilt after a"
                            + " filter changed it (a privacy redaction, say), and leaving it out would change what the"
                            + " request asks; remove it, or what the filter acted on");
                }
                throw ApiException.invalid(param, path + ": cannot be sent to the chosen model, which is served by "
                        + describe(target) + " upstream, and leaving it out would change what the request asks; use a"
                        + " model served by " + describe(pt.api()) + " upstream, or remove it");
            }
        }
    }

    /**
     * The names of what a translation of {@code request} for a {@code target} upstream leaves out: the client's own
     * API's top-level parameters (for another API), the nested fields the neutral view does not carry, and the vendor
     * headers a relay would have sent; nothing for a request that is relayed. Sanitized for a header, at most
     * {@value #MAX_NAMES}.
     */
    public static Set<String> dropped(ChatRequest request, WireApi target) {
        Set<String> out = new LinkedHashSet<>();
        if (request.relaysTo(target)) return out;
        ChatRequest.Passthrough pt = request.passthrough();
        if (pt.api() != null && pt.api() != target && !pt.isEmpty()) pt.fields().fieldNames().forEachRemaining(out::add);
        for (String path : pt.lossy()) if (!kept(pt, path, target)) out.add(path);
        if (request.original() != null && request.original().api() != target) {
            out.addAll(request.original().headers().keySet());
        }
        return bounded(out);
    }

    /** {@code names} as a header may carry them: printable, without commas, each short, at most {@value #MAX_NAMES}. */
    public static Set<String> bounded(Set<String> names) {
        Set<String> out = new LinkedHashSet<>();
        for (String n : names) {
            if (out.size() == MAX_NAMES) {
                out.add("...");
                break;
            }
            StringBuilder sb = new StringBuilder(Math.min(n.length(), MAX_NAME));
            for (int i = 0; i < n.length() && sb.length() < MAX_NAME; i++) {
                char c = n.charAt(i);
                sb.append(c > 0x20 && c < 0x7f && c != ',' ? c : '?');
            }
            out.add(sb.toString());
        }
        return out;
    }

    /** Whether a translation for {@code target} still carries {@code path}: a top-level field of its own API does. */
    private static boolean kept(ChatRequest.Passthrough pt, String path, WireApi target) {
        if (pt.api() != target || pt.isEmpty()) return false;
        int end = 0;
        while (end < path.length() && path.charAt(end) != '.' && path.charAt(end) != '[') end++;
        return pt.fields().has(path.substring(0, end));
    }

    /** "an Anthropic Messages", "an OpenAI Chat Completions": the article and the API, for messages. */
    static String describe(WireApi api) {
        if (api == WireApi.ANTHROPIC) return "an Anthropic Messages";
        if (api == WireApi.OPENAI) return "an OpenAI Chat Completions";
        return "a " + (api == null ? "different" : api.name().toLowerCase(java.util.Locale.ROOT));
    }
}
