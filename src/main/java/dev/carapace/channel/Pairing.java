package dev.carapace.channel;

import java.time.Instant;
import java.util.Objects;

/**
 * A pairing offered to an unknown sender: the code they were sent, kept only as its hash, until it is confirmed or
 * expires.
 *
 * @param codeHash  SHA-256 of the code, hex
 * @param sender    the sender's key
 * @param name      the display name the channel gave, for the operator who confirms (untrusted)
 * @param channel   the channel it came through
 * @param expiresAt when the code stops working
 */
public record Pairing(String codeHash, String sender, String name, String channel, Instant expiresAt) {

    public Pairing {
        Objects.requireNonNull(codeHash, "codeHash");
        Objects.requireNonNull(sender, "sender");
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(expiresAt, "expiresAt");
    }
}
