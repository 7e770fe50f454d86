package dev.carapace.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.encoder.Encoder;
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
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP/1.1 front door, tried byte by byte over raw sockets against a real gateway (issue 13, items 1-6): request
 * smuggling variants, lenient framing (Content-Length and Transfer-Encoding spellings, obs-fold, NUL and bare CR,
 * whitespace before a colon, Host), request lines and versions, Expect: 100-continue, client mistakes that must not
 * be 500s, {@code Connection: close}, HTTP/1.0, oversized prologues and headers, resets under a client still sending
 * a refused body, log injection, slow and abandoned headers.
 *
 * <p>Every case asserts the status, the API's error shape where the answer is an error, whether the connection
 * closes where it must (and that an answer the server closes after says so), and that nothing after the first
 * request on the connection was processed: the smuggled request is always {@code POST /api/keys} with the admin key
 * for a user named after the case, so a key for that user existing, or a second response on the connection, is a
 * desync. Two controls show that the smuggled request does run when sent as a request. Every read is bounded by a
 * socket timeout. Log lines are checked as logback.xml's encoder writes them.
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
    CapturedLogs logs;
    /** The console encoder of logback.xml: what a captured event looks like in the log. */
    Function<ILoggingEvent, String> layout;

    @BeforeAll
    void start() throws Exception {
        logs = new CapturedLogs();
        layout = logbackLayout((LoggerContext) LoggerFactory.getILoggerFactory());
        h = new GatewayHarness(data, "server:\n  max_body_bytes: 4KiB\n");
        h.a.respond(r -> dev.carapace.testing.ScriptedUpstream.openAiText("ok", 1, 1));
    }

    @AfterAll
    void stop() {
        if (h != null) h.close();
        if (logs != null) logs.close();
    }

    @BeforeEach
    void clearLogs() throws InterruptedException {
        logs.clear();
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
     * The client sends all of a 2 MiB body while the server has already answered 413: the server must not reset the
     * connection before the client could read the 413. Either the whole body had arrived by the answer, and the
     * server skipped it and keeps the connection, or the 413 says close and the server reads and drops the rest
     * until the client stops. Repeated, as the reset is a race.
     */
    @Test
    void a413IsReadableWhileTheClientIsStillSendingItsBody() throws Exception {
        byte[] body = new byte[2 << 20];
        java.util.Arrays.fill(body, (byte) ' ');
        for (int i = 0; i < 3; i++) {
            try (Raw c = raw()) {
                c.send(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                        "content-length: " + body.length));
                Thread writer = Thread.ofVirtual().start(() -> c.send(body));   // blocks while the server does not read
                Resp r = c.response();
                assertApiError(r, 413, "request_too_large");
                writer.join(READ_MS);
                assertNothingMore(c, r);
            }
        }
        assertNoStackTraces();
    }

    /**
     * The same, step by step: the 413 comes while most of the body has not been sent, so it says close; the client,
     * not reading answers while it sends, sends the rest of its body anyway. The server reads and drops it (no reset
     * under the client's writes), then closes.
     */
    @Test
    void afterA413ThatSaysCloseTheRestOfTheBodyIsReadNotReset() throws Exception {
        int total = 2 << 20;
        byte[] piece = new byte[64 * 1024];
        java.util.Arrays.fill(piece, (byte) ' ');
        try (Raw c = raw()) {
            c.send(concat(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "content-length: " + total), piece));
            Resp r = c.response();
            assertApiError(r, 413, "request_too_large");
            assertThat(r.header("connection")).as("the body has not arrived: %s", r).isEqualToIgnoringCase("close");
            sendsTheRestThenSeesAGracefulClose(c, () -> {
                // at a pace a server closing under it would interrupt: a reset fails a later write
                for (int sent = piece.length; sent < total; sent += piece.length) {
                    c.out.write(piece);
                    c.out.flush();
                    Thread.sleep(5);
                }
            });
        }
    }

    private interface Sending {
        void send() throws IOException, InterruptedException;
    }

    /** The client sends the rest of its body after a 413 that said close: read by the server, then a graceful close. */
    private static void sendsTheRestThenSeesAGracefulClose(Raw c, Sending rest) throws Exception {
        java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                rest.send();
            } catch (IOException | InterruptedException e) {
                failed.set(e);
            }
        });
        writer.join(READ_MS);
        assertThat(writer.isAlive()).as("the server reads the rest of the body").isFalse();
        assertThat(failed.get()).as("no reset while the client sends the rest of its body").isNull();
        After a = c.after(AFTER_MS);
        assertThat(a.closed()).as("closed once the body has ended").isTrue();
        assertThat(a.reset()).as("closed gracefully, not reset").isFalse();
    }

    /** As above with a chunked body, which the route reads up to the limit before refusing it. */
    @Test
    void afterAChunked413TheRestOfTheBodyIsReadNotReset() throws Exception {
        byte[] piece = chunk(" ".repeat(16 * 1024).getBytes(StandardCharsets.US_ASCII));
        try (Raw c = raw()) {
            c.send(concat(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "transfer-encoding: chunked"), piece));
            Resp r = c.response();
            assertApiError(r, 413, "request_too_large");
            assertThat(r.header("connection")).as("the body has not ended: %s", r).isEqualToIgnoringCase("close");
            sendsTheRestThenSeesAGracefulClose(c, () -> {
                for (int i = 0; i < 128; i++) {
                    c.out.write(piece);
                    c.out.flush();
                    if (i % 4 == 0) Thread.sleep(5);
                }
                c.out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                c.out.flush();
            });
        }
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
            // An HTTP/1.0 request without keep-alive is closed after its answer by default: no header needed.
            After a = c.after(AFTER_MS);
            assertThat(a.data()).as("no second response").isNull();
            assertThat(a.closed()).as("HTTP/1.0 without keep-alive is closed").isTrue();
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
        assertThat(assertLogsEscaped("FORGED-LINE")).as("the refusal's access line, with the path as sent").hasSize(1);
    }

    /** A value the access line logs decoded (an unknown model's name), with a newline and a NUL: escaped, one line. */
    @Test
    void newlineInAModelNameCannotForgeALogLine() throws Exception {
        byte[] body = ("{\"model\":\"x\\n00:00:00.000 ERROR carapace.access MODEL-FORGED\\u0000\","
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").getBytes(StandardCharsets.US_ASCII);
        try (Raw c = raw()) {
            c.send(concat(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "content-length: " + body.length), body));
            Resp r = c.response();
            assertApiError(r, 404, "model_not_found");
            assertNothingMore(c, r);
        }
        assertThat(assertLogsEscaped("MODEL-FORGED")).as("the access line, naming the model").hasSize(1);
    }

    /**
     * The access line is {@code key=value} fields after the request: a model name with spaces and fields of its own
     * (found by a tester) must stay one quoted value, not add a second team, user or token count to the line.
     */
    @Test
    void fieldsInAModelNameCannotForgeAccessLineFields() throws Exception {
        String model = "x deployment=openai/gpt-4.1 tokens_in=999999 team=finance user=\\\"ceo\\\\";
        for (String path : List.of(CHAT, "/v1/messages")) {
            byte[] body = ("{\"model\":\"" + model + "\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
                    .getBytes(StandardCharsets.US_ASCII);
            try (Raw c = raw()) {
                c.send(concat(head("POST", path, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                        "anthropic-version: 2023-06-01", "content-length: " + body.length), body));
                assertThat(c.response().status).isEqualTo(404);
            }
        }
        Thread.sleep(200);
        List<String> lines = captured().stream().filter(e -> e.getLoggerName().equals("carapace.access"))
                .map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains("tokens_in=999999")).toList();
        assertThat(lines).hasSize(2).allSatisfy(line -> {
            assertThat(line).contains(" model=\"x deployment=openai/gpt-4.1 tokens_in=999999 team=finance user=\\\"ceo\\\\\" ");
            // outside the quoted value, each field once, as Carapace wrote it
            String outside = line.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "Q");
            for (String key : List.of("team=", "user=", "model=", "deployment=", "tokens_in=")) {
                assertThat(outside.split(" " + key, -1)).as("%s in %s", key, line).hasSize(2);
            }
            assertThat(outside).contains(" team=platform ").contains(" deployment=- ").doesNotContain("finance");
        });
    }

    /** A method is any token: a 5,000-character one is answered, and logged clipped as the path is. */
    @Test
    void aLongMethodIsClippedInTheAccessLine() throws Exception {
        String method = "X".repeat(5_000);
        try (Raw c = raw()) {
            c.send(head(method, "/healthz", "connection: close"));
            assertThat(c.response().status).isBetween(400, 499);
        }
        Thread.sleep(200);
        assertThat(captured()).filteredOn(e -> e.getLoggerName().equals("carapace.access"))
                .map(ILoggingEvent::getFormattedMessage).singleElement().asString()
                .startsWith("X".repeat(20) + "... /healthz ");
    }

    @Test
    void encodedNulInThePathIsNotWrittenRaw() throws Exception {
        try (Raw c = raw()) {
            c.send(head("GET", "/v1/models/x%00NUL-MARK"));
            Resp r = c.response();
            assertThat(r.status).as("%s", r).isBetween(400, 499);
            assertNothingMore(c, r);
        }
        // Jetty refuses an encoded NUL before the request has a path: the access line cannot name it at all
        assertLogsEscaped("NUL-MARK");
        assertThat(captured()).as("the refusal's access line").anyMatch(e -> e.getLoggerName().equals("carapace.access")
                && e.getFormattedMessage().contains(" 400 "));
    }

    // ---- slow and abandoned headers ----

    /**
     * A client dribbling header lines one every 500 ms is cut off within 12 s (a slowloris holds no thread forever),
     * with a 408 in the API's shape first.
     */
    @Test
    void slowHeadersAreBoundedInTime() throws Exception {
        try (Raw c = raw()) {
            c.send("GET /healthz HTTP/1.1\r\nhost: x\r\n".getBytes(StandardCharsets.US_ASCII));
            long deadline = System.nanoTime() + 12_000_000_000L;
            boolean closed = false;
            String answer = null;
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
                if (a.data() != null || a.closed()) {
                    answer = a.data();
                    closed = a.closed() || c.after(AFTER_MS).closed();
                    break;
                }
            }
            assertThat(closed).as("a connection still sending headers after 12 s is closed").isTrue();
            assertThat(answer).as("told why before the close (RFC 9110 15.5.9)").startsWith("HTTP/1.1 408 ")
                    .containsIgnoringCase("connection: close").contains("\"error\"").contains("did not arrive within");
        }
        Thread.sleep(200);
        assertThat(accessLines()).as("one access line: the server's close, not a hang-up by the client")
                .containsExactly(accessLines().stream().filter(l -> l.contains("took longer than")).findFirst().orElse("(none)"));
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
        // One access line per hang-up, and no more: a client that closes (FIN) mid-head is answered 400 (Jetty sees an
        // early EOF), one that resets is only logged as a hang-up.
        List<String> access = captured().stream().filter(e -> e.getLoggerName().equals("carapace.access"))
                .map(ILoggingEvent::getFormattedMessage).filter(m -> !m.startsWith("GET /healthz 200")).toList();
        assertThat(access).as("one access line for each of the three hang-ups").hasSize(3)
                .allMatch(m -> m.contains("closed by the client in the middle of a request's head")
                        || m.contains(" 400 ") && m.contains("Early EOF"));
        assertThat(access).as("the reset one").anyMatch(m -> m.contains("closed by the client") && m.contains("127.0.0.1"));
    }

    /** A malformed Host is the client's mistake: a 400 in the API shape, and no WARN quoting the header into the log. */
    @Test
    void malformedHostIsRefusedWithoutAWarnQuotingIt() throws Exception {
        String[] hosts = {"x] 05:50:14.593 ERROR d.c.server.Carapace [] database corrupted,", "a".repeat(15_000) + "/",
                "x, y", "x/evil", "a@b", "x:99999999", "[::1"};
        for (String host : hosts) {
            try (Raw c = raw()) {
                c.send(("GET /healthz HTTP/1.1\r\nhost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                Resp r = c.response();
                assertThat(r.status).as("Host: %.40s", host).isEqualTo(400);
                assertThat(r.body()).as("Host: %.40s", host).contains("\"error\"");
            }
        }
        try (Raw c = raw()) {
            c.send(head("CONNECT", "/healthz"));
            assertThat(c.response().status).isBetween(400, 499);
        }
        Thread.sleep(200);
        assertThat(captured()).as("no WARN or ERROR for a client's malformed Host")
                .noneMatch(e -> e.getLevel().isGreaterOrEqual(Level.WARN));
    }

    /** Two different keys in one request (two lines, or x-api-key against Authorization): 401, whichever comes first. */
    @Test
    void twoDifferentApiKeysAreRefusedInEitherOrder() throws Exception {
        String good = h.memberKey, other = "cpk_not_a_key_0000000000000000000000000";
        List<List<String>> cases = List.of(
                List.of("authorization: Bearer " + good, "authorization: Bearer " + other),
                List.of("authorization: Bearer " + other, "authorization: Bearer " + good),
                List.of("x-api-key: " + good, "authorization: Bearer " + other),
                List.of("authorization: Bearer " + good, "x-api-key: " + other),
                List.of("x-api-key: " + good, "x-api-key: " + other));
        for (List<String> headers : cases) {
            try (Raw c = raw()) {
                c.send(head("GET", "/v1/models", headers.get(0), headers.get(1), "connection: close"));
                Resp r = c.response();
                assertThat(r.status).as("%s", headers).isEqualTo(401);
                assertThat(r.body()).contains("conflicting_api_keys").doesNotContain(good).doesNotContain(other);
            }
        }
        for (List<String> same : List.of(List.of("x-api-key: " + good, "authorization: Bearer " + good),
                List.of("x-api-key: ", "authorization: Bearer " + good))) {
            try (Raw c = raw()) {
                c.send(head("GET", "/v1/models", same.get(0), same.get(1), "connection: close"));
                assertThat(c.response().status).as("%s", same).isEqualTo(200);
            }
        }
    }

    /**
     * JSON requests are UTF-8. Forms Jackson would decode anyway (an overlong '/', an encoded surrogate) and UTF-16
     * bodies, which it reads by their zero bytes, are refused on every model API: otherwise Carapace screens one text
     * while the upstream reads the bytes as another.
     */
    @Test
    void aBodyThatIsNotUtf8IsRefusedOnEveryModelApi() throws Exception {
        byte[] overlong = concat("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"a".getBytes(
                StandardCharsets.US_ASCII), new byte[] {(byte) 0xc0, (byte) 0xaf}, "\"}]}".getBytes(StandardCharsets.US_ASCII));
        byte[] surrogate = concat("{\"model\":\"m\",\"input\":\"".getBytes(StandardCharsets.US_ASCII),
                new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, "\"}".getBytes(StandardCharsets.US_ASCII));
        byte[] utf16 = "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                .getBytes(StandardCharsets.UTF_16LE);
        for (String path : List.of(CHAT, "/v1/messages", "/v1/responses")) {
            for (byte[] body : List.of(overlong, surrogate, utf16)) {
                try (Raw c = raw()) {
                    c.send(concat(head("POST", path, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                            "anthropic-version: 2023-06-01", "content-length: " + body.length), body));
                    Resp r = c.response();
                    assertThat(r.status).as("%s %s", path, r).isEqualTo(400);
                    assertThat(r.body()).as(path).contains("not UTF-8");
                    assertNothingMore(c, r);
                }
            }
        }
    }

    /** HEAD is GET without a body: the same status and headers, and the next request on the connection is read as one. */
    @Test
    void headIsAnsweredAsGetWithoutTheBody() throws Exception {
        for (String[] target : new String[][] {{"/healthz", null}, {"/v1/models", h.memberKey}, {"/v1/nothing-here", h.memberKey}}) {
            int getStatus;
            String getLength;
            try (Raw c = raw()) {
                c.send(target[1] == null ? head("GET", target[0]) : head("GET", target[0], "authorization: Bearer " + target[1]));
                Resp r = c.response();
                getStatus = r.status;
                getLength = r.header("content-length");
            }
            try (Raw c = raw()) {
                byte[] headRequest = target[1] == null ? head("HEAD", target[0])
                        : head("HEAD", target[0], "authorization: Bearer " + target[1]);
                c.send(concat(headRequest, head("GET", "/healthz", "connection: close")));
                Resp r = c.responseToHead();
                assertThat(r.status).as("HEAD %s", target[0]).isEqualTo(getStatus);
                if (getStatus == 200) {
                    assertThat(r.header("content-length")).as("HEAD %s states GET's length", target[0]).isEqualTo(getLength);
                }
                Resp next = c.response();
                assertThat(next.statusLine).as("no body after the HEAD answer: the next bytes are the next answer")
                        .startsWith("HTTP/1.1 200");
                assertThat(next.body()).contains("ok");
            }
        }
    }

    /** A known path with a method it does not take: 405 naming the ones it does, in Allow and the message. */
    @Test
    void aKnownPathWithAnotherMethodIs405WithAllow() throws Exception {
        for (String[] c : new String[][] {{"PUT", "/api/keys", "GET, HEAD, POST"}, {"GET", CHAT, "POST"}, {"PATCH", "/healthz", "GET, HEAD"}}) {
            try (Raw raw = raw()) {
                raw.send(head(c[0], c[1], "authorization: Bearer " + h.adminKey, "content-length: 0"));
                Resp r = raw.response();
                assertThat(r.status).as("%s %s", c[0], c[1]).isEqualTo(405);
                assertThat(r.header("allow")).isEqualTo(c[2]);
                JsonNode error = GatewayHarness.JSON.readTree(r.body()).path("error");
                assertThat(error.path("code").asText()).isEqualTo("method_not_allowed");
                assertThat(error.path("message").asText()).contains("it takes " + c[2]);
                assertNothingMore(raw, r);
            }
        }
    }

    // ---- controls: the smuggled request would run, were it ever parsed as a request ----

    /** Sent as a request of its own, the smuggled request creates its key: every "never run" below means something. */
    @Test
    void theSmuggledRequestRunsWhenSentOnItsOwn() throws Exception {
        String user = "control-alone";
        try (Raw c = raw()) {
            c.send(smuggled(user));
            Resp r = c.response();
            assertThat(r.status).as("%s", r).isEqualTo(201);
        }
        Thread.sleep(200);
        assertThat(h.carapace.keyAdmin().list()).anyMatch(k -> user.equals(k.user()));
        assertThat(captured()).anyMatch(e -> e.getLoggerName().equals("carapace.access")
                && e.getFormattedMessage().contains("/api/keys 201"));
    }

    /** Pipelined after a well-framed request, it is answered in turn: the server does read a second request. */
    @Test
    void aWellFramedPipelinedRequestIsAnswered() throws Exception {
        String user = "control-pipelined";
        try (Raw c = raw()) {
            c.send(concat(head("GET", "/healthz"), smuggled(user)));
            assertThat(c.response().status).isEqualTo(200);
            assertThat(c.response().status).isEqualTo(201);
        }
        assertThat(h.carapace.keyAdmin().list()).anyMatch(k -> user.equals(k.user()));
    }

    // ---- more framing the RFC says to refuse ----

    /** TE.CL: Transfer-Encoding before Content-Length is the same error in the other order. */
    @Test
    void transferEncodingBeforeContentLengthIsRejectedAndClosed() throws Exception {
        String user = "smuggled-te-cl";
        byte[] smuggled = smuggled(user);
        // Content-Length covers the smuggled request; chunked ends the body before it
        byte[] rest = concat("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII), smuggled);
        refusedAndClosed(user, concat(head("POST", CHAT, "content-type: application/json",
                "authorization: Bearer " + h.memberKey, "transfer-encoding: chunked", "content-length: " + rest.length), rest),
                "a request framed by both Transfer-Encoding and Content-Length", 400);
    }

    /** chunked twice ("chunked, chunked" once the lines are combined): chunked must be applied once (RFC 9112 6.1). */
    @Test
    void transferEncodingChunkedTwiceIsRejectedAndClosed() throws Exception {
        String user = "smuggled-te-twice";
        // decoded once, the body is the smuggled request; decoded twice, garbage
        byte[] body = concat(chunk(smuggled(user)), "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        refusedAndClosed(user, concat(head("POST", CHAT, "content-type: application/json",
                "authorization: Bearer " + h.memberKey, "transfer-encoding: chunked", "transfer-encoding: chunked"), body),
                "chunked applied twice", 400, 501);
    }

    @Test
    void transferEncodingChunkedThenIdentityIsRejectedAndClosed() throws Exception {
        String user = "smuggled-te-chunked-identity";
        refusedAndClosed(user, concat(head("POST", CHAT, "content-type: application/json",
                "authorization: Bearer " + h.memberKey, "transfer-encoding: chunked, identity"), smuggled(user)),
                "chunked is not the final coding", 400, 501);
    }

    /**
     * Content-Length values that are not 1*DIGIT: the framing is invalid, so 400 and close (RFC 9112 6.3 item 5).
     * Each declares the smuggled request's length, so a parser reading the value leniently (as 0, or skipping the
     * header) would read the smuggled request next.
     */
    @Test
    void contentLengthWithAPlusSignIsRejectedAndClosed() throws Exception {
        badContentLength("smuggled-cl-plus", n -> "+" + n);
    }

    @Test
    void contentLengthInHexIsRejectedAndClosed() throws Exception {
        badContentLength("smuggled-cl-hex", n -> "0x" + Integer.toHexString(n));
    }

    @Test
    void contentLengthListOfDifferentValuesIsRejectedAndClosed() throws Exception {
        badContentLength("smuggled-cl-list", n -> "0, " + n);
    }

    @Test
    void emptyContentLengthIsRejectedAndClosed() throws Exception {
        badContentLength("smuggled-cl-empty", n -> "");
    }

    @Test
    void contentLengthWithATrailingLetterIsRejectedAndClosed() throws Exception {
        badContentLength("smuggled-cl-letter", n -> "0a");
    }

    void badContentLength(String user, java.util.function.IntFunction<String> value) throws Exception {
        byte[] smuggled = smuggled(user);
        refusedAndClosed(user, concat(head("POST", CHAT, "content-type: application/json",
                "authorization: Bearer " + h.memberKey, "content-length: " + value.apply(smuggled.length)), smuggled),
                "an invalid Content-Length", 400);
    }

    /**
     * "2, 2": RFC 9110 8.6 lets a recipient read a list of identical values as that value, or refuse it. Either is
     * safe, as both readings agree on where the body ends; whatever follows is then a request of its own.
     */
    @Test
    void contentLengthListOfEqualValuesIsReadAsOneValueOrRefused() throws Exception {
        try (Raw c = raw()) {
            c.send(concat(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "content-length: 2, 2"), "{}".getBytes(StandardCharsets.US_ASCII)));
            Resp r = c.response();
            assertApiError(r, 400, null);   // the framing refused, or the body {} refused (no model)
            assertNothingMore(c, r);
        }
        assertNoStackTraces();
    }

    /** A Content-Length past any long: refused as invalid (400) or too large (413), and closed. */
    @Test
    void contentLengthOfTwentyDigitsIsRefusedAndClosed() throws Exception {
        String user = "smuggled-cl-overflow";
        refusedAndClosed(user, concat(head("POST", CHAT, "content-type: application/json",
                "authorization: Bearer " + h.memberKey, "content-length: 18446744073709551617"), smuggled(user)),
                "a Content-Length that overflows", 400, 413);
    }

    /**
     * "Content-Length : n": whitespace between a field name and the colon must be refused with 400 (RFC 9112 5.1);
     * a parser that drops the field reads the smuggled request as the next one.
     */
    @Test
    void whitespaceBeforeTheColonIsRejectedAndClosed() throws Exception {
        String user = "smuggled-space-colon";
        byte[] smuggled = smuggled(user);
        refusedAndClosed(user, concat(head("POST", CHAT, "content-type: application/json",
                "authorization: Bearer " + h.memberKey, "content-length : " + smuggled.length), smuggled),
                "whitespace before a header's colon", 400);
    }

    /**
     * obs-fold: a header line starting with a space continues the previous one. RFC 9112 5.2 allows refusing it
     * (400) or unfolding it; here it would hide Transfer-Encoding behind a Content-Length, so refusing is asked for.
     */
    @Test
    void obsFoldedHeaderIsRejectedAndClosed() throws Exception {
        String user = "smuggled-obs-fold";
        byte[] rest = concat("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII), smuggled(user));
        refusedAndClosed(user, concat(head("POST", CHAT, "content-type: application/json",
                "authorization: Bearer " + h.memberKey, "content-length: " + rest.length, "x-note: a",
                " transfer-encoding: chunked"), rest), "an obs-folded header line", 400);
    }

    /** NUL in a field value: invalid (RFC 9110 5.5); refused rather than passed on to a route. */
    @Test
    void nulInAHeaderIsRejectedAndClosed() throws Exception {
        String user = "smuggled-nul";
        byte[] smuggled = smuggled(user);
        refusedAndClosed(user, concat(head("POST", CHAT, "content-type: application/json",
                "authorization: Bearer " + h.memberKey, "x-note: a\0b", "content-length: 0"), smuggled),
                "a NUL in a header", 400);
    }

    /**
     * A bare CR ends a header line for some parsers and not others: "x-note: a CR content-length: 0". Invalid (RFC
     * 9112 2.2); a parser splitting on it reads no body and runs the smuggled request.
     */
    @Test
    void bareCrInAHeaderIsRejectedAndClosed() throws Exception {
        String user = "smuggled-bare-cr";
        byte[] smuggled = smuggled(user);
        refusedAndClosed(user, concat(head("POST", CHAT, "content-type: application/json",
                "authorization: Bearer " + h.memberKey, "content-length: " + smuggled.length + "\rx-note: a"), smuggled),
                "a bare CR in a header", 400);
    }

    /**
     * A bare LF inside a header line: a proxy that ends lines only at CRLF forwards "x-note: a LF content-length: N"
     * as one harmless header; a parser that also ends them at LF reads a body the proxy never framed.
     */
    @Test
    void bareLfInAHeaderIsRejectedAndClosed() throws Exception {
        String user = "smuggled-bare-lf";
        byte[] smuggled = smuggled(user);
        refusedAndClosed(user, concat(head("POST", CHAT, "content-type: application/json",
                "authorization: Bearer " + h.memberKey, "x-note: a\ncontent-length: " + smuggled.length), smuggled),
                "a bare LF in a header", 400);
    }

    /** A head whose every line ends in a bare LF: refused, not read as a request. */
    @Test
    void headWithBareLfLineEndsIsRejectedAndClosed() throws Exception {
        try (Raw c = raw()) {
            c.send("GET /healthz HTTP/1.1\nhost: localhost\n\n".getBytes(StandardCharsets.US_ASCII));
            Resp r = c.response();
            assertApiError(r, 400, null);
            assertClosed(c, "a head with bare LF line ends");
        }
        assertNoStackTraces();
    }

    /** A second Host header, or none on HTTP/1.1: 400 (RFC 9112 3.2). */
    @Test
    void twoHostHeadersAreRejected() throws Exception {
        try (Raw c = raw()) {
            c.send(head("GET", "/healthz", "host: other"));   // head() already sends one
            Resp r = c.response();
            assertApiError(r, 400, null);
            assertClosed(c, "two Host headers");
        }
    }

    @Test
    void http11WithoutHostIsRejected() throws Exception {
        try (Raw c = raw()) {
            c.send("GET /healthz HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            Resp r = c.response();
            assertApiError(r, 400, null);
            assertClosed(c, "no Host header");
        }
    }

    /**
     * HTTP/1.0 has no chunked coding: a 1.0 request with Transfer-Encoding has faulty framing, and the connection
     * must close after it (RFC 9112 6.1), even if it asked for keep-alive. What follows its chunks is never a request.
     */
    @Test
    void http10WithTransferEncodingClosesTheConnection() throws Exception {
        String user = "smuggled-http10-te";
        byte[] json = "{}".getBytes(StandardCharsets.US_ASCII);
        try (Raw c = raw()) {
            c.send(concat(("POST " + CHAT + " HTTP/1.0\r\nhost: x\r\nconnection: keep-alive\r\ncontent-type: application/json\r\n"
                    + "authorization: Bearer " + h.memberKey + "\r\ntransfer-encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII),
                    chunk(json), "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII), smuggled(user)));
            Resp r = c.response();
            assertApiError(r, 400, null);   // refused framing, or the body {} refused: either way a 400
            assertClosed(c, "an HTTP/1.0 request with Transfer-Encoding");
        }
        assertNotRun(user);
    }

    /**
     * The same, when the request's URI is one Jetty itself refuses (a fragment, an encoded slash, an empty segment,
     * userinfo, a host differing from Host, a byte not UTF-8, asterisk-form): its 400 came from the server's error
     * handler, not from a route, kept the connection, skipped the chunks and ran the request after them.
     */
    @Test
    void http10ChunkedRequestWithAUriJettyRefusesDoesNotSmuggleTheNextOne() throws Exception {
        String[] targets = {"/healthz#f", "/a%2fb", "//x", "http://u@x/healthz", "http://other/healthz", "/v1/\u00ff", "*"};
        for (int i = 0; i < targets.length; i++) {
            String user = "smuggled-jetty-400-" + i;
            for (String method : List.of("POST", "GET")) {
                try (Raw c = raw()) {
                    c.send(concat((method + " " + targets[i] + " HTTP/1.0\r\nhost: x\r\nconnection: keep-alive\r\n"
                                    + "transfer-encoding: chunked\r\n\r\n0\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1),
                            smuggled(user)));
                    Resp r = c.response();
                    assertThat(r.status()).as("%s %s", method, targets[i]).isBetween(400, 499);
                    assertThat(r.body()).as("%s %s", method, targets[i]).contains("\"error\"");
                    assertClosed(c, method + " " + targets[i] + " HTTP/1.0 with Transfer-Encoding, refused by Jetty");
                }
            }
            assertNotRun(user);
        }
    }

    // ---- request lines ----

    /**
     * A request line that is not HTTP: 400, closed. A line of two words has no version, which Jetty reads as HTTP/0.9
     * and refuses with 505: as safe (refused unread, in the API shape, closed), so either status is accepted.
     */
    @Test
    void garbageRequestLineIsRefusedInTheApiShape() throws Exception {
        for (String line : List.of("HELLO", "GET /healthz HTTP/1.1 extra", "GET", "/healthz HTTP/1.1",
                "GET /health\0z HTTP/1.1", "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u00fc\u0003\u0003")) {
            try (Raw c = raw()) {
                c.send((line + "\r\nhost: x\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                Resp r = c.response();
                assertThat(r.status).as("%s: %s", line.replace("\0", "\\0"), r).isIn(400, 505);
                assertApiError(r, r.status, null);
                assertClosed(c, "a request line that is not HTTP: " + line.replace("\0", "\\0"));
            }
        }
        assertNoStackTraces();
    }

    /** Versions other than 1.0 and 1.1 on this port: 505 (or 400) in the API shape, and closed. */
    @Test
    void http2VersionIsRefusedInTheApiShape() throws Exception {
        for (String version : List.of("HTTP/2.0", "HTTP/3.0", "HTTP/0.9", "HTTP/1.1x", "HTTPS/1.1")) {
            try (Raw c = raw()) {
                c.send(("GET /healthz " + version + "\r\nhost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                Resp r = c.response();
                assertThat(r.status).as("%s: %s", version, r).isIn(400, 505);
                assertApiError(r, r.status, null);
                assertClosed(c, "version " + version);
            }
        }
        assertNoStackTraces();
    }

    /** An HTTP/0.9 request (no version at all): refused in the API shape, not served. */
    @Test
    void http09RequestIsRefused() throws Exception {
        try (Raw c = raw()) {
            c.send("GET /healthz\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            Resp r = c.response();
            assertThat(r.status).as("%s", r).isIn(400, 505);
            assertApiError(r, r.status, null);
            assertClosed(c, "an HTTP/0.9 request");
        }
    }

    /** HTTP/2 with prior knowledge on a port that speaks HTTP/1.1 only: refused, closed. */
    @Test
    void http2PrefaceIsRefused() throws Exception {
        try (Raw c = raw()) {
            c.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            Resp r = c.response();
            assertThat(r.status).as("%s", r).isIn(400, 505);
            assertApiError(r, r.status, null);
            assertClosed(c, "an HTTP/2 preface");
        }
    }

    // ---- Expect: 100-continue ----

    /**
     * A declared body over the limit with Expect: 100-continue is refused at once, without a 100. The client may or
     * may not send the body then, so the server cannot know where the next request starts: it must close, and the
     * smuggled request the client sent right away (inside the declared body) must never run.
     */
    @Test
    void expectContinueOverTheLimitIs413AndClosed() throws Exception {
        String user = "smuggled-expect-413";
        try (Raw c = raw()) {
            c.send(concat(head("POST", CHAT, "content-type: application/json", "authorization: Bearer " + h.memberKey,
                    "content-length: 1048576", "expect: 100-continue"), smuggled(user)));
            Resp r = c.response();
            assertApiError(r, 413, "request_too_large");
            assertClosed(c, "a 413 to a request expecting 100-continue");
        }
        assertNotRun(user);
    }

    /**
     * The same when the route refuses before reading (no key: 401) while the client waits for 100 Continue: the
     * answer says close, and the body the client may still send after it is never read as a request.
     */
    @Test
    void expectContinueRefusedBeforeTheBodyIsClosed() throws Exception {
        String user = "smuggled-expect-401";
        byte[] smuggled = smuggled(user);
        try (Raw c = raw()) {
            c.send(head("POST", CHAT, "content-type: application/json", "content-length: " + smuggled.length,
                    "expect: 100-continue"));
            Resp r = c.response();
            assertApiError(r, 401, null);
            c.send(smuggled);   // the client sends its body anyway
            assertClosed(c, "a refusal to a request expecting 100-continue, its body not sent");
        }
        assertNotRun(user);
    }

    /**
     * A client may send the body without waiting for 100 Continue (RFC 9110 10.1.1). When all of it is there by the
     * time of the refusal, the server skips it by its Content-Length and may keep the connection: the body is still
     * never a request, and the next request on the connection is read where the body ends.
     */
    @Test
    void expectContinueWithTheBodySentAtOnceIsSkippedByItsLength() throws Exception {
        String user = "smuggled-expect-sent";
        byte[] smuggled = smuggled(user);
        try (Raw c = raw()) {
            c.send(concat(head("POST", CHAT, "content-type: application/json", "content-length: " + smuggled.length,
                    "expect: 100-continue"), smuggled));
            Resp r = c.response();
            assertApiError(r, 401, null);
            if (!"close".equalsIgnoreCase(r.header("connection"))) {
                c.send(head("GET", "/healthz"));
                assertThat(c.response().status).as("the next request, after the body").isEqualTo(200);
            }
            assertNothingMore(c, r);
        }
        assertNotRun(user);
    }

    // ---- WebSocket ----

    /** An upgrade without a key is an API error like any other: 401 in JSON, no 101, no frames. */
    @Test
    void websocketUpgradeWithoutAKeyIs401Json() throws Exception {
        try (Raw c = raw()) {
            c.send(head("GET", "/api/sessions/x/ws", "upgrade: websocket", "connection: Upgrade",
                    "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version: 13"));
            Resp r = c.response();
            assertApiError(r, 401, null);
            assertNothingMore(c, r);
        }
    }

    // ---- the API's shape on errors the HTTP layer answers ----

    /** Past the header limit (16 KiB) the parser itself refuses the URI: still 414 in the API shape. */
    @Test
    void uriPastTheHeaderLimitIs414InTheApiShape() throws Exception {
        try (Raw c = raw()) {
            c.send(head("GET", "/v1/models/" + "a".repeat(20_000), "authorization: Bearer " + h.memberKey));
            Resp r = c.response();
            assertApiError(r, 414, null);
            assertClosed(c, "after a 414 the rest of the request is unread");
        }
    }

    @Test
    void oversizedHeadersOnMessagesAre431InTheAnthropicShape() throws Exception {
        try (Raw c = raw()) {
            c.send(head("POST", "/v1/messages", "anthropic-version: 2023-06-01", "x-api-key: " + h.memberKey,
                    "x-big: " + "b".repeat(20_000)));
            Resp r = c.response();
            assertAnthropicError(r, 431);
            assertClosed(c, "after a 431 the rest of the request is unread");
        }
    }

    @Test
    void badChunkOnMessagesIs400InTheAnthropicShape() throws Exception {
        String user = "smuggled-messages-chunk";
        try (Raw c = raw()) {
            c.send(concat(head("POST", "/v1/messages", "content-type: application/json", "anthropic-version: 2023-06-01",
                    "x-api-key: " + h.memberKey, "transfer-encoding: chunked"),
                    "zz\r\nhello\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII), smuggled(user)));
            Resp r = c.response();
            assertAnthropicError(r, 400);
            assertClosed(c, "an invalid chunk size");
        }
        assertNotRun(user);
        assertNoStackTraces();
    }

    @Test
    void oversizedUriOnMessagesIs414InTheAnthropicShape() throws Exception {
        try (Raw c = raw()) {
            c.send(head("POST", "/v1/messages/" + "a".repeat(5000), "anthropic-version: 2023-06-01"));
            Resp r = c.response();
            assertAnthropicError(r, 414);
            assertClosed(c, "after a 414 the rest of the request is unread");
        }
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
        List<String> fields = new ArrayList<>();
        e.fieldNames().forEachRemaining(fields::add);
        assertThat(fields).as("OpenAI's error fields; %s", r).containsExactlyInAnyOrder("message", "type", "param", "code");
        assertThat(e.path("message").asText()).as("error.message; %s", r).isNotBlank()
                .doesNotContain("null");   // a 414 and a 431 once said "...too long: null."
        assertThat(e.path("type").asText()).as("error.type; %s", r).isNotBlank();
        for (String f : MalformedRequestCorpusTest.INTERNALS) assertThat(r.body()).doesNotContain(f);
        if (code != null) assertThat(e.path("code").asText()).isEqualTo(code);
    }

    /**
     * Sends {@code bytes}, a request a strict parser refuses and a lenient one reads a smuggled request from: one
     * of {@code statuses} in the API shape, the connection closed, the smuggled request never run.
     */
    void refusedAndClosed(String user, byte[] bytes, String why, int... statuses) throws Exception {
        try (Raw c = raw()) {
            c.send(bytes);
            Resp r = c.response();
            assertThat(r.status).as("status; %s", r).isIn(java.util.Arrays.stream(statuses).boxed().toArray());
            assertApiError(r, r.status, null);
            assertClosed(c, why);
        }
        assertNotRun(user);
        assertNoStackTraces();
        assertThat(accessLines()).as("one access line: the refusal, and no hang-up line after it").hasSize(1)
                .allMatch(l -> l.matches("\\S+ \\S+ [45]\\d\\d .*"));
    }

    /** The access lines logged during the test. */
    List<String> accessLines() {
        return captured().stream().filter(e -> e.getLoggerName().equals("carapace.access"))
                .map(ILoggingEvent::getFormattedMessage).toList();
    }

    /** An error in Anthropic's shape: {"type":"error","error":{"type","message"}}. */
    static void assertAnthropicError(Resp r, int status) {
        assertThat(r.status).as("status; %s", r).isEqualTo(status);
        assertThat(r.header("content-type")).as("content-type; %s", r).startsWith("application/json");
        JsonNode body;
        try {
            body = GatewayHarness.JSON.readTree(r.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + r, e);
        }
        assertThat(body.path("type").asText()).as("Anthropic's shape; %s", r).isEqualTo("error");
        assertThat(body.path("error").path("type").asText()).as("error.type; %s", r).isNotBlank();
        assertThat(body.path("error").path("message").asText()).as("error.message; %s", r).isNotBlank();
        for (String f : MalformedRequestCorpusTest.INTERNALS) assertThat(r.body()).doesNotContain(f);
    }

    /**
     * Closed by the server, with no bytes after the first response; and that response said so (an HTTP/1.1 answer
     * after which the server closes says {@code Connection: close}, or a client reuses the connection and loses its
     * next request: RFC 9112 9.6).
     */
    static void assertClosed(Raw c, String why) throws IOException {
        After a = c.after(AFTER_MS);
        assertThat(a.data()).as("no second response on the connection (%s)", why).isNull();
        assertThat(a.closed()).as("the server closes the connection within %d ms: %s", AFTER_MS, why).isTrue();
        Resp r = c.last;
        if (r != null && r.statusLine.startsWith("HTTP/1.1")) {
            assertThat(r.header("connection")).as("the answer before the close says so (%s); %s", why, r)
                    .isEqualToIgnoringCase("close");
        }
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

    /**
     * Every event logged during the test is written as exactly one line of the log, with no control character in
     * it: what a reader or a log shipper sees, through logback.xml's own layout. Returns the lines with {@code mark}.
     */
    List<String> assertLogsEscaped(String mark) throws InterruptedException {
        Thread.sleep(200);
        List<String> lines = captured().stream().map(layout).toList();
        assertThat(lines).as("something was logged").isNotEmpty();
        for (String line : lines) {
            assertThat(line).endsWith(System.lineSeparator());
            String text = line.substring(0, line.length() - System.lineSeparator().length());
            assertThat(text.chars().filter(ch -> ch < 0x20 || ch == 0x7f).count())
                    .as("control characters in log line %s", text.replace("\n", "\\n").replace("\0", "\\0")).isZero();
        }
        return lines.stream().filter(l -> l.contains(mark)).toList();
    }

    /**
     * The encoder logback.xml gives the console appender, built in {@code context}, checked to escape a newline.
     */
    static Function<ILoggingEvent, String> logbackLayout(LoggerContext context) throws IOException, ReflectiveOperationException {
        String xml;
        try (InputStream in = HttpFramingCorpusTest.class.getResourceAsStream("/logback.xml")) {
            xml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Matcher m = Pattern.compile("<encoder class=\"([^\"]+)\"").matcher(xml);
        assertThat(m.find()).as("logback.xml names its encoder").isTrue();
        @SuppressWarnings("unchecked")
        Encoder<ILoggingEvent> encoder = (Encoder<ILoggingEvent>) Class.forName(m.group(1)).getConstructor().newInstance();
        encoder.setContext(context);
        encoder.start();
        Function<ILoggingEvent, String> layout = e -> new String(encoder.encode(e), StandardCharsets.UTF_8);
        String probe = layout.apply(new LoggingEvent(HttpFramingCorpusTest.class.getName(),
                context.getLogger("probe"), Level.INFO, "one\ntwo", null, null));
        assertThat(probe).as("logback.xml's encoder escapes control characters").contains("one\\ntwo")
                .endsWith("\n").hasLineCount(1);
        return layout;
    }

    List<ILoggingEvent> captured() {
        return logs.events();
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

    /** What came after a response: the close (a reset is one too), silence (an open connection), or more bytes. */
    record After(boolean closed, String data, boolean reset) {
        After(boolean closed, String data) {
            this(closed, data, false);
        }
    }

    /** One client connection; every read times out. */
    static final class Raw implements AutoCloseable {
        final Socket s = new Socket();
        final InputStream in;
        final OutputStream out;
        /** The last response read. */
        Resp last;

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
            return response(false);
        }

        /** The answer to a HEAD request: its head only, whatever length it states (RFC 9110 9.3.2). */
        Resp responseToHead() throws IOException {
            return response(true);
        }

        private Resp response(boolean toHead) throws IOException {
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
            if (toHead) {
                body = new byte[0];
            } else if (headers.containsKey("content-length")) {
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
            last = new Resp(statusLine, status, headers, body);
            return last;
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
                return new After(true, got.size() == 0 ? null : got.toString(StandardCharsets.ISO_8859_1), true);
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
