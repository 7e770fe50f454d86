package dev.carapace.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import dev.carapace.model.ApiException;
import dev.carapace.model.WireFormat;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.http.Status;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.ErrorHandling;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionListener;
import org.slf4j.Marker;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What Helidon itself answers before a request reaches a route (a request line too long, a bad path, headers too
 * large, HTTP/1.0), in the API's error shape; and a deadline on reading request headers.
 *
 * <p>PROTOTYPE for issue 13: the evidence that Helidon SE 4.3.1 can be hardened from its public API, and where it
 * cannot. See HttpFramingCorpusTest.
 */
final class FrontDoor {

    private FrontDoor() {}

    /** How long a request's headers may take after its request line, before the connection is closed. */
    static final Duration HEADER_DEADLINE = Duration.ofSeconds(10);

    static void configure(WebServerConfig.Builder server, WireFormat openai, WireFormat anthropic) {
        DirectHandler json = (req, type, status, headers, message) -> {
            Status s = status;
            // Helidon answers 400 for headers over max-headers-size; the status for that is 431 (RFC 6585)
            if (s.code() == 400 && message != null && message.contains("Header size exceeded")) {
                s = Status.create(431, "Request Header Fields Too Large");
            }
            WireFormat format = req.path() != null && req.path().startsWith("/v1/messages") ? anthropic : openai;
            String text = switch (s.code()) {
                case 413 -> "Request body is larger than the gateway's limit.";
                case 414 -> "Request line is too long.";
                case 431 -> "Request headers are too large.";
                case 505 -> "HTTP version not supported: Carapace speaks HTTP/1.1.";
                default -> "Malformed HTTP request.";
            };
            ApiException e = new ApiException(s.code() == 413 ? ApiException.Kind.TOO_LARGE : ApiException.Kind.INVALID_REQUEST,
                    text, null, s.code() == 413 ? "request_too_large" : "invalid_request", null, false);
            return DirectHandler.TransportResponse.builder().status(s).headers(headers)
                    .header(HeaderNames.CONTENT_TYPE, "application/json").entity(format.renderError(e)).build();
        };
        DirectHandlers.Builder handlers = DirectHandlers.builder();
        for (DirectHandler.EventType t : DirectHandler.EventType.values()) handlers.addHandler(t, json);
        server.directHandlers(handlers.build())
                // gives the direct handler Helidon's message (only to tell a 431); the body is ours, never that message
                .errorHandling(ErrorHandling.builder().includeEntity(true).build())
                // replaces the discovered HTTP/1.1 config rather than adding a second HTTP/1.1 selector, which would
                // make Helidon close an HTTP/1.0 connection without its 505; so WebSocket is listed again by hand
                .protocolsDiscoverServices(false)
                .addProtocol(Http1Config.builder().addReceiveListener(new HeaderDeadline(HEADER_DEADLINE)).build())
                .addProtocol(io.helidon.webserver.websocket.WsConfig.create());
    }

    /** Closes a connection whose request headers are not complete {@code limit} after its request line. */
    static final class HeaderDeadline implements Http1ConnectionListener {
        private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "carapace-header-deadline");
            t.setDaemon(true);
            return t;
        });
        private final Map<ConnectionContext, Long> reading = new ConcurrentHashMap<>();
        private final long limitNanos;

        HeaderDeadline(Duration limit) {
            this.limitNanos = limit.toNanos();
            TIMER.scheduleAtFixedRate(this::sweep, 1, 1, TimeUnit.SECONDS);
        }

        @Override
        public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
            reading.put(ctx, System.nanoTime());
        }

        @Override
        public void headers(ConnectionContext ctx, Headers headers) {
            reading.remove(ctx);
        }

        private void sweep() {
            long now = System.nanoTime();
            reading.entrySet().removeIf(e -> {
                if (now - e.getValue() < limitNanos) return false;
                try {
                    e.getKey().serverSocket().close();
                } catch (RuntimeException ignored) {
                    // already gone
                }
                return true;
            });
        }
    }

    /**
     * Drops Helidon's WARN stack traces for a client that went away mid-request (a read that found no more data or a
     * closed socket): a client hanging up is not the gateway's failure.
     */
    public static final class ClientHangupFilter extends TurboFilter {
        @Override
        public FilterReply decide(Marker marker, ch.qos.logback.classic.Logger logger, Level level, String format,
                                  Object[] params, Throwable t) {
            if (t == null || !logger.getName().startsWith("io.helidon.webserver")) return FilterReply.NEUTRAL;
            for (Throwable c = t; c != null; c = c.getCause()) {
                String name = c.getClass().getName();
                if (name.endsWith("InsufficientDataAvailableException") || c instanceof java.net.SocketException) {
                    return FilterReply.DENY;
                }
            }
            return FilterReply.NEUTRAL;
        }
    }
}
