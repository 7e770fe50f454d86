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
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The upstream client against a hand-scripted server, byte for byte: framing of bodies (length, chunked, close),
 * connection reuse, the stale-connection retry, timeouts, and what {@code available()} promises.
 */
class Http1ClientTest {

    private static final byte[] HEADERS = Http1Client.headerLines("content-type", "application/json");

    /** A server that answers each request on a connection with the next scripted step. */
    interface Step {
        void answer(String request, OutputStream out, Socket socket) throws Exception;
    }

    private final BlockingQueue<Step> steps = new LinkedBlockingQueue<>();
    private final List<String> requests = new ArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();
    /** Counts down when the client closes a connection the server was waiting on for a request. */
    private final CountDownLatch clientClosed = new CountDownLatch(1);
    private ServerSocket server;
    private Http1Client client;

    private Http1Client start(Duration readTimeout) throws IOException {
        server = new ServerSocket(0);
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    connections.incrementAndGet();
                    Thread.ofVirtual().start(() -> serve(s));
                } catch (IOException e) {
                    return;
                }
            }
        });
        client = new Http1Client(URI.create("http://127.0.0.1:" + server.getLocalPort() + "/v1"),
                Duration.ofSeconds(2), readTimeout);
        return client;
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            while (true) {
                String request = readRequest(in);
                if (request == null) {
                    clientClosed.countDown();
                    return;
                }
                synchronized (requests) { requests.add(request); }
                Step step = steps.poll(5, TimeUnit.SECONDS);
                if (step == null) return;
                step.answer(request, s.getOutputStream(), s);
                if (s.isClosed()) return;
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

    private static Step raw(String bytes) {
        return (req, out, s) -> {
            out.write(bytes.getBytes(StandardCharsets.UTF_8));
            out.flush();
        };
    }

    private static String read(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    @AfterEach
    void stop() throws IOException {
        if (client != null) client.close();
        if (server != null) server.close();
        client = null;
        server = null;
        steps.clear();
    }

    @Test
    void sendsOneWellFormedRequestAndReadsALengthDelimitedBody() throws Exception {
        start(Duration.ofSeconds(2));
        steps.add(raw("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nRetry-After: 7\r\n\r\nhello"));
        try (Http1Client.Response r = client.post("/v1/chat/completions", HEADERS, "{\"a\":1}".getBytes())) {
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("retry-after")).isEqualTo("7");
            assertThat(r.header("RETRY-AFTER")).isEqualTo("7");
            assertThat(r.header("x-missing")).isNull();
            assertThat(read(r.body())).isEqualTo("hello");
        }
        assertThat(requests.getFirst()).startsWith("POST /v1/chat/completions HTTP/1.1\r\n")
                .contains("\r\nhost: 127.0.0.1:" + server.getLocalPort() + "\r\n")
                .contains("\r\ncontent-type: application/json\r\n")
                .contains("\r\ncontent-length: 7\r\n\r\n{\"a\":1}");
    }

    @Test
    void decodesChunkedBodiesWithExtensionsAndTrailers() throws Exception {
        start(Duration.ofSeconds(2));
        steps.add(raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: y\r\n\r\n"));
        steps.add(raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
            assertThat(read(r.body())).isEqualTo("hello 0123456789");
        }
        try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
            assertThat(read(r.body())).isEqualTo("ok");
        }
        assertThat(connections).as("the chunked body was read to its end, so the connection was reused").hasValue(1);
    }

    @Test
    void aBodyDelimitedByCloseEndsWithTheConnection() throws Exception {
        start(Duration.ofSeconds(2));
        steps.add((req, out, s) -> {
            out.write("HTTP/1.1 200 OK\r\n\r\nuntil the end".getBytes());
            s.close();
        });
        steps.add(raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
            assertThat(read(r.body())).isEqualTo("until the end");
        }
        try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
            assertThat(read(r.body())).isEqualTo("ok");
        }
        assertThat(connections).hasValue(2);
    }

    @Test
    void keepsConnectionsAliveButNotOneTheServerMeansToClose() throws Exception {
        start(Duration.ofSeconds(2));
        steps.add(raw("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"));
        steps.add(raw("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nb"));
        steps.add(raw("HTTP/1.1 204 No Content\r\n\r\n"));
        steps.add(raw("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nd"));
        for (String expected : new String[] {"a", "b", "", "d"}) {
            try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
                assertThat(read(r.body())).isEqualTo(expected);
            }
        }
        assertThat(connections).as("a, b on the first; 204 and d on the second").hasValue(2);
    }

    @Test
    void aBodyClosedEarlyClosesItsConnection() throws Exception {
        start(Duration.ofSeconds(2));
        CountDownLatch serverSawClose = new CountDownLatch(1);
        steps.add((req, out, s) -> {
            out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n".getBytes());
            out.flush();
            if (s.getInputStream().read() == -1) serverSawClose.countDown();
        });
        steps.add(raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        Http1Client.Response r = client.post("/x", HEADERS, new byte[0]);
        assertThat(r.body().read()).isEqualTo('a');
        r.close();
        assertThat(serverSawClose.await(2, TimeUnit.SECONDS)).as("the upstream sees the abandoned call end").isTrue();
        try (Http1Client.Response again = client.post("/x", HEADERS, new byte[0])) {
            assertThat(read(again.body())).isEqualTo("ok");
        }
        assertThat(connections).hasValue(2);
    }

    /** Answers, then closes the connection while it idles: with a FIN, or with a reset (SO_LINGER 0). */
    private Step answerThenClose(String bytes, boolean reset, CountDownLatch closed) {
        return (req, out, s) -> {
            out.write(bytes.getBytes(StandardCharsets.UTF_8));
            out.flush();
            Thread.sleep(50);   // the client has the answer and pools the connection
            if (reset) s.setSoLinger(true, 0);
            s.close();
            closed.countDown();
        };
    }

    @Test
    void aKeptAliveConnectionClosedWhileIdleIsDroppedBeforeTheRequestIsWritten() throws Exception {
        for (boolean reset : new boolean[] {false, true}) {
            requests.clear();
            connections.set(0);
            start(Duration.ofSeconds(2));
            CountDownLatch closed = new CountDownLatch(1);
            steps.add(answerThenClose("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", reset, closed));
            steps.add(raw("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"));
            try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
                assertThat(read(r.body())).isEqualTo("a");
            }
            assertThat(closed.await(2, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(50);   // the FIN or RST has crossed loopback
            // the server closed before this request: it provably never reached it, so it goes out on a fresh one
            try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
                assertThat(read(r.body())).as(reset ? "after a reset" : "after a close").isEqualTo("b");
            }
            assertThat(connections).hasValue(2);
            assertThat(requests).as("one receipt per call").hasSize(2);
            stop();
        }
    }

    @Test
    void aRequestReadOnAKeptAliveConnectionThenResetIsNeverSentAgain() throws Exception {
        for (boolean reset : new boolean[] {true, false}) {
            requests.clear();
            connections.set(0);
            start(Duration.ofSeconds(2));
            steps.add(raw("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"));
            // the server reads the whole second request, then resets (or closes) the connection without a byte of
            // answer: it may have processed the request, so the client must not send it again
            steps.add((req, out, s) -> {
                if (reset) s.setSoLinger(true, 0);
                s.close();
            });
            steps.add(raw("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nnever"));
            try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
                assertThat(read(r.body())).isEqualTo("a");
            }
            assertThatThrownBy(() -> client.post("/x", HEADERS, "{\"n\":2}".getBytes()))
                    .as(reset ? "reset after read" : "closed after read")
                    .isInstanceOf(Http1Client.UnansweredException.class);
            Thread.sleep(200);   // a resend, if there were one, would have arrived
            assertThat(requests).as("exactly one receipt per call").hasSize(2);
            assertThat(requests.get(1)).endsWith("{\"n\":2}");
            assertThat(connections).hasValue(1);
            stop();
        }
    }

    @Test
    void aFreshConnectionThatFailsIsNotRetried() throws Exception {
        start(Duration.ofSeconds(2));
        steps.add((req, out, s) -> s.close());
        assertThatThrownBy(() -> client.post("/x", HEADERS, new byte[0])).isInstanceOf(Http1Client.UnansweredException.class);
        assertThat(requests).hasSize(1);
    }

    @Test
    void aBodyCutShortIsAnErrorNotATruncatedSuccess() throws Exception {
        start(Duration.ofSeconds(2));
        steps.add((req, out, s) -> {
            out.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".getBytes());
            s.close();
        });
        try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
            assertThatThrownBy(() -> r.body().readAllBytes()).isInstanceOf(java.io.EOFException.class);
        }
    }

    @Test
    void silenceLongerThanTheReadTimeoutFailsTheHeadersAndTheBody() throws Exception {
        start(Duration.ofMillis(200));
        steps.add((req, out, s) -> Thread.sleep(1_000));
        steps.add((req, out, s) -> {
            out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n".getBytes());
            out.flush();
            Thread.sleep(1_000);
        });
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> client.post("/x", HEADERS, new byte[0])).isInstanceOf(SocketTimeoutException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(900));
        try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
            assertThat(r.body().read()).isEqualTo('a');
            assertThatThrownBy(() -> r.body().read()).isInstanceOf(SocketTimeoutException.class);
        }
    }

    @Test
    void theReadTimeoutBoundsEachSilenceNotTheWholeStream() throws Exception {
        start(Duration.ofMillis(300));
        steps.add((req, out, s) -> {
            out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes());
            out.flush();
            for (int i = 0; i < 8; i++) {      // 8 x 100 ms: far longer than the timeout, never silent for as long
                Thread.sleep(100);
                out.write(("1\r\n" + i + "\r\n").getBytes());
                out.flush();
            }
            out.write("0\r\n\r\n".getBytes());
            out.flush();
        });
        steps.add((req, out, s) -> Thread.sleep(2_000));
        steps.add(raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
            assertThat(read(r.body())).isEqualTo("01234567");
        }
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> client.post("/x", HEADERS, new byte[0]))
                .isInstanceOf(SocketTimeoutException.class).hasMessageContaining("300 ms");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isBetween(Duration.ofMillis(290), Duration.ofMillis(1_500));
        try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
            assertThat(read(r.body())).isEqualTo("ok");
        }
        assertThat(connections).as("the timed-out connection was closed, not reused").hasValue(2);
    }

    @Test
    void availableCountsOnlyBodyBytesThatAreAlreadyHere() throws Exception {
        start(Duration.ofSeconds(2));
        CountDownLatch more = new CountDownLatch(1);
        steps.add((req, out, s) -> {
            out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n".getBytes());
            out.flush();
            more.await();
            out.write("2\r\nde\r\n0\r\n\r\n".getBytes());
            out.flush();
        });
        try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
            InputStream body = r.body();
            byte[] three = new byte[3];
            assertThat(body.readNBytes(three, 0, 3)).isEqualTo(3);
            assertThat(body.available()).as("the chunk's CRLF is buffered, but no body byte").isZero();
            more.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (body.available() == 0 && System.nanoTime() < deadline) Thread.sleep(5);
            // bytes arrive only when read: available() never blocks and never reads the socket
            assertThat(read(body)).isEqualTo("de");
        }
    }

    @Test
    void refusedConnectionsAndBadUrlsFailClearly() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) { closedPort = s.getLocalPort(); }
        try (Http1Client c = new Http1Client(URI.create("http://127.0.0.1:" + closedPort), Duration.ofSeconds(1), Duration.ofSeconds(1))) {
            assertThatThrownBy(() -> c.post("/x", HEADERS, new byte[0])).isInstanceOf(ConnectException.class);
        }
        assertThatThrownBy(() -> new Http1Client(URI.create("ftp://example.com"), Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .hasMessageContaining("only http and https");
        assertThatThrownBy(() -> Http1Client.headerLines("x-evil", "a\r\nhost: other"))
                .hasMessageContaining("x-evil");
    }

    @Test
    void garbageInsteadOfAResponseIsAnError() throws Exception {
        start(Duration.ofSeconds(2));
        steps.add(raw("SSH-2.0-OpenSSH\r\n\r\n"));
        assertThatThrownBy(() -> client.post("/x", HEADERS, new byte[0])).hasMessageContaining("not an HTTP/1.x response");
    }

    @Test
    void aBodyEndedWhenTheCallerHasWhatItNeedsKeepsItsConnection() throws Exception {
        start(Duration.ofSeconds(5));
        CountDownLatch terminator = new CountDownLatch(1);
        // the final event, then the last chunk: at once, then late, then never (that connection must go)
        steps.add(raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nDONE\r\n0\r\n\r\n"));
        steps.add((req, out, s) -> {
            out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nDONE\r\n".getBytes());
            out.flush();
            terminator.await();
            out.write("0\r\n\r\n".getBytes());
            out.flush();
        });
        steps.add(raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nDONE\r\n"));
        steps.add(raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        for (int i = 0; i < 3; i++) {
            try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
                assertThat(r.body().readNBytes(4)).isEqualTo("DONE".getBytes());
                r.done();
            }
            if (i == 1) {
                terminator.countDown();
                Thread.sleep(300);      // the background read of the last chunk returns the connection
            }
            assertThat(connections).as("request %d", i).hasValue(1);
        }
        long t0 = System.nanoTime();
        try (Http1Client.Response r = client.post("/x", HEADERS, new byte[0])) {
            assertThat(read(r.body())).isEqualTo("ok");
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("no wait for the abandoned one").isLessThan(Duration.ofMillis(500));
        assertThat(connections).as("the third body never ended, so its connection was not reused").hasValue(2);
        assertThat(clientClosed.await(3, TimeUnit.SECONDS)).as("and was closed after the drain time").isTrue();
    }

    @Test
    void theReadBufferGrowsForLongHeaderLinesAndLargeBodiesAndTheBodyIsSentAsGiven() throws Exception {
        start(Duration.ofSeconds(2));
        String longValue = "v".repeat(40_000);              // one header line far beyond the buffer's first size
        StringBuilder chunked = new StringBuilder();
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            String piece = ("chunk " + i + " ").repeat(300);
            chunked.append(Integer.toHexString(piece.length())).append("\r\n").append(piece).append("\r\n");
            expected.append(piece);
        }
        steps.add(raw("HTTP/1.1 200 OK\r\nX-Long: " + longValue + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
                + "0\r\n\r\n"));
        steps.add(raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        byte[] body = "{\"big\":\"".concat("x".repeat(100_000)).concat("\"}").getBytes();
        try (Http1Client.Response r = client.post("/v1/chat/completions", HEADERS, body)) {
            assertThat(r.header("x-long")).isEqualTo(longValue);
            assertThat(read(r.body())).isEqualTo(expected.toString());
        }
        try (Http1Client.Response r = client.post("/v1/chat/completions", HEADERS, new byte[0])) {
            assertThat(read(r.body())).isEqualTo("ok");
        }
        assertThat(requests.get(0)).endsWith("\r\n\r\n" + new String(body));
        assertThat(requests.get(1)).endsWith("content-length: 0\r\n\r\n");
        assertThat(connections).hasValue(1);
    }

    @Test
    void aResponseLineLongerThanTheHeaderLimitIsRefused() throws Exception {
        start(Duration.ofSeconds(2));
        steps.add(raw("HTTP/1.1 200 OK\r\nX-Long: " + "v".repeat(70_000) + "\r\nContent-Length: 0\r\n\r\n"));
        assertThatThrownBy(() -> client.post("/x", HEADERS, new byte[0])).isInstanceOf(IOException.class);
    }
}
