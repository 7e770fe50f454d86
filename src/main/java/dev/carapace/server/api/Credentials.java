package dev.carapace.server.api;

import dev.carapace.model.ApiException;

import java.util.function.Function;

/** The API key a request presents, read the way every route reads it: {@code x-api-key}, else {@code Authorization: Bearer}. */
final class Credentials {

    private Credentials() {}

    /** The presented key, or null when none is (the authenticator then refuses with 401). */
    static String apiKey(Function<String, String> header) {
        String key = header.apply("x-api-key");
        if (key != null) return key;
        String authz = header.apply("authorization");
        if (authz == null) return null;
        if (!authz.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new ApiException(ApiException.Kind.AUTHENTICATION, "The Authorization header must be 'Bearer KEY'.",
                    null, "invalid_api_key", null, false);
        }
        return authz.substring(7);
    }
}
