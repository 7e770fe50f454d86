package dev.carapace.model;

import java.util.regex.Pattern;

/**
 * An upstream's own words (an error message, an error event) made fit to show a client: one line, at most
 * {@value #LIMIT} characters, and nothing that looks like a credential. Upstreams quote keys back ("invalid x-api-key
 * sk-ant-..."), and an error message travels on into agent runs, channel replies and logs.
 *
 * <p>These patterns cover the common key shapes; {@link Provider} also masks its own key, whatever its shape.
 */
public final class UpstreamText {

    public static final int LIMIT = 300;

    /** Prefixed keys (OpenAI's and Anthropic's sk-, key-, rk-), Google's AIza keys, bearer tokens, long bare tokens. */
    private static final Pattern PREFIXED = Pattern.compile("\\b(sk|key|rk)-[A-Za-z0-9_*.\\-]{6,}");
    private static final Pattern GOOGLE = Pattern.compile("\\bAIza[0-9A-Za-z_\\-]{20,}");
    private static final Pattern BEARER = Pattern.compile("(?i)\\b(bearer)\\s+[^\\s\"',;]+");
    /** 32 or more letters and digits in one run, with both in it: Azure's hex keys and most vendors' opaque tokens. */
    private static final Pattern LONG_TOKEN =
            Pattern.compile("\\b(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{32,}\\b");

    private UpstreamText() {}

    public static String clean(String message) {
        // Masked before it is cut to the limit (a key cut in half no longer looks like one), but only what can be shown.
        String s = message.substring(0, Math.min(message.length(), 4 * LIMIT)).strip().replaceAll("\\s+", " ");
        s = PREFIXED.matcher(s).replaceAll("$1-***");
        s = GOOGLE.matcher(s).replaceAll("AIza***");
        s = BEARER.matcher(s).replaceAll("$1 ***");
        s = LONG_TOKEN.matcher(s).replaceAll("***");
        return s.length() <= LIMIT ? s : s.substring(0, LIMIT) + "...";
    }

    /**
     * {@code message} with every quotation of {@code secret} masked, whole or cut short ("sk-abc123def456..."): from
     * where its first dozen characters appear to the end of that word.
     */
    static String withoutSecret(String message, String secret) {
        if (message == null || secret == null || secret.isEmpty()) return message;
        String head = secret.substring(0, Math.min(secret.length(), 12));
        int at = message.indexOf(head);
        if (at < 0) return withoutCutStart(message, secret);
        StringBuilder out = new StringBuilder(message.length());
        int from = 0;
        while (at >= 0) {
            int end = at + head.length();
            if (message.startsWith(secret, at)) {
                end = at + secret.length();
            } else {    // cut short, and marked so ("…", "***"): up to where the word ends
                while (end < message.length() && !Character.isWhitespace(message.charAt(end))
                       && "\"',;)]}>".indexOf(message.charAt(end)) < 0) end++;
            }
            out.append(message, from, at).append("***");
            from = end;
            at = message.indexOf(head, from);
        }
        return withoutCutStart(out.append(message, from, message.length()).toString(), secret);
    }

    /**
     * {@code message} without the start of {@code secret} where {@link #clean} cut it off at the limit ("... key
     * plainpassw..."): four or more of its first characters right before the "...".
     */
    private static String withoutCutStart(String message, String secret) {
        if (!message.endsWith("...")) return message;
        String body = message.substring(0, message.length() - 3);
        for (int k = Math.min(secret.length() - 1, body.length()); k >= 4; k--) {
            if (body.endsWith(secret.substring(0, k))) return body.substring(0, body.length() - k) + "***...";
        }
        return message;
    }
}
