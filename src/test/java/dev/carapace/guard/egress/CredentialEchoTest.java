package dev.carapace.guard.egress;

import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.NetworkRules;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An allowed server that echoes the request back (headers and body, as httpbin's /anything does) must not hand the
 * credential the proxy injected to the agent: not in headers, not in a Content-Length body, not split across chunks,
 * not trickled byte by byte, not URL-encoded or Base64, not through web_fetch. Each masking is audited by name.
 */
class CredentialEchoTest {

    private static final String SECRET = "gh0_S3cr3t/Token+Value=9f8e7d";
    private static final String MASK = "*".repeat(SECRET.length());
    private ProxyFixture fx;

    @AfterEach
    void stop() {
        if (fx != null) fx.close();
    }

    private static NetworkRules injecting(String template) {
        return r -> new NetworkRules.NetworkDecision(NetworkRules.Verdict.ALLOW, "api", "allowed", false,
                List.of("127.0.0.0/8"), List.of(new NetworkRules.Injection("Authorization", template, "GH_TOKEN")));
    }

    private ProxyFixture proxy(String template, String secret) throws Exception {
        SecretStore store = SecretStore.of(Map.of("GH_TOKEN", "env:CARAPACE_TEST_GH"),
                name -> name.equals("CARAPACE_TEST_GH") ? secret : null);
        return new ProxyFixture(injecting(template), store, Set.of(443)).resolving("api.test", "127.0.0.1");
    }

    /** The request as the server got it: "Name: value" lines, then the body. */
    private static String echo(TestUpstream.Received r) {
        StringBuilder b = new StringBuilder(r.method() + " " + r.target() + "\n");
        for (HttpMessages.Header h : r.headers()) b.append(h.name()).append(": ").append(h.value()).append('\n');
        return b.append('\n').append(r.text()).toString();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Raw bytes the client gets for one request. */
    private String raw(int port, String path) throws Exception {
        return fx.exchange("GET http://api.test:" + port + path + " HTTP/1.1\r\nAccept-Encoding: gzip, br\r\n"
                + "Range: bytes=0-9\r\nConnection: close\r\n\r\n");
    }

    private void assertScrubAudited(int times) {
        List<AuditEvent> scrubs = fx.audit.stream().filter(e -> e.outcome().equals("scrub")).toList();
        assertThat(scrubs).hasSize(1);
        AuditEvent e = scrubs.getFirst();
        assertThat(e.rule()).isEqualTo("egress:scrub");
        assertThat(e.layer()).isEqualTo("network");
        assertThat(e.reason()).contains("'GH_TOKEN'").contains("(" + times + " time");
        assertThat(fx.audit).allSatisfy(a -> assertThat(a.toString()).doesNotContain(SECRET)
                .doesNotContain("S3cr3t"));
    }

    @Test
    void headersAndAContentLengthBodyComeBackMaskedAndWellFramed() throws Exception {
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            up.answering((r, out) -> {
                String auth = r.header("authorization");
                byte[] body = echo(r).getBytes(StandardCharsets.UTF_8);
                out.write(ascii("HTTP/1.1 200 Echo " + auth + "\r\nX-Echo-Authorization: " + auth
                        + "\r\nContent-Length: " + body.length + "\r\n\r\n"));
                out.write(body);
            });
            fx = proxy("Bearer {secret}", SECRET);
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), fx.port())) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(ascii("GET http://api.test:" + up.port() + "/anything HTTP/1.1\r\n"
                        + "Accept-Encoding: gzip\r\nRange: bytes=7-12\r\n\r\n"));
                InputStream in = new BufferedInputStream(s.getInputStream());
                ProxyFixture.Reply reply = ProxyFixture.read(in, "GET");   // well framed: exactly Content-Length
                assertThat(reply.status()).isEqualTo(200);
                assertThat(reply.head().reason()).isEqualTo("Echo Bearer " + MASK);
                assertThat(reply.head().header("x-echo-authorization")).isEqualTo("Bearer " + MASK);
                assertThat(reply.body()).contains("Authorization: Bearer " + MASK).doesNotContain(SECRET)
                        .contains("Accept-Encoding: identity").doesNotContain("gzip").doesNotContain("Range");
                assertThat(reply.head().headers()).allSatisfy(h -> assertThat(h.name() + h.value())
                        .doesNotContain(SECRET).doesNotContain("S3cr3t"));
                // the connection stays usable: the framing was kept
                s.getOutputStream().write(ascii("GET http://api.test:" + up.port() + "/again HTTP/1.1\r\n"
                        + "Connection: close\r\n\r\n"));
                assertThat(ProxyFixture.read(in, "GET").body()).startsWith("GET /again").doesNotContain(SECRET);
                assertThat(in.read()).as("closed once the exchange, and its audit, are done").isEqualTo(-1);
            }
            // the server did get the credential, and nothing that would hide it
            assertThat(up.received.getFirst().header("authorization")).isEqualTo("Bearer " + SECRET);
            assertThat(up.received.getFirst().header("range")).isNull();
        }
        List<AuditEvent> scrubs = fx.audit.stream().filter(e -> e.outcome().equals("scrub")).toList();
        assertThat(scrubs).hasSize(2);
        assertThat(scrubs.getFirst().reason()).contains("'GH_TOKEN'").contains("(3 times)");   // reason phrase, header, body
        assertThat(fx.audit).allSatisfy(a -> assertThat(a.toString()).doesNotContain(SECRET).doesNotContain("S3cr3t"));
    }

    @Test
    void aValueSplitAcrossChunksIsCaught() throws Exception {
        CountDownLatch firstChunkSent = new CountDownLatch(1);
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            up.answering((r, out) -> {
                String auth = r.header("authorization");
                int cut = auth.length() - 9;
                String one = "{\"auth\": \"" + auth.substring(0, cut);
                String two = auth.substring(cut) + "\"}";
                out.write(ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + Integer.toHexString(one.length()) + "\r\n" + one + "\r\n"));
                out.flush();
                firstChunkSent.countDown();
                Thread.sleep(200);   // the proxy has read and forwarded what it could of the first chunk
                out.write(ascii(Integer.toHexString(two.length()) + "\r\n" + two + "\r\n0\r\n\r\n"));
            });
            fx = proxy("Bearer {secret}", SECRET);
            String answer = raw(up.port(), "/chunks");
            assertThat(firstChunkSent.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(answer).startsWith("HTTP/1.1 200").contains("Transfer-Encoding: chunked")
                    .doesNotContain(SECRET).doesNotContain("S3cr3t");
            assertThat(dechunk(answer)).isEqualTo("{\"auth\": \"Bearer " + MASK + "\"}");
        }
        assertScrubAudited(1);
    }

    @Test
    void aSlowByteByByteEchoIsCaught() throws Exception {
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            up.answering((r, out) -> {
                out.write(ascii("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"));   // delimited by close
                for (byte b : ("token=" + r.header("authorization").substring(7) + ";").getBytes(StandardCharsets.UTF_8)) {
                    out.write(b);
                    out.flush();
                    Thread.sleep(2);
                }
                throw new EOFException("done: close the connection");
            });
            fx = proxy("Bearer {secret}", SECRET);
            String answer = raw(up.port(), "/slow");
            assertThat(answer).doesNotContain(SECRET).doesNotContain("S3cr3t");
            assertThat(dechunk(answer)).isEqualTo("token=" + MASK + ";");
        }
        assertScrubAudited(1);
    }

    @Test
    void urlEncodedAndBase64EchoesAndABasicCredentialAreCaught() throws Exception {
        String basic = Base64.getEncoder().encodeToString(("robot:" + SECRET).getBytes(StandardCharsets.UTF_8));
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            up.answering((r, out) -> {
                String value = r.header("authorization").substring("Basic ".length());
                String user = new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
                String body = "raw=" + value + "\nuser=" + user + "\nurl=" + URLEncoder.encode(user,
                        StandardCharsets.UTF_8) + "\nb64url=" + Base64.getUrlEncoder().encodeToString(user.getBytes(
                        StandardCharsets.UTF_8)) + "\n";
                out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body));
            });
            fx = proxy("Basic {secret}", basic);
            String answer = raw(up.port(), "/basic");
            assertThat(answer).startsWith("HTTP/1.1 200").doesNotContain(SECRET).doesNotContain("S3cr3t")
                    .doesNotContain(basic).doesNotContain(basic.substring(0, basic.length() - 2))
                    .doesNotContain(URLEncoder.encode(SECRET, StandardCharsets.UTF_8))
                    .contains("user=" + "*".repeat(("robot:" + SECRET).length()));
        }
        assertScrubAudited(4);
    }

    @Test
    void aCompressedAnswerToACredentialedRequestIsRefused() throws Exception {
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            up.answering((r, out) -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4"
                    + "\r\n\r\nxxxx")));
            fx = proxy("Bearer {secret}", SECRET);
            ProxyFixture.Reply reply = fx.request("GET http://api.test:" + up.port() + "/gz HTTP/1.1\r\n"
                    + "Accept-Encoding: gzip\r\n\r\n");
            assertThat(reply.status()).isEqualTo(502);
            assertThat(reply.json().path("rule").asText()).isEqualTo("egress:scrub");
            assertThat(reply.json().path("reason").asText()).contains("compressed");
            assertThat(up.received.getFirst().header("accept-encoding")).isEqualTo("identity");
        }
    }

    @Test
    void webFetchGetsTheEchoMasked() throws Exception {
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            up.answering((r, out) -> {
                byte[] body = echo(r).getBytes(StandardCharsets.UTF_8);
                out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Echo: " + r.header("authorization")
                        + "\r\nContent-Length: " + body.length + "\r\n\r\n"));
                out.write(body);
            });
            fx = proxy("Bearer {secret}", SECRET);
            EgressProxy.Fetched f = fx.proxy.fetch("agent-1", URI.create("http://api.test:" + up.port() + "/anything"),
                    Map.of("Accept-Encoding", "gzip"), 1 << 20, Duration.ofSeconds(5));
            String body = new String(f.body(), StandardCharsets.UTF_8);
            assertThat(body).contains("Authorization: Bearer " + MASK).contains("Accept-Encoding: identity")
                    .doesNotContain(SECRET);
            assertThat(f.headers().get("x-echo")).containsExactly("Bearer " + MASK);
            assertThat(f.headers().toString()).doesNotContain(SECRET);
            // a malformed answer's details could quote the credential: they are withheld
            up.answering((r, out) -> out.write(ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + r.header("authorization").substring(7) + "\r\n")));
            assertThatThrownBy(() -> fx.proxy.fetch("agent-1", URI.create("http://api.test:" + up.port() + "/bad"),
                    Map.of(), 1 << 20, Duration.ofSeconds(5)))
                    .isInstanceOf(BadMessageException.class).hasMessageContaining("withheld")
                    .hasMessageNotContaining("S3cr3t");
        }
        assertScrubAudited(2);
    }

    @Test
    void aResponseWithoutTheValueStillStreamsAtOnce() throws Exception {
        CountDownLatch firstSeen = new CountDownLatch(1);
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            up.answering((r, out) -> {
                out.write(ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n"));
                out.flush();
                assertThat(firstSeen.await(10, TimeUnit.SECONDS)).isTrue();
                out.write(ascii("7\r\nsecond\n\r\n0\r\n\r\n"));
            });
            fx = proxy("Bearer {secret}", SECRET);
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), fx.port())) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(ascii("GET http://api.test:" + up.port() + "/sse HTTP/1.1\r\n"
                        + "Connection: close\r\n\r\n"));
                InputStream in = s.getInputStream();
                ByteArrayOutputStream seen = new ByteArrayOutputStream();
                while (!seen.toString(StandardCharsets.ISO_8859_1).contains("first")) seen.write(in.read());
                firstSeen.countDown();
                assertThat(new String(in.readAllBytes(), StandardCharsets.ISO_8859_1)).contains("second");
            }
        }
        assertThat(fx.audit).noneMatch(e -> e.outcome().equals("scrub"));
    }

    /** The body of a raw response: de-chunked if chunked, else everything after the head. */
    private static String dechunk(String raw) throws Exception {
        int head = raw.indexOf("\r\n\r\n") + 4;
        if (!raw.substring(0, head).contains("Transfer-Encoding: chunked")) return raw.substring(head);
        InputStream chunked = new ByteArrayInputStream(raw.getBytes(StandardCharsets.ISO_8859_1));
        HttpMessages.Response r = HttpMessages.readResponse(chunked);
        return new String(HttpMessages.body(chunked, HttpMessages.responseFraming(r, "GET")).readAllBytes(),
                StandardCharsets.UTF_8);
    }
}
