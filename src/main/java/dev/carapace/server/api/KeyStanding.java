package dev.carapace.server.api;

import dev.carapace.identity.Authenticator;
import dev.carapace.identity.Principal;

import java.time.Duration;

/**
 * Whether the key a long-lived connection (an event stream, a WebSocket) was opened with is still valid. Such a
 * connection outlives the request that checked its key, so revoking the key must reach it too: it is looked up
 * again at most once a second, as events pass or the stream idles, and once revoked stays so.
 */
final class KeyStanding {

    /** How often a key is looked up again, at most (and, by the connections' own timers, at least). */
    static final Duration EVERY = Duration.ofSeconds(1);

    private final Authenticator auth;
    private final String keyPrefix;
    private long checkedAt = System.nanoTime();
    private boolean revoked;

    KeyStanding(Authenticator auth, Principal caller) {
        this.auth = auth;
        this.keyPrefix = caller.keyPrefix();
    }

    /** True once the key is found revoked (or gone); the connection should then end. */
    synchronized boolean revoked() {
        if (revoked || keyPrefix == null) return revoked;
        if (System.nanoTime() - checkedAt < EVERY.toNanos()) return false;
        return revokedNow();
    }

    /**
     * {@link #revoked}, looked up now whenever it was last: before the client's own requests on the connection (a
     * message, a cancel), which act as a request with the key would, and must be refused the moment it is revoked.
     */
    synchronized boolean revokedNow() {
        if (revoked || keyPrefix == null) return revoked;
        checkedAt = System.nanoTime();
        revoked = auth.revoked(keyPrefix);
        return revoked;
    }

    /** What the client is told as its connection ends, in the API's error shape. */
    String message() {
        return "The API key " + keyPrefix + " this connection was opened with was revoked; it ends here.";
    }
}
