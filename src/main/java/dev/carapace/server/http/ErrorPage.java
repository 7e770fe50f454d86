package dev.carapace.server.http;

import java.util.function.Function;

/**
 * The body of an error the HTTP layer answers itself, before or around any route: a malformed request (400), a URI
 * or headers too large (414, 431), an unsupported HTTP version (505), a route that failed unexpectedly (500). The
 * API decides the shape, so a client sees the same error JSON as from its routes.
 */
@FunctionalInterface
public interface ErrorPage {

    /**
     * @param path   the request's raw path, or null when the request line could not be read
     * @param header the request's headers by name (null for an absent one); all null when none could be read
     * @return the body, sent as {@code application/json}
     */
    byte[] render(int status, String message, String path, Function<String, String> header);
}
