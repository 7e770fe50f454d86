package dev.carapace.server.cli;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Regression (a CI-load flake of ChatCliTest): the server starts the run before its answer's headers, which carry the
 * run's id, reach the client; a Ctrl-C in between found the client "not busy" and exited (130), leaving the run going.
 * Now the client is busy from the moment it sends, and a Ctrl-C before the id cancels the run once the id comes.
 */
class ChatClientCancelTest {

    @Test
    void aCtrlCBeforeTheRunsIdIsKnownCancelsTheRunOnceItIs() throws Exception {
        CountDownLatch posted = new CountDownLatch(1), answer = new CountDownLatch(1), cancelled = new CountDownLatch(1);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.createContext("/api/agents/helper/runs", x -> {
            x.getRequestBody().readAllBytes();
            posted.countDown();
            try {
                answer.await(10, TimeUnit.SECONDS);     // the run runs; its id has not left yet
                x.getResponseHeaders().set("content-type", "text/event-stream");
                x.getResponseHeaders().set("x-carapace-run-id", "run_1");
                x.sendResponseHeaders(200, 0);
                try (OutputStream out = x.getResponseBody()) {
                    out.write("event: status\ndata: {\"run_id\":\"run_1\",\"status\":\"running\"}\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    cancelled.await(10, TimeUnit.SECONDS);
                    out.write("event: status\ndata: {\"run_id\":\"run_1\",\"status\":\"cancelled\"}\n\n".getBytes(StandardCharsets.UTF_8));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        server.createContext("/api/runs/run_1/cancel", x -> {
            x.getRequestBody().readAllBytes();
            cancelled.countDown();
            x.sendResponseHeaders(202, -1);
            x.close();
        });
        server.start();
        try {
            ChatClient client = new ChatClient(HttpClient.newHttpClient(), URI.create("http://127.0.0.1:"
                    + server.getAddress().getPort() + "/"), "ck-test", new PrintWriter(new StringWriter(), true));
            CompletableFuture<ChatClient.Outcome> sent = CompletableFuture.supplyAsync(() -> client.send("helper", "main", "hi"));
            assertThat(posted.await(10, TimeUnit.SECONDS)).isTrue();

            assertThat(client.busy()).as("busy while the message is on its way").isTrue();
            client.cancel();                                  // Ctrl-C, before the run's id is known
            assertThat(cancelled.getCount()).as("nothing to cancel yet").isEqualTo(1);
            answer.countDown();

            assertThat(cancelled.await(10, TimeUnit.SECONDS)).as("cancelled once the id came").isTrue();
            assertThat(sent.get(10, TimeUnit.SECONDS).status()).isEqualTo("cancelled");
            assertThat(client.busy()).isFalse();
        } finally {
            server.stop(0);
        }
    }
}
