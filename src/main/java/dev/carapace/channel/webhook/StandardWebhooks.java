package dev.carapace.channel.webhook;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The signature of the Standard Webhooks specification (https://www.standardwebhooks.com, v1): HMAC-SHA256 over
 * {@code webhook-id + "." + webhook-timestamp + "." + body}, sent as {@code webhook-signature: v1,BASE64}, several
 * space-separated when the sender signs with more than one key. The same code signs what Carapace sends and checks
 * what it receives, so a receiver built on the spec's own libraries verifies Carapace's deliveries.
 *
 * <p>A key as configured: {@code whsec_BASE64} (the spec's form: the bytes after the prefix, base64-decoded), or any
 * other text, whose UTF-8 bytes are the key.
 */
public final class StandardWebhooks {

    public static final String ID = "webhook-id";
    public static final String TIMESTAMP = "webhook-timestamp";
    public static final String SIGNATURE = "webhook-signature";
    private static final String PREFIX = "whsec_";

    private StandardWebhooks() {}

    /**
     * The HMAC key a configured secret stands for.
     *
     * @throws IllegalArgumentException the secret is empty (the message does not hold it)
     */
    public static byte[] key(String secret) {
        byte[] key = secret.getBytes(StandardCharsets.UTF_8);
        if (secret.startsWith(PREFIX)) {
            try {
                key = Base64.getDecoder().decode(secret.substring(PREFIX.length()));
            } catch (IllegalArgumentException e) {
                // not the spec's form after all: the text is the key
            }
        }
        if (key.length == 0) throw new IllegalArgumentException("an empty signing key");
        return key;
    }

    /** {@code v1,BASE64} for one key. */
    public static String sign(byte[] key, String id, long timestamp, byte[] body) {
        return "v1," + Base64.getEncoder().encodeToString(mac(key, id, timestamp, body));
    }

    /** The {@code webhook-signature} value: one signature per key, space-separated. */
    public static String signature(List<byte[]> keys, String id, long timestamp, byte[] body) {
        List<String> parts = new ArrayList<>();
        for (byte[] k : keys) parts.add(sign(k, id, timestamp, body));
        return String.join(" ", parts);
    }

    /**
     * Whether any {@code v1} signature in {@code header} is the one some key in {@code keys} makes. Every pair is
     * compared in constant time and all are compared, so the time taken says nothing about which key or how much
     * matched. Entries of other versions, or not base64, count as not matching.
     */
    public static boolean matches(String header, List<byte[]> keys, String id, long timestamp, byte[] body) {
        List<byte[]> expected = new ArrayList<>();
        for (byte[] k : keys) expected.add(mac(k, id, timestamp, body));
        boolean any = false;
        for (String entry : header.split(" ")) {
            if (!entry.startsWith("v1,")) continue;
            byte[] given;
            try {
                given = Base64.getDecoder().decode(entry.substring(3));
            } catch (IllegalArgumentException e) {
                continue;
            }
            for (byte[] e : expected) any |= MessageDigest.isEqual(e, given);
        }
        return any;
    }

    private static byte[] mac(byte[] key, String id, long timestamp, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
            return mac.doFinal(body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
