package dev.carapace.skill;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * The content hash of a skill: the one definition, used for loaded folders and for the org repository's versions,
 * so the same files always give the same hash wherever they are.
 *
 * <p>SHA-256, written as 64 lowercase hex digits, over every file in path order (paths relative to the skill's
 * folder, {@code /}-separated, compared as Java strings): for each, its path in UTF-8, a NUL byte, its length in
 * ASCII decimal, a NUL byte, then its bytes. Lengths make the encoding unambiguous (no two file sets share one
 * input); nothing else (times, modes, the folder's own name) counts.
 */
public final class SkillHash {

    private SkillHash() {}

    /** The hash of {@code files} (relative path to content); the map's own order does not matter. */
    public static String of(Map<String, byte[]> files) {
        MessageDigest sha = sha256();
        for (Map.Entry<String, byte[]> f : new TreeMap<>(files).entrySet()) {
            sha.update(f.getKey().getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(Integer.toString(f.getValue().length).getBytes(StandardCharsets.US_ASCII));
            sha.update((byte) 0);
            sha.update(f.getValue());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
