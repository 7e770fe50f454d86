package dev.carapace.model;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * The benchmark's "floor" path: the least a gateway built like Carapace can do. It runs the same HTTP server
 * (Helidon SE, same socket options) and the same upstream client ({@link Http1Client}), and does nothing else: no
 * auth, routing, parsing, metering, logging or metrics. Bodies pass through as bytes; a stream's bytes are
 * relayed as they arrive, flushed when no more are waiting. Whatever Carapace costs above this path is its own work; this path's
 * cost is the server's and the client's.
 *
 * <p>Run as its own process: {@code FloorProxy UPSTREAM_BASE_URL}; prints {@code floor-proxy listening on PORT}.
 */
public final class FloorProxy {

    private FloorProxy() {}

    public static void main(String[] args) throws InterruptedException {
        URI base = URI.create(args[0].endsWith("/") ? args[0] : args[0] + "/");
        Http1Client client = new Http1Client(base, Duration.ofSeconds(5), Duration.ofSeconds(60));
        String path = base.resolve("chat/completions").getRawPath();
        byte[] headers = Http1Client.headerLines("content-type", "application/json");
        WebServer server = WebServer.builder()
                .host("127.0.0.1")
                .port(0)
                .connectionOptions(o -> o.tcpNoDelay(true))
                .shutdownHook(false)
                .routing(r -> r.post("/v1/chat/completions", (req, res) -> relay(client, path, headers, req, res)))
                .build()
                .start();
        System.out.println("floor-proxy listening on " + server.port());
        System.out.flush();
        new CountDownLatch(1).await();
    }

    private static void relay(Http1Client client, String path, byte[] headers, ServerRequest req, ServerResponse res)
            throws IOException {
        byte[] body;
        try (InputStream in = req.content().inputStream()) {
            body = in.readAllBytes();
        }
        try (Http1Client.Response up = client.post(path, headers, body)) {
            res.status(up.status());
            String type = up.header("content-type");
            if (type != null) res.header(HeaderNames.CONTENT_TYPE, type);
            if (type == null || !type.startsWith("text/event-stream")) {
                res.send(up.body().readAllBytes());
                return;
            }
            byte[] buf = new byte[16 * 1024];
            try (OutputStream out = res.outputStream()) {
                for (int n; (n = up.body().read(buf)) != -1; ) {
                    out.write(buf, 0, n);
                    if (up.body().available() == 0) out.flush();   // a burst leaves in one write, as in Carapace
                }
            }
        }
    }
}
