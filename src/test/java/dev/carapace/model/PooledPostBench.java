package dev.carapace.model;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;

/**
 * One small POST and its answer on a kept-alive loopback connection, in microseconds: what {@link Http1Client} adds
 * per call on the hot path, including the look at a pooled connection before it is reused (Connection#stale). The
 * server is a plain blocking loop answering every request at once. Lives beside the package-private client;
 * {@code bench/} does not run it. Run it on two commits to compare them.
 *
 * <pre>java -cp target/test-classes:target/classes dev.carapace.model.PooledPostBench [rounds]</pre>
 */
public final class PooledPostBench {

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int perRound = 20_000;
        try (ServerSocket server = new ServerSocket(0)) {
            Thread.ofPlatform().daemon().start(() -> serve(server));
            Http1Client client = new Http1Client(URI.create("http://127.0.0.1:" + server.getLocalPort() + "/v1"),
                    Duration.ofSeconds(2), Duration.ofSeconds(5));
            byte[] headers = Http1Client.headerLines("content-type", "application/json");
            byte[] body = "{\"a\":1}".getBytes();
            double[] micros = new double[rounds];
            Thread caller = Thread.ofVirtual().start(() -> {     // as in the gateway: the caller is a virtual thread
                try {
                    for (int r = -3; r < rounds; r++) {          // three warm-up rounds
                        long t0 = System.nanoTime();
                        for (int i = 0; i < perRound; i++) {
                            try (Http1Client.Response res = client.post("/v1/x", headers, body)) {
                                res.body().readAllBytes();
                            }
                        }
                        if (r >= 0) micros[r] = (System.nanoTime() - t0) / 1000.0 / perRound;
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            caller.join();
            client.close();
            double[] sorted = micros.clone();
            Arrays.sort(sorted);
            System.out.printf("%d rounds of %d posts on one kept-alive connection: best %.1f us, median %.1f us per post%n",
                    rounds, perRound, sorted[0], sorted[rounds / 2]);
        }
    }

    private static void serve(ServerSocket server) {
        byte[] answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes();
        try (Socket s = server.accept()) {
            s.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            int matched = 0;
            for (int b; (b = in.read()) != -1; ) {
                matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
                if (matched == 4) {            // every request has the bench's 7-byte body
                    in.readNBytes(7);
                    out.write(answer);
                    out.flush();
                    matched = 0;
                }
            }
        } catch (IOException e) {
            // the bench ended
        }
    }
}
