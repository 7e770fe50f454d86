package dev.carapace.model;

import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.HttpServer;
import dev.carapace.server.http.Routes;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * The benchmark's "floor" path: the least a gateway built like Carapace can do. It runs Carapace's own HTTP server
 * ({@link HttpServer}: Jetty 12, a virtual thread per request, TCP_NODELAY, the same header deadline, idle timeout and
 * header size as {@code Carapace}) with its routing table and {@link Exchange}, and the same upstream client
 * ({@link Http1Client}), and does nothing else: no auth, parsing, metering, logging or metrics. Bodies pass through as
 * bytes; a stream's bytes are relayed as they arrive, flushed when no more are waiting. Whatever Carapace costs above
 * this path is its own work; this path's cost is the server's and the client's.
 *
 * <p>Run as its own process: {@code FloorProxy UPSTREAM_BASE_URL}; prints {@code floor-proxy listening on PORT}.
 */
public final class FloorProxy {

    /** As {@code Carapace}'s server: header deadline, idle timeout, request head size. */
    private static final Duration HEADER_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration IDLE_TIMEOUT = Duration.ofMinutes(5);
    private static final int MAX_HEADER_BYTES = 16 * 1024;
    private static final int MAX_CONNECTIONS = 100_000;

    private FloorProxy() {}

    public static void main(String[] args) throws InterruptedException {
        URI base = URI.create(args[0].endsWith("/") ? args[0] : args[0] + "/");
        Http1Client client = new Http1Client(base, Duration.ofSeconds(5), Duration.ofSeconds(60));
        String path = base.resolve("chat/completions").getRawPath();
        byte[] headers = Http1Client.headerLines("content-type", "application/json");
        Routes routes = new Routes()
                .post("/v1/chat/completions", x -> relay(client, path, headers, x))
                .otherwise(x -> {
                    x.status(404);
                    x.header("content-type", "application/json");
                    x.send("{\"error\":{\"message\":\"not found\"}}".getBytes(StandardCharsets.UTF_8));
                });
        HttpServer server = HttpServer.start(new HttpServer.Settings("127.0.0.1", 0, MAX_CONNECTIONS, HEADER_TIMEOUT,
                IDLE_TIMEOUT, MAX_HEADER_BYTES), routes, FloorProxy::errorBody);
        System.out.println("floor-proxy listening on " + server.port());
        System.out.flush();
        new CountDownLatch(1).await();
    }

    private static byte[] errorBody(int status, String message, String path, java.util.function.Function<String, String> header) {
        return ("{\"error\":{\"message\":\"" + status + "\"}}").getBytes(StandardCharsets.UTF_8);
    }

    private static void relay(Http1Client client, String path, byte[] headers, Exchange x) throws IOException {
        byte[] body;
        try (InputStream in = x.body()) {
            body = in.readAllBytes();
        }
        try (Http1Client.Response up = client.post(path, headers, body)) {
            x.status(up.status());
            String type = up.header("content-type");
            if (type != null) x.header("content-type", type);
            if (type == null || !type.startsWith("text/event-stream")) {
                x.send(up.body().readAllBytes());
                return;
            }
            byte[] buf = new byte[16 * 1024];
            try (OutputStream out = x.outputStream()) {
                for (int n; (n = up.body().read(buf)) != -1; ) {
                    out.write(buf, 0, n);
                    if (up.body().available() == 0) out.flush();   // a burst leaves in one write, as in Carapace
                }
            }
        }
    }
}
