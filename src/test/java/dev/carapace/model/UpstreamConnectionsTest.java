package dev.carapace.model;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The cap on open upstream connections that every provider shares (issue 13, item 12): a connection holds a permit
 * from its opening to its close, idle kept-alive ones included; past the cap an idle one is closed to make room, else
 * the call waits a moment and is refused as Carapace's own exhaustion, which no deployment is blamed for.
 */
class UpstreamConnectionsTest {

    private static final byte[] HEADERS = Http1Client.headerLines("content-type", "application/json");
    private static final Duration WAIT = Duration.ofMillis(300);

    /** Answers "hold" requests with a chunked body left open until {@link #release}, others at once. */
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger accepted = new AtomicInteger();
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private ServerSocket server;

    private URI start() throws IOException {
        server = new ServerSocket(0);
        toClose.add(server);
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    accepted.incrementAndGet();
                    Thread.ofVirtual().start(() -> serve(s));
                } catch (IOException e) {
                    return;
                }
            }
        });
        return URI.create("http://127.0.0.1:" + server.getLocalPort() + "/v1/chat/completions");
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            for (String request; (request = readRequest(in)) != null; ) {
                if (request.contains("hold")) {
                    out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                    release.await();
                    out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                } else {
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
                }
                out.flush();
            }
        } catch (Exception e) {
            // the connection ends
        }
    }

    private static String readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) return null;
            head.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String h = head.toString(StandardCharsets.ISO_8859_1);
        int length = 0;
        for (String line : h.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) length = Integer.parseInt(line.substring(15).trim());
        }
        return h + new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    private Http1Client client(URI origin, UpstreamConnections cap) {
        Http1Client c = new Http1Client(origin, Duration.ofSeconds(2), Duration.ofSeconds(5), cap);
        toClose.add(c);
        return c;
    }

    private static Http1Client.Response post(Http1Client c, String body) throws IOException {
        return c.post("/v1/chat/completions", HEADERS, body.getBytes(StandardCharsets.UTF_8));
    }

    private static String read(Http1Client.Response r) throws IOException {
        try (r) {
            return new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @AfterEach
    void stop() throws Exception {
        release.countDown();
        for (AutoCloseable c : toClose.reversed()) c.close();
    }

    @Test
    void pastTheCapACallWaitsAMomentThenIsRefusedAndTheNextOneGetsTheFreedConnection() throws Exception {
        URI origin = start();
        UpstreamConnections cap = new UpstreamConnections(2, WAIT);
        Http1Client a = client(origin, cap), b = client(origin, cap);
        Http1Client.Response one = post(a, "hold"), two = post(b, "hold");
        assertThat(cap.open()).isEqualTo(2);

        long t0 = System.nanoTime();
        assertThatThrownBy(() -> post(b, "quick")).isInstanceOf(UpstreamConnections.Exhausted.class)
                .hasMessageContaining("all 2 upstream connections");
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(waited).as("waited about the configured moment, not forever").isBetween(250L, 3_000L);
        assertThat(accepted).as("the refused call opened nothing").hasValue(2);

        // a waiting call gets the permit of an exchange that ends meanwhile
        Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(100);
                one.close();     // ends early: the connection closes, its permit goes back
            } catch (InterruptedException ignored) {
                // the test is over
            }
        });
        assertThat(read(post(b, "quick"))).isEqualTo("ok");
        release.countDown();
        assertThat(read(two)).isEqualTo("a");
        assertThat(cap.open()).as("only kept-alive connections are left open").isLessThanOrEqualTo(2);
    }

    @Test
    void anIdleKeptAliveConnectionOfAnotherProviderIsClosedToMakeRoom() throws Exception {
        URI origin = start();
        UpstreamConnections cap = new UpstreamConnections(1, WAIT);
        Http1Client a = client(origin, cap), b = client(origin, cap);
        assertThat(read(post(a, "quick"))).isEqualTo("ok");
        assertThat(cap.open()).as("a's connection idles, kept alive, holding its permit").isEqualTo(1);

        long t0 = System.nanoTime();
        assertThat(read(post(b, "quick"))).isEqualTo("ok");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).as("no wait").isLessThan(250);
        assertThat(cap.open()).isEqualTo(1);
        assertThat(accepted).hasValue(2);
        // and back: b's idle one makes room for a
        assertThat(read(post(a, "quick"))).isEqualTo("ok");
        assertThat(accepted).hasValue(3);
    }

    @Test
    void aConnectionThatFailsToOpenOrClosesGivesItsPermitBack() throws Exception {
        UpstreamConnections cap = new UpstreamConnections(1, WAIT);
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        Http1Client refused = client(URI.create("http://127.0.0.1:" + closedPort + "/v1"), cap);
        for (int i = 0; i < 3; i++) assertThatThrownBy(() -> post(refused, "quick")).isInstanceOf(ConnectException.class);
        assertThat(cap.open()).isZero();

        Http1Client ok = client(start(), cap);
        Http1Client.Response held = post(ok, "hold");
        assertThat(cap.open()).isEqualTo(1);
        held.close();
        held.close();   // twice: the permit goes back once
        assertThat(cap.open()).isZero();
        assertThat(read(post(ok, "quick"))).isEqualTo("ok");
        ok.close();     // the idle one closes with its client
        assertThat(cap.open()).isZero();
    }

    @Test
    void theCapIsRefusedAsCarapacesOwn503AndNeverCountsAgainstTheDeployment() throws Exception {
        URI origin = start();
        UpstreamConnections cap = new UpstreamConnections(1, WAIT);
        ProviderSpec spec = new ProviderSpec("up", WireApi.OPENAI, URI.create(origin.toString().replace("/chat/completions", "")),
                null, Duration.ofSeconds(2), Duration.ofSeconds(5), Map.of());
        Provider provider = new Provider(spec, new dev.carapace.model.openai.OpenAiFormat(), null, cap);
        toClose.add(provider);
        Http1Client other = client(origin, cap);
        Http1Client.Response held = post(other, "hold");

        ChatRequest request = new dev.carapace.model.openai.OpenAiFormat().parseRequest(
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}".getBytes(StandardCharsets.UTF_8));
        ApiException e = org.junit.jupiter.api.Assertions.assertThrows(ApiException.class,
                () -> provider.complete(request, "up-model", 100, Provider.Relay.NONE));
        assertThat(e.kind()).isEqualTo(ApiException.Kind.UNAVAILABLE);
        assertThat(e.kind().status).isEqualTo(503);
        assertThat(e.code()).isEqualTo(Provider.CONNECTIONS_EXHAUSTED);
        assertThat(e.retryable()).isTrue();
        assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(1));
        assertThat(e.getMessage()).contains("server.max_upstream_connections");

        Deployment d = new Deployment(new DeploymentSpec("up", "up-model"), provider);
        Router router = new Router(new RoutingPolicy(2, 1, Duration.ofSeconds(30)));
        for (int i = 0; i < 5; i++) assertThat(router.failed(d, e, 0)).isFalse();
        assertThat(d.coolingDown(1)).isFalse();
        assertThat(Router.worthFailover(e)).as("every deployment shares the cap: no failover").isFalse();
        held.close();
    }

    @Test
    void tooManyOpenFilesIsRecognisedAnywhereInTheCauseChain() {
        assertThat(UpstreamConnections.outOfDescriptors(new SocketException("Too many open files"))).isTrue();
        assertThat(UpstreamConnections.outOfDescriptors(new IOException("wrapped",
                new SocketException("Too many open files in system")))).isTrue();   // ENFILE
        assertThat(UpstreamConnections.outOfDescriptors(new ConnectException("Connection refused"))).isFalse();
        assertThat(UpstreamConnections.outOfDescriptors(new IOException((String) null))).isFalse();
    }
}
