package dev.carapace.channel;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * DM pairing: an unknown sender is sent a one-time code; an admin, or the person the sender is (with their own key),
 * confirms it, and the sender is bound. The code is 10 characters of Crockford base32 (50 bits), kept only as its
 * hash, valid for an hour and once; whoever confirms has 10 wrong codes an hour, so guessing one is hopeless.
 */
final class Pairings {

    static final Duration TTL = Duration.ofHours(1);
    static final int WRONG_CODES_PER_HOUR = 10;
    private static final char[] ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();

    private final ChannelStore store;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, Misses> misses = new ConcurrentHashMap<>();

    Pairings(ChannelStore store, Clock clock) {
        this.store = store;
        this.clock = clock;
    }

    /** A new code for {@code sender} on {@code channel}, replacing any earlier one; the code itself is returned once. */
    String offer(Sender sender, String channel) {
        char[] code = new char[10];
        for (int i = 0; i < code.length; i++) code[i] = ALPHABET[random.nextInt(ALPHABET.length)];
        String text = new String(code);
        Instant now = clock.instant();
        store.putPairing(new Pairing(hash(text), sender.key(), sender.name(), channel, now.plus(TTL)), now);
        return text;
    }

    /**
     * Takes the pairing of {@code code} away, for {@code confirmer} (an operator's or person's key prefix, counted
     * for wrong codes).
     *
     * @throws IllegalArgumentException the code is malformed, unknown or expired, or the confirmer had too many wrong
     *                                  codes this hour
     */
    Pairing take(String code, String confirmer) {
        Instant now = clock.instant();
        Misses m = misses.computeIfAbsent(confirmer, k -> new Misses());
        synchronized (m) {
            if (m.since.plus(Duration.ofHours(1)).isBefore(now)) {
                m.since = now;
                m.count = 0;
            }
            if (m.count >= WRONG_CODES_PER_HOUR) {
                throw new IllegalArgumentException("code: too many wrong pairing codes this hour; try again after "
                        + m.since.plus(Duration.ofHours(1)));
            }
            // counted as wrong until it proves right: guesses sent at once must not all pass the check above
            m.count++;
        }
        String normal = normalise(code);
        Optional<Pairing> p = normal == null ? Optional.empty() : store.takePairing(hash(normal), now);
        if (p.isPresent()) {
            synchronized (m) { m.count = Math.max(0, m.count - 1); }
        } else {
            throw new IllegalArgumentException("code: no pairing is waiting for this code (codes are 10 letters and "
                    + "digits, valid for an hour and once; the sender gets a new one by writing again)");
        }
        return p.get();
    }

    /** Upper case, without spaces and dashes; Crockford's I, L and O read as 1, 1 and 0; null when not a code. */
    static String normalise(String code) {
        if (code == null) return null;
        StringBuilder sb = new StringBuilder(10);
        for (int i = 0; i < code.length() && sb.length() <= 10; i++) {
            char c = Character.toUpperCase(code.charAt(i));
            if (c == ' ' || c == '-') continue;
            if (c == 'I' || c == 'L') c = '1';
            if (c == 'O') c = '0';
            if (c > 127 || new String(ALPHABET).indexOf(c) < 0) return null;
            sb.append(c);
        }
        return sb.length() == 10 ? sb.toString() : null;
    }

    static String hash(String code) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(code.toUpperCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final class Misses {
        Instant since = Instant.EPOCH;
        int count;
    }
}
