package dev.carapace.identity;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.carapace.model.ApiException;
import dev.carapace.store.ApiKeys;
import dev.carapace.store.ApiKeys.StoredKey;

import java.time.Duration;

/**
 * Turns a presented API key into a {@link Principal}. Verified keys are cached by hash for {@code ttl}, so the
 * request path does not touch the store; unknown keys are not cached, so a key works the moment it is created.
 */
public final class Authenticator {

    private final ApiKeys keys;
    private final String org;
    private final Cache<String, Principal> cache;

    public Authenticator(ApiKeys keys, String org, Duration ttl) {
        this.keys = keys;
        this.org = org;
        this.cache = Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(100_000).build();
    }

    public Principal authenticate(String presented) {
        if (presented == null || presented.isBlank()) {
            throw new ApiException(ApiException.Kind.AUTHENTICATION,
                    "Missing API key. Send it as 'Authorization: Bearer KEY' or as 'x-api-key: KEY'.",
                    null, "missing_api_key", null, false);
        }
        String hash = KeyMaterial.hash(presented.strip());
        Principal cached = cache.getIfPresent(hash);
        if (cached != null) return cached;
        StoredKey stored = keys.findByHash(hash).orElse(null);
        if (stored == null) {
            throw new ApiException(ApiException.Kind.AUTHENTICATION,
                    "Invalid API key" + shownPrefix(presented) + ". Create one with 'carapace keys create'.",
                    null, "invalid_api_key", null, false);
        }
        if (stored.revokedAt() != null) {
            throw new ApiException(ApiException.Kind.AUTHENTICATION,
                    "API key " + stored.prefix() + " was revoked at " + stored.revokedAt() + ".",
                    null, "revoked_api_key", null, false);
        }
        Principal p = new Principal(org, stored.team(), stored.user(), Principal.Role.valueOf(stored.role().toUpperCase()),
                stored.prefix());
        cache.put(hash, p);
        return p;
    }

    /** Whether the key with this prefix was revoked, or no longer exists: for connections that outlive their request. */
    public boolean revoked(String prefix) {
        return keys.findByPrefix(prefix).map(dev.carapace.store.ApiKeys.StoredKey::revoked).orElse(true);
    }

    /** Forgets a revoked key at once (other gateway processes forget it within the cache TTL). */
    public void forget(String prefix) {
        cache.asMap().values().removeIf(p -> p.keyPrefix().equals(prefix));
    }

    /** The public part of something that looks like one of our keys, never any of the secret part. */
    private static String shownPrefix(String presented) {
        int second = presented.indexOf('_', KeyMaterial.SCHEME.length());
        if (presented.startsWith(KeyMaterial.SCHEME) && second > 0 && second <= 16) {
            return " " + presented.substring(0, second);
        }
        return "";
    }
}
