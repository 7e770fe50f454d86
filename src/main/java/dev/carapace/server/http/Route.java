package dev.carapace.server.http;

import java.io.IOException;

/** What one route does with a request: answer it through the exchange, on the request's own (virtual) thread. */
@FunctionalInterface
public interface Route {
    void handle(Exchange exchange) throws IOException;
}
