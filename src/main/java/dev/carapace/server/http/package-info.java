/**
 * The HTTP front door: a Jetty 12 server, strict about HTTP/1.1 framing, that hands each well-formed request to a
 * {@link dev.carapace.server.http.Route} on a virtual thread. Routes see an {@link dev.carapace.server.http.Exchange}
 * and never Jetty itself, so the server could change again without the API routes changing.
 *
 * <p>What this package owns: parsing and framing (malformed requests are refused with 400 and the connection
 * closed, never re-read as a new request), the connection cap, the header deadline, and the error bodies of
 * requests that never reach a route. What to answer is the routes' business, in {@code dev.carapace.server}.
 */
package dev.carapace.server.http;
