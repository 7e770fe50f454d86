package dev.carapace.server;

import dev.carapace.model.ApiException;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;

/** The API key a request presents, read the way every route reads it: {@code x-api-key}, else {@code Authorization: Bearer}. */
final class Credentials {

    private static final HeaderName X_API_KEY = HeaderNames.create("x-api-key");

    private Credentials() {}

    /** The presented key, or null when none is (the authenticator then refuses with 401). */
    static String apiKey(Headers h) {
        String key = h.first(X_API_KEY).orElse(null);
        if (key != null) return key;
        String authz = h.first(HeaderNames.AUTHORIZATION).orElse(null);
        if (authz == null) return null;
        if (!authz.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new ApiException(ApiException.Kind.AUTHENTICATION, "The Authorization header must be 'Bearer KEY'.",
                    null, "invalid_api_key", null, false);
        }
        return authz.substring(7);
    }
}
