package dev.carapace.channel.webhook;

import dev.carapace.channel.KindSettings;

import java.net.URI;
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
     * Whether a message may ask for its answer at {@code url}: it starts with one of {@link #replyToPrefixes}, and
     * has no {@code .} or {@code ..} segment that would climb out of the prefix's path on the receiver.
     */
    public boolean allowsReplyTo(URI url) {
        String s = url.toString();
        if (!url.normalize().toString().equals(s)) return false;
        for (String p : replyToPrefixes) if (s.startsWith(p)) return true;
        return false;
    }
}
