package dev.carapace.channel.slack;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;

/**
 * Slack's request signature, version 0: {@code X-Slack-Signature: v0=HEX(HMAC-SHA256(signing secret,
 * "v0:" + X-Slack-Request-Timestamp + ":" + body))}. The timestamp is signed too, so a request is accepted only
 * within {@link #MAX_SKEW} of now: a captured request cannot be replayed later.
 */
final class SlackSignature {

    /** How far the request's timestamp may be from now, either way (Slack's own recommendation). */
    static final Duration MAX_SKEW = Duration.ofMinutes(5);

    private SlackSignature() {}

    /**
     * Why the request is not Slack's, or null when it is.
     *
     * @param timestamp the {@code X-Slack-Request-Timestamp} header, or null
     * @param signature the {@code X-Slack-Signature} header, or null
     */
    static String problem(String signingSecret, String timestamp, String signature, byte[] body, Instant now) {
        if (timestamp == null || signature == null) {
            return "X-Slack-Signature and X-Slack-Request-Timestamp are required (requests are signed with the app's "
                    + "signing secret)";
        }
        long seconds;
        if (timestamp.isEmpty() || timestamp.length() > 12 || !timestamp.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return "X-Slack-Request-Timestamp must be whole seconds since 1970";
        }
        seconds = Long.parseLong(timestamp);
        long skew = Math.abs(now.getEpochSecond() - seconds);
        if (skew > MAX_SKEW.toSeconds()) {
            return "X-Slack-Request-Timestamp is " + skew + " s from now; at most " + MAX_SKEW.toSeconds()
                    + " s are accepted (a replayed request, or a clock off)";
        }
        if (!signature.startsWith("v0=")) return "X-Slack-Signature must be v0=HEX";
        byte[] expected = sign(signingSecret, timestamp, body);
        byte[] given = signature.substring(3).toLowerCase(java.util.Locale.ROOT).getBytes(StandardCharsets.US_ASCII);
        // compared in constant time, as hex text of the same length, so no byte of the expected value leaks
        if (!MessageDigest.isEqual(HexFormat.of().formatHex(expected).getBytes(StandardCharsets.US_ASCII), given)) {
            return "X-Slack-Signature does not match the body (signed with another secret, or the body was changed)";
        }
        return null;
    }

    /** The HMAC of a request, for tests and the scripted Slack. */
    static byte[] sign(String signingSecret, String timestamp, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(signingSecret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            mac.update(("v0:" + timestamp + ":").getBytes(StandardCharsets.US_ASCII));
            return mac.doFinal(body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
