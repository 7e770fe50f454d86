package dev.carapace.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.store.ApiKeys.StoredKey;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP/1.1 front door, tried byte by byte over raw sockets against a real gateway (issue 13, items 1-6): request
 * smuggling variants, lenient framing, client mistakes that must not be 500s, {@code Connection: close}, HTTP/1.0,
 * oversized prologues and headers, log injection through the path, slow and abandoned headers.
 *
 * <p>Every case asserts the status, the API's error shape where the answer is an error, whether the connection
 * closes where it must, and that nothing after the first request on the connection was processed: the smuggled
 * request is always {@code POST /api/keys} with the admin key for a user named after the case, so a key for that
 * user existing, or a second response on the connection, is a desync. Every read is bounded by a socket timeout.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpFramingCorpusTest {

    static final int LIMIT = 4096;
    /** Longest wait for any single response. */
    static final int READ_MS = 5_000;
    /** How long to watch a connection after its response for a close or a second response. */
    static final int AFTER_MS = 2_000;
    static final String CHAT = "/v1/chat/completions";

    @TempDir static Path data;
    GatewayHarness h;
    ListAppender<ILoggingEvent> logs;
    Logger root;

    @BeforeAll
    void start() throws Exception {
        Logging.configure(false);   // Helidon's java.util.logging into logback, as Main does
        root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        logs = new ListAppender<>();
        logs.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        logs.start();
        root.addAppender(logs);
        h = new GatewayHarness(data, "server:\n  max_body_bytes: 4KiB\n");
        h.a.respond(r -> dev.carapace.testing.ScriptedUpstream.openAiText("ok", 1, 1));
    }

    @AfterAll
    void stop() {
        if (h != null) h.close();
        if (root != null) root.detachAppender(logs);
        if (logs != null) logs.stop();
    }

    @BeforeEach
    void clearLogs() {
        synchronized (logs) {
            logs.list.clear();
        }
    }

    // ---- smuggling ----

    /** A body over max_body_bytes, whose bytes are a complete admin request: answered 413 once, never run. */
    @Test
    void smuggledRequestInsideABodyOverTheLimitIsNeverRun() throws Exception {
        String user = "smuggled-413-length";
        byte[] smuggled = smuggled(user);
        byte[] body = pad(smuggled, LIMIT + 500);
        try (Raw c = raw()) {
            c.send(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "content-length: " + body.length));
            c.send(body);
            Resp r = c.response();
            assertApiError(r, 413, "request_too_large");
            assertNothingMore(c, r);
        }
        assertNotRun(user);
    }

    /**
     * As above with {@code Connection: close}: the 413 says close, so the server skips the body, and must not then
     * read that body as the next request.
     */
    @Test
    void smuggledRequestInsideABodyOverTheLimitWithConnectionCloseIsNeverRun() throws Exception {
        String user = "smuggled-413-close";
        byte[] smuggled = smuggled(user);
        byte[] body = pad(smuggled, LIMIT + 500);
        try (Raw c = raw()) {
            c.send(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "content-length: " + body.length, "connection: close"));
            c.send(body);
            Resp r = c.response();
            assertApiError(r, 413, "request_too_large");
            assertClosed(c, "the request said Connection: close");
        }
        assertNotRun(user);
    }

    /** The body is declared larger than the limit and the client sends a smuggled request right away. */
    @Test
    void bodyOverTheLimitLeftUnreadIsNotParsedAsRequests() throws Exception {
        String user = "smuggled-413-unread";
        try (Raw c = raw()) {
            // Declares 1 MiB but sends a request and stops: a server that does not read the body must close.
            c.send(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "content-length: 1048576"));
            c.send(smuggled(user));
            Resp r = c.response();
            assertApiError(r, 413, "request_too_large");
            assertClosed(c, "a 413 whose body was not read must close the connection");
        }
        assertNotRun(user);
    }

    /** Chunked over the limit: the 413 is the only answer; chunk data after the point of refusal is never a request. */
    @Test
    void chunkedBodyOverTheLimitThenSmuggledChunkIsNeverRun() throws Exception {
        String user = "smuggled-413-chunked";
        byte[] smuggled = smuggled(user);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(chunk("x".repeat(LIMIT + 1).getBytes(StandardCharsets.US_ASCII)));
        b.writeBytes(chunk(smuggled));
        b.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        try (Raw c = raw()) {
            c.send(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "transfer-encoding: chunked"));
            c.send(b.toByteArray());
            Resp r = c.response();
            assertApiError(r, 413, "request_too_large");
            assertNothingMore(c, r);
        }
        assertNotRun(user);
    }

    /** Content-Length and Transfer-Encoding together (CL.TE): rejected with 400 and closed (RFC 9112 6.1). */
    @Test
    void contentLengthWithTransferEncodingIsRejectedAndClosed() throws Exception {
        String user = "smuggled-cl-te";
        byte[] rest = concat("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII), smuggled(user));
        try (Raw c = raw()) {
            c.send(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "content-length: " + rest.length, "transfer-encoding: chunked"));
            c.send(rest);
            Resp r = c.response();
            assertApiError(r, 400, null);
            assertClosed(c, "a request framed by both Content-Length and Transfer-Encoding");
        }
        assertNotRun(user);
    }

    /** A transfer coding list other than plain chunked: 400 or 501, closed, the body never parsed as a request. */
    @Test
    void transferEncodingGzipChunkedIsRejectedAndClosed() throws Exception {
        String user = "smuggled-te-gzip";
        byte[] rest = concat(chunk(smuggled(user)), "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        try (Raw c = raw()) {
            c.send(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "transfer-encoding: gzip, chunked"));
            c.send(smuggled(user));   // what a server ignoring the coding would read next
            c.send(rest);
            Resp r = c.response();
            assertThat(r.status).as("status; %s", r).isIn(400, 501);
            assertApiError(r, r.status, null);
            assertClosed(c, "an unsupported transfer coding");
        }
        assertNotRun(user);
    }

    @Test
    void transferEncodingWithoutChunkedIsRejectedAndClosed() throws Exception {
        String user = "smuggled-te-identity";
        try (Raw c = raw()) {
            c.send(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "transfer-encoding: identity"));
            c.send(smuggled(user));
            Resp r = c.response();
            assertThat(r.status).as("status; %s", r).isIn(400, 501);
            assertApiError(r, r.status, null);
            assertClosed(c, "a request whose body length cannot be determined");
        }
        assertNotRun(user);
    }

    // ---- lenient framing ----

    @Test
    void twoDifferentContentLengthsAreRejectedAndClosed() throws Exception {
        String user = "smuggled-double-cl";
        byte[] smuggled = smuggled(user);
        byte[] body = "{\"model\":\"m-solo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}".getBytes(StandardCharsets.US_ASCII);
        try (Raw c = raw()) {
            c.send(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "content-length: " + body.length, "content-length: " + (body.length + smuggled.length)));
            c.send(concat(body, smuggled));
            Resp r = c.response();
            assertApiError(r, 400, null);
            assertClosed(c, "two different Content-Length headers");
        }
        assertNotRun(user);
    }

    @Test
    void chunkDataNotFollowedByCrlfIsRejectedAndClosed() throws Exception {
        String user = "smuggled-chunk-crlf";
        try (Raw c = raw()) {
            c.send(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "transfer-encoding: chunked"));
            // 2 bytes of data, then "XX" where CRLF must be
            c.send(concat("2\r\n{}XX0\r\n\r\n".getBytes(StandardCharsets.US_ASCII), smuggled(user)));
            Resp r = c.response();
            assertApiError(r, 400, null);
            assertClosed(c, "chunk data not followed by CRLF");
        }
        assertNotRun(user);
    }

    @Test
    void chunkSizeZzIs400NotA500() throws Exception {
        badChunkSize("zz", "smuggled-chunk-zz");
    }

    @Test
    void chunkSizeOfTwentyHexDigitsIs400NotA500() throws Exception {
        badChunkSize("1" + "0".repeat(19), "smuggled-chunk-20hex");
    }

    @Test
    void negativeChunkSizeIs400NotA500() throws Exception {
        badChunkSize("-5", "smuggled-chunk-neg");
    }

    void badChunkSize(String size, String user) throws Exception {
        try (Raw c = raw()) {
            c.send(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "transfer-encoding: chunked"));
            c.send(concat((size + "\r\nhello\r\n0\r\n\r\n").getBytes(StandardCharsets.US_ASCII), smuggled(user)));
            Resp r = c.response();
            assertApiError(r, 400, null);
            assertClosed(c, "an invalid chunk size");
        }
        assertNotRun(user);
        assertNoStackTraces();
    }

    // ---- half-close ----

    /** The body is shorter than its Content-Length and the client half-closes: a 400, not a 500. */
    @Test
    void shortBodyThenHalfCloseIs400() throws Exception {
        try (Raw c = raw()) {
            c.send(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "content-length: 100"));
            c.send("{\"model\":".getBytes(StandardCharsets.US_ASCII));
            c.s.shutdownOutput();
            Resp r = c.response();
            assertApiError(r, 400, null);
            assertClosed(c, "the client has half-closed");
        }
        assertNoStackTraces();
    }

    @Test
    void shortBodyThenHalfCloseOnAdminRouteIs400() throws Exception {
        try (Raw c = raw()) {
            c.send(head("POST", "/api/keys", "content-type: application/json", "authorization: Bearer " + h.adminKey,
                    "content-length: 100"));
            c.send("{\"user\":".getBytes(StandardCharsets.US_ASCII));
            c.s.shutdownOutput();
            Resp r = c.response();
            assertApiError(r, 400, null);
            assertClosed(c, "the client has half-closed");
        }
        assertNoStackTraces();
    }

    // ---- Connection: close, HTTP/1.0 ----

    @Test
    void connectionCloseIsHonouredPromptly() throws Exception {
        try (Raw c = raw()) {
            c.send(head("GET", "/healthz", "connection: close"));
            Resp r = c.response();
            assertThat(r.status).as("%s", r).isEqualTo(200);
            assertThat(r.header("connection")).isEqualToIgnoringCase("close");
            assertClosed(c, "the request said Connection: close");
        }
    }

    /** A pipelined request after one that says Connection: close is not answered. */
    @Test
    void nothingIsReadAfterARequestThatSaidConnectionClose() throws Exception {
        String user = "smuggled-after-close";
        try (Raw c = raw()) {
            c.send(concat(head("GET", "/healthz", "connection: close"), smuggled(user)));
            Resp r = c.response();
            assertThat(r.status).as("%s", r).isEqualTo(200);
            assertClosed(c, "the request said Connection: close");
        }
        assertNotRun(user);
    }

    @Test
    void http10HealthzGetsAnAnswerWithABody() throws Exception {
        try (Raw c = raw()) {
            c.send("GET /healthz HTTP/1.0\r\nhost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            Resp r = c.response();
            if (r.status == 505) {
                assertThat(r.body()).as("a 505 says why").isNotBlank();
                assertApiError(r, 505, null);
            } else {
                assertThat(r.status).as("%s", r).isEqualTo(200);
                assertThat(GatewayHarness.json(r.body()).path("status").asText()).isEqualTo("ok");
            }
            assertClosed(c, "HTTP/1.0 without keep-alive");
        }
    }

    // ---- oversized prologue and headers ----

    @Test
    void oversizedUriIs414InTheApiShape() throws Exception {
        try (Raw c = raw()) {
            c.send(head("GET", "/v1/models/" + "a".repeat(5000), "authorization: Bearer " + h.memberKey));
            Resp r = c.response();
            assertApiError(r, 414, null);
            assertClosed(c, "after a 414 the rest of the request is unread");
        }
    }

    @Test
    void oversizedHeadersAre431InTheApiShape() throws Exception {
        try (Raw c = raw()) {
            c.send(head("GET", "/v1/models", "authorization: Bearer " + h.memberKey, "x-big: " + "b".repeat(20_000)));
            Resp r = c.response();
            assertApiError(r, 431, null);
            assertClosed(c, "after a 431 the rest of the request is unread");
        }
    }

    @Test
    void badPercentEncodingInPathIs400InTheApiShape() throws Exception {
        try (Raw c = raw()) {
            c.send(head("GET", "/v1/models/%zz", "authorization: Bearer " + h.memberKey));
            Resp r = c.response();
            assertApiError(r, 400, null);
            assertNothingMore(c, r);
        }
    }

    // ---- log injection ----

    @Test
    void encodedNewlineInThePathCannotForgeALogLine() throws Exception {
        try (Raw c = raw()) {
            c.send(head("GET", "/v1/models/x%0a00:00:00.000%20ERROR%20carapace.access%20FORGED-LINE%0d%0a"));
            Resp r = c.response();
            assertThat(r.status).as("%s", r).isBetween(400, 499);
            assertNothingMore(c, r);
        }
        assertLogsEscaped("FORGED-LINE");
    }

    @Test
    void encodedNulInThePathIsNotWrittenRaw() throws Exception {
        try (Raw c = raw()) {
            c.send(head("GET", "/v1/models/x%00NUL-MARK"));
            Resp r = c.response();
            assertThat(r.status).as("%s", r).isBetween(400, 499);
            assertNothingMore(c, r);
        }
        assertLogsEscaped("NUL-MARK");
    }

    // ---- slow and abandoned headers ----

    /** A client dribbling header lines one every 500 ms is cut off within 12 s (a slowloris holds no thread forever). */
    @Test
    void slowHeadersAreBoundedInTime() throws Exception {
        try (Raw c = raw()) {
            c.send("GET /healthz HTTP/1.1\r\nhost: x\r\n".getBytes(StandardCharsets.US_ASCII));
            long deadline = System.nanoTime() + 12_000_000_000L;
            boolean closed = false;
            int i = 0;
            while (System.nanoTime() < deadline) {
                try {
                    c.out.write(("x-slow-" + i++ + ": y\r\n").getBytes(StandardCharsets.US_ASCII));
                    c.out.flush();
                } catch (IOException e) {
                    closed = true;
                    break;
                }
                After a = c.after(500);
                if (a.closed()) {
                    closed = true;
                    break;
                }
                if (a.data() != null) {
                    // a 408 (or 400) answer is fine, if the connection then closes
                    assertThat(a.data()).startsWith("HTTP/1.1 4");
                    closed = c.after(AFTER_MS).closed();
                    break;
                }
            }
            assertThat(closed).as("a connection still sending headers after 12 s is closed").isTrue();
        }
    }

    @Test
    void clientHangingUpMidHeadersLeavesNoStackTrace() throws Exception {
        for (boolean reset : new boolean[] {false, true}) {
            try (Raw c = raw()) {
                c.send("GET /healthz HTTP/1.1\r\nhost: x\r\nx-partial: ab".getBytes(StandardCharsets.US_ASCII));
                if (reset) c.s.setSoLinger(true, 0);
            }
        }
        try (Raw c = raw()) {
            c.send("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-le".getBytes(StandardCharsets.US_ASCII));
        }
        // the server is still fine, and said nothing alarming about clients going away
        try (Raw c = raw()) {
            c.send(head("GET", "/healthz", "connection: close"));
            assertThat(c.response().status).isEqualTo(200);
        }
        Thread.sleep(500);
        assertNoStackTraces();
        assertThat(captured()).as("no WARN or ERROR for a client that hung up")
                .noneMatch(e -> e.getLevel().isGreaterOrEqual(Level.WARN));
    }

    // ---- the assertions ----

    /** An error in the OpenAI shape (every path in this corpus is /v1 or /api), with a request id. */
    static void assertApiError(Resp r, int status, String code) {
        assertThat(r.status).as("status; %s", r).isEqualTo(status);
        assertThat(r.header("content-type")).as("content-type; %s", r).startsWith("application/json");
        JsonNode body;
        try {
            body = GatewayHarness.JSON.readTree(r.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + r, e);
        }
        assertThat(body).as("%s", r).isNotNull();
        JsonNode e = body.path("error");
        assertThat(e.isObject()).as("an {\"error\": {...}} body; %s", r).isTrue();
        assertThat(e.path("message").asText()).as("error.message; %s", r).isNotBlank();
        assertThat(e.path("type").asText()).as("error.type; %s", r).isNotBlank();
        for (String f : MalformedRequestCorpusTest.INTERNALS) assertThat(r.body()).doesNotContain(f);
        if (code != null) assertThat(e.path("code").asText()).isEqualTo(code);
    }

    /** Closed by the server, with no bytes after the first response. */
    static void assertClosed(Raw c, String why) throws IOException {
        After a = c.after(AFTER_MS);
        assertThat(a.data()).as("no second response on the connection (%s)", why).isNull();
        assertThat(a.closed()).as("the server closes the connection within %d ms: %s", AFTER_MS, why).isTrue();
    }

    /** No second response; and a response that says Connection: close is followed by the close. */
    static void assertNothingMore(Raw c, Resp r) throws IOException {
        After a = c.after(AFTER_MS);
        assertThat(a.data()).as("no second response on the connection after %s", r.statusLine).isNull();
        if ("close".equalsIgnoreCase(r.header("connection"))) {
            assertThat(a.closed()).as("a response saying Connection: close is followed by the close").isTrue();
        }
    }

    void assertNotRun(String user) throws InterruptedException {
        Thread.sleep(200);   // an access line is written just after its response
        List<StoredKey> keys = h.carapace.keyAdmin().list();
        assertThat(keys).as("a key for the smuggled user %s", user).noneMatch(k -> user.equals(k.user()));
        assertThat(captured()).as("no access line for a smuggled request")
                .noneMatch(e -> e.getLoggerName().equals("carapace.access") && e.getFormattedMessage().contains("/api/keys 2"));
    }

    void assertNoStackTraces() throws InterruptedException {
        Thread.sleep(200);
        assertThat(captured()).as("no stack trace logged for a client's mistake")
                .noneMatch(e -> e.getThrowableProxy() != null && e.getLevel().isGreaterOrEqual(Level.WARN));
        assertThat(captured()).as("no 500 in the access log for a client's mistake")
                .noneMatch(e -> e.getLoggerName().equals("carapace.access") && e.getFormattedMessage().matches("\\S+ \\S+ 500 .*"));
    }

    /** Every captured line mentioning {@code mark} is one line, with no control characters. */
    void assertLogsEscaped(String mark) throws InterruptedException {
        Thread.sleep(200);
        List<String> lines = captured().stream().map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains(mark)).toList();
        for (String line : lines) {
            assertThat(line.chars().filter(ch -> ch < 0x20 || ch == 0x7f).count())
                    .as("control characters in log line %s", line.replace("\n", "\\n").replace("\0", "\\0")).isZero();
        }
    }

    List<ILoggingEvent> captured() {
        synchronized (logs) {
            return new ArrayList<>(logs.list);
        }
    }

    // ---- bytes on the wire ----

    byte[] smuggled(String user) {
        byte[] body = ("{\"user\":\"" + user + "\",\"team\":\"platform\",\"role\":\"admin\"}").getBytes(StandardCharsets.US_ASCII);
        return concat(head("POST", "/api/keys", "content-type: application/json", "authorization: Bearer " + h.adminKey,
                "content-length: " + body.length), body);
    }

    static byte[] head(String method, String path, String... headers) {
        StringBuilder sb = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\nhost: 127.0.0.1\r\n");
        for (String hd : headers) sb.append(hd).append("\r\n");
        return sb.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] chunk(byte[] data) {
        return concat((Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII), data,
                "\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    /** {@code first} followed by spaces up to {@code size} bytes. */
    static byte[] pad(byte[] first, int size) {
        byte[] out = new byte[size];
        java.util.Arrays.fill(out, (byte) ' ');
        System.arraycopy(first, 0, out, 0, first.length);
        return out;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    Raw raw() throws IOException {
        return new Raw(h.carapace.port());
    }

    record Resp(String statusLine, int status, Map<String, String> headers, byte[] bodyBytes) {
        String header(String name) { return headers.get(name.toLowerCase(Locale.ROOT)); }

        String body() { return new String(bodyBytes, StandardCharsets.UTF_8); }

        @Override
        public String toString() {
            String b = body();
            return statusLine + " " + headers + " body=" + (b.length() > 300 ? b.substring(0, 300) + "..." : b);
        }
    }

    /** What came after a response: the close, silence (an open connection), or more bytes. */
    record After(boolean closed, String data) {}

    /** One client connection; every read times out. */
    static final class Raw implements AutoCloseable {
        final Socket s = new Socket();
        final InputStream in;
        final OutputStream out;

        Raw(int port) throws IOException {
            s.connect(new InetSocketAddress("127.0.0.1", port), READ_MS);
            s.setSoTimeout(READ_MS);
            in = new BufferedInputStream(s.getInputStream());
            out = s.getOutputStream();
        }

        /** Sends, ignoring a server that has already closed (what it answered is read next). */
        void send(byte[] bytes) {
            try {
                out.write(bytes);
                out.flush();
            } catch (IOException e) {
                // the server stopped reading; its answer, if any, is still readable
            }
        }

        Resp response() throws IOException {
            s.setSoTimeout(READ_MS);
            String statusLine = line();
            if (statusLine == null) throw new AssertionError("the server closed the connection without a response");
            String[] parts = statusLine.split(" ", 3);
            assertThat(parts[0]).as("status line %s", statusLine).startsWith("HTTP/1.");
            int status = Integer.parseInt(parts[1]);
            Map<String, String> headers = new LinkedHashMap<>();
            for (String l = line(); l != null && !l.isEmpty(); l = line()) {
                int colon = l.indexOf(':');
                headers.merge(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim(),
                        (a, b) -> a + ", " + b);
            }
            byte[] body;
            if (headers.containsKey("content-length")) {
                body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
            } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                for (int n = Integer.parseInt(line().split(";")[0].trim(), 16); n > 0;
                     n = Integer.parseInt(line().split(";")[0].trim(), 16)) {
                    b.writeBytes(in.readNBytes(n));
                    line();
                }
                for (String l = line(); l != null && !l.isEmpty(); l = line()) { }
                body = b.toByteArray();
            } else if (status == 204 || status == 304 || status < 200) {
                body = new byte[0];
            } else {
                body = in.readAllBytes();   // delimited by the close
            }
            return new Resp(statusLine, status, headers, body);
        }

        /** Watches the connection for {@code ms}: closed, silent, or the bytes that came. */
        After after(int ms) throws IOException {
            s.setSoTimeout(ms);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            long end = System.nanoTime() + ms * 1_000_000L;
            try {
                while (System.nanoTime() < end) {
                    int b = in.read();
                    if (b == -1) return new After(true, got.size() == 0 ? null : got.toString(StandardCharsets.ISO_8859_1));
                    got.write(b);
                    s.setSoTimeout((int) Math.max(1, (end - System.nanoTime()) / 1_000_000));
                }
            } catch (SocketTimeoutException e) {
                // silence
            } catch (IOException e) {
                return new After(true, got.size() == 0 ? null : got.toString(StandardCharsets.ISO_8859_1));   // reset
            }
            return new After(false, got.size() == 0 ? null : got.toString(StandardCharsets.ISO_8859_1));
        }

        private String line() throws IOException {
            StringBuilder sb = new StringBuilder();
            while (true) {
                int b = in.read();
                if (b == -1) return sb.isEmpty() ? null : sb.toString();
                if (b == '\n') {
                    int len = sb.length();
                    if (len > 0 && sb.charAt(len - 1) == '\r') sb.setLength(len - 1);
                    return sb.toString();
                }
                sb.append((char) b);
            }
        }

        @Override
        public void close() throws IOException {
            s.close();
        }
    }
}
