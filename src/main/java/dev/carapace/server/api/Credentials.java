package dev.carapace.server.api;

import dev.carapace.model.ApiException;

import java.util.List;
import java.util.function.Function;

/**
 * The API key a request presents, read the way every route reads it: {@code x-api-key} or
 * {@code Authorization: Bearer}. A request may give it in both, or twice, only if every copy is the same key: a proxy
 * in front of Carapace that reads the first of two different keys, or the other header, would otherwise judge the
 * request as someone else than Carapace does. An empty header presents nothing.
 */
final class Credentials {

    private Credentials() {}

    /**
     * The presented key, or null when none is (the authenticator then refuses with 401).
     *
     * @param headerLines every line of a request header, by name, as sent
     */
    static String apiKey(Function<String, List<String>> headerLines) {
        String key = null;
        for (String line : headerLines.apply("x-api-key")) key = agreeing(key, line.strip());
        for (String line : headerLines.apply("authorization")) {
            if (line.isBlank()) continue;
            if (!line.regionMatches(true, 0, "Bearer ", 0, 7)) {
                throw new ApiException(ApiException.Kind.AUTHENTICATION, "The Authorization header must be 'Bearer KEY'.",
                        null, "invalid_api_key", null, false);
            }
            key = agreeing(key, line.substring(7).strip());
        }
        return key;
    }

    private static String agreeing(String found, String key) {
        if (key.isEmpty()) return found;
        if (found != null && !found.equals(key)) {
            throw new ApiException(ApiException.Kind.AUTHENTICATION, "The request presents two different API keys (in "
                    + "x-api-key and Authorization, or in one of them twice); send the key once.", null,
                    "conflicting_api_keys", null, false);
        }
        return key;
    }
}
