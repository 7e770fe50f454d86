package dev.carapace.identity;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Generates and hashes API keys. A key looks like {@code cpk_Ab3dEf9h_<32 random chars>}: the first two parts are
 * its public prefix (shown in listings, used to revoke), the whole string is the secret. Only the SHA-256 of the
 * secret is stored: keys are 190+ bits of randomness, so a fast hash is enough and keeps lookup cheap.
 */
public final class KeyMaterial {

    private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final MessageDigest SHA_256 = sha256();
    static final String SCHEME = "cpk_";

    private KeyMaterial() {}

    /** A freshly generated key; {@code secret} is shown once and never stored. */
    public record NewKey(String secret, String prefix, String hash) {
        @Override
        public String toString() { return "NewKey[prefix=" + prefix + "]"; } // never print the secret by accident
    }

    public static NewKey generate() {
        String prefix = SCHEME + random(8);
        String secret = prefix + "_" + random(32);
        return new NewKey(secret, prefix, hash(secret));
    }

    public static String hash(String secret) {
        // Every authenticated request hashes its key: cloning a digest skips the provider lookup of getInstance.
        MessageDigest sha;
        try {
            sha = (MessageDigest) SHA_256.clone();
        } catch (CloneNotSupportedException e) {
            sha = sha256();
        }
        return HexFormat.of().formatHex(sha.digest(secret.getBytes(StandardCharsets.UTF_8)));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    private static String random(int n) {
        char[] c = new char[n];
        for (int i = 0; i < n; i++) c[i] = ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length()));
        return new String(c);
    }
}
