package dev.carapace.schedule;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;

/**
 * A job's fixed delay after each fire time, so that a thousand jobs on {@code 0 * * * *} do not all start at the top
 * of the hour. It is a function of the job's id alone: the same on every gateway and after every restart, so a run is
 * never due at two different times.
 */
public final class Jitter {

    private Jitter() {}

    /**
     * An offset in {@code [0, max)} at millisecond resolution, spread evenly over the ids (SHA-256, not
     * {@code String.hashCode}, whose value for similar ids clusters); zero when {@code max} is under a millisecond.
     */
    public static Duration offset(String jobId, Duration max) {
        if (max.isNegative()) throw new IllegalArgumentException("max jitter must not be negative: " + max);
        long range = max.toMillis();
        if (range <= 0) return Duration.ZERO;
        long hash = ByteBuffer.wrap(sha256(jobId.getBytes(StandardCharsets.UTF_8))).getLong();
        return Duration.ofMillis(Long.remainderUnsigned(hash, range));
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }
}
