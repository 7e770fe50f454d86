package dev.carapace.channel.webhook;

import dev.carapace.channel.KindSettings;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A webhook channel's own settings (its {@code webhook:} block).
 *
 * @param secrets         names (in {@code secrets:}) of the keys a caller may sign with; more than one while a key
 *                        is being rotated
 * @param tolerance       how far a request's {@code webhook-timestamp} may be from this gateway's clock, either way
 * @param deliverTo       where the agent's answers are POSTed; null: only to a message's {@code reply_to}
 * @param deliverSecrets  names of the keys answers are signed with (each gives one signature; more than one while
 *                        the receiver rotates); empty: answers go unsigned
 * @param maxAttempts     attempts at each answer before it is given up
 * @param replyToPrefixes URL prefixes a message's {@code reply_to} may start with; empty: {@code reply_to} is refused
 * @param maxBodyBytes    the largest request body taken
 */
public record WebhookSettings(List<String> secrets, Duration tolerance, URI deliverTo, List<String> deliverSecrets,
                              int maxAttempts, List<String> replyToPrefixes, int maxBodyBytes) implements KindSettings {

    public static final Duration DEFAULT_TOLERANCE = Duration.ofMinutes(5);
    public static final int DEFAULT_MAX_ATTEMPTS = 8;
    /** The server's own default limit ({@code server.max_body_bytes}): a larger default could never be reached. */
    public static final int DEFAULT_MAX_BODY_BYTES = 10 << 20;

    public WebhookSettings {
        secrets = List.copyOf(secrets);
        Objects.requireNonNull(tolerance, "tolerance");
        deliverSecrets = List.copyOf(deliverSecrets);
        replyToPrefixes = List.copyOf(replyToPrefixes);
        if (secrets.isEmpty()) throw new IllegalArgumentException("a webhook channel needs at least one secret");
        if (maxAttempts < 1) throw new IllegalArgumentException("maxAttempts < 1");
    }

    /**
     * Whether a message may ask for its answer at {@code url}: it starts with one of {@link #replyToPrefixes}, and its
     * path means on the receiver what it says here ({@link #staysPut}).
     */
    public boolean allowsReplyTo(URI url) {
        if (url.getRawUserInfo() != null || url.getRawFragment() != null || !staysPut(url.getRawPath())) return false;
        String s = url.toString();
        for (String p : replyToPrefixes) if (s.startsWith(p)) return true;
        return false;
    }

    /**
     * No segment a receiver (or the egress proxy, which sends the path canonical) would resolve, split or decode
     * again, written plainly or percent-encoded: an empty segment, dots ({@code ..}, {@code %2e%2e}), an encoded
     * {@code /} or {@code \}, a {@code ;parameter}, a {@code %} left after decoding (double encoding), a control
     * character. A string prefix then holds for the path that is sent: {@code /callbacks/%2e%2e/admin} starts with
     * {@code /callbacks/} but is sent as {@code /admin}.
     */
    static boolean staysPut(String rawPath) {
        if (rawPath == null || !rawPath.startsWith("/")) return false;
        String[] segments = rawPath.substring(1).split("/", -1);
        for (int i = 0; i < segments.length; i++) {
            String decoded;
            try {
                decoded = URLDecoder.decode(segments[i].replace("+", "%2B"), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException badEscape) {
                return false;
            }
            boolean last = i == segments.length - 1;
            if (decoded.isEmpty() ? !last : decoded.chars().allMatch(c -> c == '.')) return false;
            if (decoded.chars().anyMatch(c -> c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ';' || c == '%')) {
                return false;
            }
        }
        return true;
    }
}
