package dev.carapace.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.carapace.server.HttpFramingCorpusTest.Raw;
import dev.carapace.server.HttpFramingCorpusTest.Resp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.carapace.server.HttpFramingCorpusTest.assertApiError;
import static dev.carapace.server.HttpFramingCorpusTest.head;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The front door attacked where {@link HttpFramingCorpusTest} does not look: client mistakes Jetty reports as
 * exceptions inside a route (a malformed query, a WebSocket upgrade without its key, a malformed WebSocket key), and
 * connection-slot exhaustion by a client that is slow <em>after</em> its request head (a body that dribbles in),
 * which neither the header deadline nor the keep-alive sweep of {@code ConnectionWatch} covers: both skip a
 * connection whose route is running, and only the 5-minute idle timeout is left.
 *
 * <p>The gateway here has a cap of 4 client connections, so that exhausting it takes 4 sockets; the same holds for
 * any cap, at one socket per slot.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FrontDoorAttackTest {

    static final int CAP = 4;
    /** How long a fresh client may wait for /healthz while attackers hold the slots: the header deadline and a half. */
    static final long SERVED_WITHIN_MS = 15_000;

    @TempDir static Path dir;
    GatewayHarness h;
    CapturedLogs logs;
    final List<Raw> attackers = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        logs = new CapturedLogs();
        Path ws = Files.createDirectories(dir.resolve("ws"));
        Files.writeString(ws.resolve("AGENTS.md"), "You help.");
        h = new GatewayHarness(dir.resolve("data"), """
                server:
                  max_body_bytes: 4KiB
                  max_connections: %d
                agents:
                  helper:
                    workspace: %s
                    model: m-solo
                    tools: [read]
                    owner: {team: platform}
                """.formatted(CAP, ws));
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

    /** Lets go of every attacking socket, then waits until the gateway serves again, so the next test starts clean. */
    @AfterEach
    void releaseAttackers() throws Exception {
        for (Raw c : attackers) c.close();
        attackers.clear();
        long end = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < end) {
            try (Raw c = raw()) {
                c.send(head("GET", "/healthz"));
                if (c.response().status() == 200) return;
            } catch (IOException | AssertionError notYet) {
                Thread.sleep(200);
            }
        }
    }

    // ---- client mistakes that end as 500s ----

    /**
     * A query with a malformed percent-escape ({@code %zz}, a lone {@code %}, or bytes that are not UTF-8) is the
     * client's mistake. Jetty's query parser throws {@code HttpException} (400, "Bad query"), which the route frame
     * catches as an unexpected RuntimeException: a 500 with {@code x-should-retry: true} (so SDKs retry it) and an
     * ERROR with a stack trace in the gateway's log, per request, for any key holder.
     */
    @Test
    void aMalformedQueryIsA400NotA500() throws Exception {
        for (String query : List.of("a=%zz", "a=%ff", "a=%", "%zz")) {
            for (String path : List.of("/api/agents", "/api/spend", "/api/audit")) {
                try (Raw c = raw()) {
                    c.send(head("GET", path + "?" + query, "authorization: Bearer " + h.adminKey));
                    Resp r = c.response();
                    assertApiError(r, 400, null);
                    assertThat(r.header("x-should-retry")).as("a client mistake is not retryable; %s", r)
                            .isNotEqualToIgnoringCase("true");
                }
            }
        }
        assertNoStackTraces();
    }

    /**
     * A WebSocket upgrade without {@code Sec-WebSocket-Key}: Jetty's handshake throws {@code HttpException} (400,
     * "Missing request header 'Sec-WebSocket-Key'"), which the route frame turns into a 500 with a stack trace.
     */
    @Test
    void aWebSocketUpgradeWithoutItsKeyIsA400NotA500() throws Exception {
        try (Raw c = raw()) {
            c.send(head("GET", "/api/sessions/agent:helper:main/ws", "authorization: Bearer " + h.memberKey,
                    "upgrade: websocket", "connection: upgrade", "sec-websocket-version: 13"));
            Resp r = c.response();
            assertApiError(r, 400, null);
            assertThat(r.header("x-should-retry")).as("%s", r).isNotEqualToIgnoringCase("true");
        }
        assertNoStackTraces();
    }

    /**
     * RFC 6455 4.2.1: Sec-WebSocket-Key is the base64 of 16 bytes, and a handshake that does not match is answered
     * with an error such as 400. A key of "x" is accepted and the connection switched (101).
     */
    @Test
    void aWebSocketKeyThatIsNotSixteenBytesIsRefused() throws Exception {
        try (Raw c = raw()) {
            c.send(head("GET", "/api/sessions/agent:helper:main/ws", "authorization: Bearer " + h.memberKey,
                    "upgrade: websocket", "connection: upgrade", "sec-websocket-key: x", "sec-websocket-version: 13"));
            Resp r = c.response();
            assertThat(r.status()).as("a malformed Sec-WebSocket-Key is no handshake; %s", r).isEqualTo(400);
        }
    }

    // ---- the connection cap, exhausted after the head ----

    /**
     * Slow body (R.U.D.Y.), with any member key: each attacking connection declares a 1,000-byte body on a route that
     * reads it (chat completions authenticates, then reads) and sends one byte every 2 s. Each byte is progress, so
     * the idle timeout never fires; the route is running, so ConnectionWatch never looks; the body is under the size
     * limit, so nothing refuses it. At this pace a connection is held for over half an hour, and at one byte per
     * idle timeout (5 min), for days. Jetty's remedy is a minimum request data rate, which is not set.
     */
    @Test
    void slowBodiesCannotHoldEverySlot() throws Exception {
        for (int i = 0; i < CAP; i++) {
            Raw c = raw();
            attackers.add(c);
            c.send(concat(head("POST", "/v1/chat/completions", "authorization: Bearer " + h.memberKey,
                    "content-type: application/json", "content-length: 1000"), "{".getBytes(StandardCharsets.US_ASCII)));
        }
        Thread dribble = Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    Thread.sleep(2000);
                    for (Raw c : attackers) c.send(" ".getBytes(StandardCharsets.US_ASCII));
                }
            } catch (InterruptedException stop) {
                // the test is over
            }
        });
        try {
            Thread.sleep(1000);
            assertAFreshClientIsServed("while " + CAP + " clients dribble their bodies at 0.5 byte/s");
        } finally {
            dribble.interrupt();
        }
    }

    // ---- helpers ----

    /** A new client connects and asks for /healthz: it must be answered within {@link #SERVED_WITHIN_MS}. */
    void assertAFreshClientIsServed(String why) throws IOException {
        long t0 = System.nanoTime();
        try (Raw c = raw()) {
            c.s.setSoTimeout((int) SERVED_WITHIN_MS);
            c.send(head("GET", "/healthz"));
            int b;
            try {
                b = c.in.read();   // the first byte of the answer
            } catch (java.net.SocketTimeoutException e) {
                b = -2;
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(b).as("a fresh client is answered within %d ms %s (waited %d ms)", SERVED_WITHIN_MS, why, ms)
                    .isEqualTo('H');
            assertThat(ms).as("answered in time %s", why).isLessThanOrEqualTo(SERVED_WITHIN_MS);
        }
    }

    void assertNoStackTraces() throws InterruptedException {
        Thread.sleep(200);
        List<ILoggingEvent> events = logs.events();
        assertThat(events).as("no stack trace logged for a client's mistake")
                .noneMatch(e -> e.getThrowableProxy() != null && e.getLevel().isGreaterOrEqual(Level.WARN));
        assertThat(events).as("no 500 in the access log for a client's mistake")
                .noneMatch(e -> e.getLoggerName().equals("carapace.access") && e.getFormattedMessage().matches("\\S+ \\S+ 500 .*"));
    }

    Raw raw() throws IOException {
        return new Raw(h.carapace.port());
    }

    static byte[] concat(byte[]... parts) {
        return HttpFramingCorpusTest.concat(parts);
    }
}
