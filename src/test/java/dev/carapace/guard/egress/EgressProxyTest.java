package dev.carapace.guard.egress;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.NetworkRules;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Requests the egress proxy lets through, and what the server and the client see of them. */
class EgressProxyTest {

    private static final String SECRET = "s3cr3t-token-value-9f8e7d";
    private final NetworkRules apiTest = r -> r.host().endsWith(".test") ? ProxyFixture.allow("test-servers", "127.0.0.0/8")
            : ProxyFixture.deny("default-deny", "not in the policy");
    private ProxyFixture fx;

    @AfterEach
    void stop() {
        if (fx != null) fx.close();
    }

    private HttpClient client(SSLContextHolder tls) throws Exception {
        HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .proxy(ProxySelector.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), fx.port())));
        if (tls != null) b.sslContext(TestUpstream.clientContext());
        return b.build();
    }

    private enum SSLContextHolder { TRUST_TEST_CERT }

    @Test
    void forwardsGetAndPostWithCanonicalPathAndFreshHost() throws Exception {
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            fx = new ProxyFixture(apiTest).resolving("api.test", "127.0.0.1");
            HttpClient http = client(null);
            HttpResponse<String> get = http.send(HttpRequest.newBuilder(
                    URI.create("http://api.test:" + up.port() + "/a/./b/../c?q=1%2F2")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(get.statusCode()).isEqualTo(200);
            assertThat(get.body()).isEqualTo("ok GET /a/c?q=1%2F2");
            HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create("http://api.test:" + up.port() + "/p"))
                    .POST(HttpRequest.BodyPublishers.ofString("payload")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(post.statusCode()).isEqualTo(200);
            TestUpstream.Received first = up.received.getFirst();
            assertThat(first.header("host")).isEqualTo("api.test:" + up.port());
            assertThat(first.header("connection")).isEqualTo("close");
            assertThat(up.received.get(1).text()).isEqualTo("payload");
            assertThat(fx.asked).extracting(NetworkRules.NetworkRequest::path).containsExactly("/a/c", "/p");
            assertThat(fx.audit).extracting(AuditEvent::outcome).containsExactly("allow", "allow");
            assertThat(fx.audit.getFirst().target()).isEqualTo("api.test:" + up.port() + "/a/c"); // no query
        }
    }

    @Test
    void allowedIpsIsWhatLetsAPrivateServerThrough() throws Exception {
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            fx = new ProxyFixture(r -> r.path().startsWith("/open") ? ProxyFixture.allow("internal", "127.0.0.1/32")
                    : ProxyFixture.allow("internal-no-ips")).resolving("internal.test", "127.0.0.1");
            assertThat(fx.request("GET http://internal.test:" + up.port() + "/open HTTP/1.1\r\n\r\n").status()).isEqualTo(200);
            assertThat(fx.request("GET http://internal.test:" + up.port() + "/closed HTTP/1.1\r\n\r\n").status()).isEqualTo(403);
            assertThat(up.received).hasSize(1);
        }
    }

    @Test
    void anAuditOnlyRuleLetsTheRequestThroughAndRecordsIt() throws Exception {
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            fx = new ProxyFixture(r -> new NetworkRules.NetworkDecision(NetworkRules.Verdict.DENY, "watch", "would deny",
                    true, List.of("127.0.0.0/8"), List.of())).resolving("api.test", "127.0.0.1");
            assertThat(fx.request("GET http://api.test:" + up.port() + "/ HTTP/1.1\r\n\r\n").status()).isEqualTo(200);
            assertThat(fx.onlyEvent().outcome()).isEqualTo("audit");
        }
    }

    @Test
    void keepsTheClientConnectionForTheNextRequest() throws Exception {
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            up.answering((r, out) -> out.write(("HTTP/1.1 200 OK\r\n\r\nclose-delimited " + r.target())
                    .getBytes(StandardCharsets.ISO_8859_1)));
            fx = new ProxyFixture(apiTest).resolving("api.test", "127.0.0.1");
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), fx.port())) {
                s.setSoTimeout(10_000);
                InputStream in = new BufferedInputStream(s.getInputStream());
                OutputStream out = s.getOutputStream();
                for (String path : List.of("/one", "/two")) {
                    out.write(("GET http://api.test:" + up.port() + path + " HTTP/1.1\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    ProxyFixture.Reply reply = ProxyFixture.read(in, "GET");
                    assertThat(reply.body()).isEqualTo("close-delimited " + path);
                    assertThat(reply.head().header("transfer-encoding")).isEqualTo("chunked"); // re-framed
                }
                out.write(("HEAD http://api.test:" + up.port() + "/h HTTP/1.1\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            }
            assertThat(up.received).extracting(TestUpstream.Received::target).startsWith("/one", "/two");
        }
    }

    @Test
    void streamsAResponseAsItArrives() throws Exception {
        CountDownLatch firstSeen = new CountDownLatch(1);
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            up.answering((r, out) -> {
                out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n".getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                assertThat(firstSeen.await(10, TimeUnit.SECONDS)).isTrue();
                out.write("6\r\nsecond\r\n0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            });
            fx = new ProxyFixture(apiTest).resolving("api.test", "127.0.0.1");
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), fx.port())) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(("GET http://api.test:" + up.port() + "/sse HTTP/1.1\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
                BufferedReader reader = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
                String line;
                while (!(line = reader.readLine()).equals("first")) {
                    assertThat(line).doesNotContain("second");
                }
                firstSeen.countDown(); // the server sends the rest only now
                StringBuilder rest = new StringBuilder();
                while ((line = reader.readLine()) != null) rest.append(line).append('\n');
                assertThat(rest.toString()).contains("second").endsWith("0\n\n");
            }
        }
    }

    @Test
    void streamsARequestBodyAsItArrives() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            fx = new ProxyFixture(apiTest).resolving("api.test", "127.0.0.1");
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), fx.port())) {
                client.setSoTimeout(10_000);
                OutputStream out = client.getOutputStream();
                out.write(("POST http://api.test:" + server.getLocalPort() + "/upload HTTP/1.1\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                try (Socket upstream = server.accept()) {
                    upstream.setSoTimeout(10_000);
                    BufferedReader reader = new BufferedReader(new InputStreamReader(upstream.getInputStream(),
                            StandardCharsets.ISO_8859_1));
                    String line;
                    while (!(line = reader.readLine()).equals("hello")) {
                        assertThat(line).isNotEqualTo("world");
                    }
                    // the first chunk arrived while the client has not sent the rest
                    out.write("5\r\nworld\r\n0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                    assertThat(reader.readLine()).isEqualTo("5");
                    assertThat(reader.readLine()).isEqualTo("world");
                    upstream.getOutputStream().write("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    upstream.getOutputStream().flush();
                }
                assertThat(ProxyFixture.read(new BufferedInputStream(client.getInputStream()), "POST").status()).isEqualTo(201);
            }
        }
    }

    @Test
    void tunnelsToAnAllowedPlainServer() throws Exception {
        try (TestUpstream echo = TestUpstream.echo("127.0.0.1")) {
            fx = new ProxyFixture(apiTest).resolving("echo.test", "127.0.0.1");
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), fx.port())) {
                s.setSoTimeout(10_000);
                // the first bytes of the tunnel travel in the same packet as the CONNECT
                s.getOutputStream().write(("CONNECT echo.test:" + echo.port() + " HTTP/1.1\r\nHost: echo.test\r\n\r\nping")
                        .getBytes(StandardCharsets.ISO_8859_1));
                BufferedReader reader = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
                assertThat(reader.readLine()).isEqualTo("HTTP/1.1 200 Connection established");
                assertThat(reader.readLine()).isEmpty();
                char[] got = new char[4];
                assertThat(reader.read(got)).isEqualTo(4);
                assertThat(new String(got)).isEqualTo("ping");
            }
            AuditEvent event = fx.onlyEvent();
            assertThat(event.action()).isEqualTo("CONNECT");
            assertThat(event.target()).isEqualTo("echo.test:" + echo.port());
            assertThat(event.outcome()).isEqualTo("allow");
        }
    }

    @Test
    void tunnelsTlsEndToEndForAStandardClient() throws Exception {
        try (TestUpstream up = TestUpstream.tls("127.0.0.1")) {
            fx = new ProxyFixture(apiTest).resolving("api.test", "127.0.0.1");
            HttpResponse<String> r = client(SSLContextHolder.TRUST_TEST_CERT).send(HttpRequest.newBuilder(
                    URI.create("https://api.test:" + up.port() + "/tls")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.body()).isEqualTo("ok GET /tls");
            assertThat(fx.onlyEvent().action()).isEqualTo("CONNECT");
        }
    }

    @Test
    void originatesTlsItselfSoRulesAndCredentialsApplyToHttpsEndpoints() throws Exception {
        try (TestUpstream up = TestUpstream.tls("127.0.0.1")) {
            fx = new ProxyFixture(injecting("test-api"), secrets(), Set.of(443, up.port()))
                    .resolving("api.test", "127.0.0.1").resolving("wrong-name.test", "127.0.0.1");
            // plain http:// to a TLS port: the proxy reads the request and speaks TLS upstream
            ProxyFixture.Reply viaPort = fx.request("GET http://api.test:" + up.port() + "/repos HTTP/1.1\r\n\r\n");
            assertThat(viaPort.body()).isEqualTo("ok GET /repos");
            ProxyFixture.Reply viaScheme = fx.request("GET https://api.test:" + up.port() + "/user HTTP/1.1\r\n\r\n");
            assertThat(viaScheme.body()).isEqualTo("ok GET /user");
            assertThat(up.received).extracting(r -> r.header("authorization")).containsOnly("Bearer " + SECRET);
            assertThat(fx.asked).extracting(NetworkRules.NetworkRequest::path).containsExactly("/repos", "/user");
            // the certificate is verified against the name the client asked for
            ProxyFixture.Reply wrong = fx.request("GET https://wrong-name.test:" + up.port() + "/ HTTP/1.1\r\n\r\n");
            assertThat(wrong.status()).isEqualTo(502);
            assertThat(wrong.json().path("error").asText()).isEqualTo("upstream_unreachable");
            assertThat(up.received).hasSize(2);
        }
    }

    private static NetworkRules injecting(String rule) {
        return r -> new NetworkRules.NetworkDecision(NetworkRules.Verdict.ALLOW, rule, "allowed", false,
                List.of("127.0.0.0/8"), List.of(new NetworkRules.Injection("Authorization", "Bearer {secret}", "GH_TOKEN")));
    }

    private static SecretStore secrets() {
        return SecretStore.of(Map.of("GH_TOKEN", "env:CARAPACE_TEST_GH"), name -> name.equals("CARAPACE_TEST_GH") ? SECRET : null);
    }

    @Test
    void injectsCredentialsThatOnlyTheServerSees() throws Exception {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        root.addAppender(logs);
        ch.qos.logback.classic.Level level = root.getLevel();
        root.setLevel(ch.qos.logback.classic.Level.ALL);
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            up.answering((r, out) -> out.write(("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Seen: " + r.headers().size()
                    + "\r\n\r\nok").getBytes(StandardCharsets.ISO_8859_1)));
            fx = new ProxyFixture(injecting("github"), secrets(), Set.of(443)).resolving("api.test", "127.0.0.1");
            String answer = fx.exchange("GET http://api.test:" + up.port() + "/user HTTP/1.1\r\n"
                    + "authorization: Bearer client-made-up\r\nAUTHORIZATION: Basic Zm9vOmJhcg==\r\nConnection: close\r\n\r\n");
            assertThat(answer).startsWith("HTTP/1.1 200").doesNotContain(SECRET);
            TestUpstream.Received got = up.received.getFirst();
            assertThat(got.headers()).filteredOn(h -> h.is("authorization")).extracting(HttpMessages.Header::value)
                    .containsExactly("Bearer " + SECRET);
            // a denial and an unavailable secret carry no value either
            fx.proxy.close();
            fx = new ProxyFixture(injecting("github"), SecretStore.of(Map.of("GH_TOKEN", "env:UNSET_VAR"), n -> null),
                    Set.of(443)).resolving("api.test", "127.0.0.1");
            ProxyFixture.Reply missing = fx.request("GET http://api.test:" + up.port() + "/user HTTP/1.1\r\n\r\n");
            assertThat(missing.status()).isEqualTo(502);
            assertThat(missing.json().path("reason").asText()).contains("GH_TOKEN", "UNSET_VAR");
            assertThat(fx.onlyEvent().rule()).isEqualTo("egress:secret");
        } finally {
            root.detachAppender(logs);
            root.setLevel(level);
        }
        assertThat(fx.audit).allSatisfy(e -> assertThat(e.toString()).doesNotContain(SECRET));
        assertThat(logs.list).allSatisfy(e -> assertThat(e.getFormattedMessage()).doesNotContain(SECRET));
        assertThat(secrets().toString()).contains("GH_TOKEN").doesNotContain(SECRET).doesNotContain("CARAPACE_TEST_GH");
    }

    @Test
    void servesOnAUnixSocketForTheAgentBoundToIt(@TempDir Path dir) throws Exception {
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            fx = new ProxyFixture(apiTest).resolving("api.test", "127.0.0.1");
            Path socket = dir.resolve("egress.sock");
            Listener unix = fx.proxy.listen(UnixDomainSocketAddress.of(socket), "sandboxed-agent");
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(socket));
                ch.write(ByteBuffer.wrap(("GET http://api.test:" + up.port() + "/via-unix HTTP/1.1\r\n\r\n"
                        + "GET http://blocked.example/ HTTP/1.1\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)));
                InputStream in = new BufferedInputStream(Channels.newInputStream(ch));
                assertThat(ProxyFixture.read(in, "GET").body()).isEqualTo("ok GET /via-unix");
                assertThat(ProxyFixture.read(in, "GET").status()).isEqualTo(403);
            }
            // a CONNECT tunnel over the Unix socket carries both directions at once
            try (TestUpstream echo = TestUpstream.echo("127.0.0.1");
                 SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(socket));
                OutputStream out = Channels.newOutputStream(ch);
                out.write(("CONNECT api.test:" + echo.port() + " HTTP/1.1\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                InputStream in = Channels.newInputStream(ch);
                assertThat(new String(in.readNBytes(39), StandardCharsets.ISO_8859_1))
                        .isEqualTo("HTTP/1.1 200 Connection established\r\n\r\n");
                for (int i = 0; i < 3; i++) {
                    out.write(("round " + i).getBytes(StandardCharsets.ISO_8859_1));
                    assertThat(new String(in.readNBytes(7), StandardCharsets.ISO_8859_1)).isEqualTo("round " + i);
                }
            }
            assertThat(fx.asked).extracting(NetworkRules.NetworkRequest::agent).containsOnly("sandboxed-agent");
            unix.close();
            assertThat(socket).doesNotExist();
        }
    }

    @Test
    void refusesToListenBeyondLoopback() throws Exception {
        fx = new ProxyFixture(apiTest);
        assertThatThrownBy(() -> fx.proxy.listen(new InetSocketAddress("0.0.0.0", 0), "a"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("loopback");
    }

    @Test
    void fetchAppliesTheSameRulesForWebFetch() throws Exception {
        try (TestUpstream up = TestUpstream.tls("127.0.0.1")) {
            up.answering((r, out) -> out.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n0123456789"
                    .getBytes(StandardCharsets.ISO_8859_1)));
            fx = new ProxyFixture(r -> r.path().startsWith("/ok") ? injecting("github").decide(r)
                    : ProxyFixture.deny("paths", "only /ok"), secrets(), Set.of(443)).resolving("api.test", "127.0.0.1");
            EgressProxy.Fetched f = fx.proxy.fetch("agent-1", URI.create("https://api.test:" + up.port() + "/ok/x?y=1"),
                    Map.of("Accept", "text/plain", "Authorization", "Bearer model-supplied"), 4, Duration.ofSeconds(5));
            assertThat(f.status()).isEqualTo(200);
            assertThat(new String(f.body(), StandardCharsets.UTF_8)).isEqualTo("0123");
            assertThat(f.truncated()).isTrue();
            assertThat(f.headers().get("content-type")).containsExactly("text/plain");
            assertThat(up.received.getFirst().target()).isEqualTo("/ok/x?y=1");
            assertThat(up.received.getFirst().headers()).filteredOn(h -> h.is("authorization"))
                    .extracting(HttpMessages.Header::value).containsExactly("Bearer " + SECRET);
            assertThatThrownBy(() -> fx.proxy.fetch("agent-1", URI.create("https://api.test:" + up.port() + "/admin"),
                    Map.of(), 100, Duration.ofSeconds(5)))
                    .isInstanceOf(EgressDeniedException.class)
                    .hasMessageContaining("\"layer\":\"network\"").hasMessageContaining("\"rule\":\"paths\"");
            assertThatThrownBy(() -> fx.proxy.fetch("agent-1", URI.create("http://0xa9fea9fe/ok"),
                    Map.of(), 100, Duration.ofSeconds(5)))
                    .isInstanceOf(EgressDeniedException.class).hasMessageContaining("egress:blocked-address");
            assertThat(fx.audit).extracting(AuditEvent::outcome).containsExactly("allow", "deny", "deny");
        }
    }

    @Test
    void fetchTimesOutOnASilentServer() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            fx = new ProxyFixture(apiTest).resolving("slow.test", "127.0.0.1");
            long start = System.nanoTime();
            assertThatThrownBy(() -> fx.proxy.fetch("a", URI.create("http://slow.test:" + silent.getLocalPort() + "/"),
                    Map.of(), 100, Duration.ofMillis(300))).isInstanceOf(java.net.http.HttpTimeoutException.class);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        }
    }
}
