package dev.carapace.server.http;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The server's own limits, on a bare server with one route: the connection cap and the keep-alive under it. */
class HttpServerTest {

    private HttpServer server;
    /** The messages the error page was asked to render. */
    private final java.util.List<String> errorMessages = new java.util.concurrent.CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    private void start(int maxConnections) {
        Routes routes = new Routes().get("/ping", x -> x.send("pong".getBytes(StandardCharsets.US_ASCII)))
                .get("/big", x -> x.send(new byte[64 << 20]))
                .otherwise(x -> {
                    x.status(404);
                    x.send(new byte[0]);
                });
        server = HttpServer.start(new HttpServer.Settings("127.0.0.1", 0, maxConnections, Duration.ofSeconds(10),
                Duration.ofMinutes(5), 16 * 1024), routes, (status, message, path, header) -> {
                    errorMessages.add(status + " " + message);
                    return new byte[0];
                });
    }

    /**
     * Regression: idle kept-alive connections could hold every slot under the cap for the whole idle timeout (5
     * minutes), so no new client got in. Near the cap they are now closed after {@link
     * ConnectionWatch#CROWDED_KEEP_ALIVE}, and a new client is served.
     */
    @Test
    void idleConnectionsMakeRoomNearTheCap() throws Exception {
        start(10);
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 10; i++) {
                Socket s = new Socket("127.0.0.1", server.port());
                s.setSoTimeout(8_000);
                idle.add(s);
                assertThat(ping(s)).isEqualTo(200);   // served once, then left open and idle
            }
            long t0 = System.nanoTime();
            for (Socket s : idle) {
                assertThat(s.getInputStream().read()).as("an idle connection is closed by the server").isEqualTo(-1);
            }
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(8));
            try (Socket fresh = new Socket("127.0.0.1", server.port())) {
                fresh.setSoTimeout(5_000);
                assertThat(ping(fresh)).isEqualTo(200);
            }
        } finally {
            for (Socket s : idle) s.close();
        }
    }

    /** Far from the cap, a kept-alive connection stays open between requests and serves the next one. */
    @Test
    void keptAliveConnectionsStayOpenFarFromTheCap() throws Exception {
        start(1000);
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(4_000);
            assertThat(ping(s)).isEqualTo(200);
            s.setSoTimeout(3_000);
            assertThatThrownBy(() -> s.getInputStream().read()).as("3 s later, still open and silent")
                    .isInstanceOf(SocketTimeoutException.class);
            assertThat(ping(s)).isEqualTo(200);
        }
    }

    /** Sends GET /ping and reads the whole answer; returns its status. */
    private static int ping(Socket s) throws IOException {
        s.getOutputStream().write("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        InputStream in = s.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) throw new IOException("closed before the answer's head ended: " + head);
            head.append((char) b);
        }
        int length = 0;
        for (String line : head.toString().split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) length = Integer.parseInt(line.substring(15).trim());
        }
        in.readNBytes(length);
        return Integer.parseInt(head.substring(9, 12));
    }

    /** A request Jetty refuses before any route still gets an error that says what was wrong with it. */
    @Test
    void aRefusedRequestIsToldWhatWasWrong() throws Exception {
        start(10);
        for (String target : new String[] {"/v1/models/%zz", "/v1/%2e%2e/api/keys", "/api//keys"}) {
            try (Socket s = new Socket("127.0.0.1", server.port())) {
                s.setSoTimeout(5_000);
                s.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                s.getInputStream().readAllBytes();
            }
        }
        assertThat(errorMessages).containsExactly(
                "400 The request is not valid HTTP/1.1: a '%' in the URI must be followed by two hex digits.",
                "400 The request is not valid HTTP/1.1: Ambiguous URI path segment.",
                "400 The request is not valid HTTP/1.1: Ambiguous URI empty segment.");
    }

    /**
     * Regression (slow read): a client that asks for a large answer and reads none of it kept its route blocked in
     * the write, and its connection, until the idle timeout (5 minutes). It is now let go after
     * {@link ConnectionWatch#WRITE_STALL}.
     */
    @Test
    void aClientThatStopsReadingIsLetGo() throws Exception {
        start(10);
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setReceiveBufferSize(4096);
            s.getOutputStream().write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            long deadline = System.nanoTime() + ConnectionWatch.WRITE_STALL.plusSeconds(15).toNanos();
            Thread.sleep(1000);
            assertThat(server.openConnections()).as("the connection is open while the answer is written").isEqualTo(1);
            while (server.openConnections() > 0 && System.nanoTime() < deadline) Thread.sleep(200);
            assertThat(server.openConnections()).as("closed after the write stalled").isZero();
        }
    }
}
