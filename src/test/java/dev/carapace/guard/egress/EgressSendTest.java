package dev.carapace.guard.egress;

import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.NetworkRules;
import dev.carapace.guard.policy.PolicyEngine;
import dev.carapace.guard.policy.PolicyLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * {@link EgressProxy#send}: a job's webhook POST goes out under every defence a proxied request and {@code web_fetch}
 * have (policy with its method rules, SSRF and DNS-rebinding checks, credential injection and scrubbing, audit), and
 * a request that cannot be sent as given is refused, clearly, before anything is resolved or connected.
 */
class EgressSendTest {

    private static final String SECRET = "whk_S3cr3t/Token+Value=4a5b6c";
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final byte[] PAYLOAD = "{\"job\":\"report\",\"status\":\"ok\"}".getBytes(StandardCharsets.UTF_8);
    private final NetworkRules hooksTest = r -> r.host().endsWith(".test") ? ProxyFixture.allow("hooks", "127.0.0.0/8")
            : ProxyFixture.deny("default-deny", "no policy allows " + r.host());

    @TempDir
    Path dir;
    /** The webhook's server, fresh for each test (JUnit makes an instance per test). */
    private final TestUpstream up = TestUpstream.plain("127.0.0.1", 0);
    private ProxyFixture fx;

    EgressSendTest() throws IOException {}

    @AfterEach
    void closeBoth() throws IOException {
        up.close();
        if (fx != null) fx.close();
    }

    private URI hook(String host) {
        return URI.create("http://" + host + ":" + up.port() + "/hook?run=7");
    }

    private EgressProxy.Fetched post(URI uri, Map<String, String> headers, byte[] body) throws Exception {
        return fx.proxy.send("job:report", "POST", uri, headers, body, 1 << 16, TIMEOUT);
    }

    /** The refusal of a POST, after checking that nothing reached the server and that it was audited as a POST. */
    private Denial refused(URI uri, Map<String, String> headers, byte[] body) {
        EgressDeniedException e = catchThrowableOfType(EgressDeniedException.class, () -> post(uri, headers, body));
        assertThat(e).as("refused").isNotNull();
        assertThat(up.accepted.get()).as("connections reaching the server").isZero();
        AuditEvent event = fx.audit.getLast();
        assertThat(event.outcome()).isEqualTo("deny");
        assertThat(event.agent()).isEqualTo("job:report");
        assertThat(event.action()).isEqualTo("POST");
        assertThat(event.rule()).isEqualTo(e.denial().rule());
        assertThat(e.getMessage()).isEqualTo(e.denial().json());
        return e.denial();
    }

    @Test
    void aPostArrivesWithItsBodyAndHeadersAndTheAnswerComesBack() throws Exception {
        up.answering((r, out) -> out.write(("HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
                + "Content-Length: 15\r\n\r\n{\"queued\":true}").getBytes(StandardCharsets.ISO_8859_1)));
        fx = new ProxyFixture(hooksTest).resolving("hooks.test", "127.0.0.1");
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Content-Type", "application/json");
        headers.put("X-Signature", "sha256=abc123");
        // framing headers are the proxy's own: a caller's Host or Content-Length is not what the server sees
        headers.put("Host", "evil.example");
        headers.put("Content-Length", "1");
        EgressProxy.Fetched f = post(hook("hooks.test"), headers, PAYLOAD);

        assertThat(f.status()).isEqualTo(202);
        assertThat(new String(f.body(), StandardCharsets.UTF_8)).isEqualTo("{\"queued\":true}");
        assertThat(f.truncated()).isFalse();
        assertThat(f.headers().get("content-type")).containsExactly("application/json");
        TestUpstream.Received got = up.received.getFirst();
        assertThat(got.method()).isEqualTo("POST");
        assertThat(got.target()).isEqualTo("/hook?run=7");
        assertThat(got.body()).isEqualTo(PAYLOAD);
        assertThat(got.header("content-type")).isEqualTo("application/json");
        assertThat(got.header("x-signature")).isEqualTo("sha256=abc123");
        assertThat(got.headers()).filteredOn(h -> h.is("host")).extracting(HttpMessages.Header::value)
                .containsExactly("hooks.test:" + up.port());
        assertThat(got.headers()).filteredOn(h -> h.is("content-length")).extracting(HttpMessages.Header::value)
                .containsExactly(String.valueOf(PAYLOAD.length));
        assertThat(fx.asked).singleElement().satisfies(r -> {
            assertThat(r.method()).isEqualTo("POST");
            assertThat(r.path()).isEqualTo("/hook");
            assertThat(r.agent()).isEqualTo("job:report");
        });
        AuditEvent event = fx.onlyEvent();
        assertThat(event.action()).isEqualTo("POST");
        assertThat(event.outcome()).isEqualTo("allow");
        assertThat(event.target()).isEqualTo("hooks.test:" + up.port() + "/hook"); // no query
    }

    @Test
    void aPostWithoutABodySaysItsLengthIsZeroAndTheResponseIsCutAtMaxBytes() throws Exception {
        fx = new ProxyFixture(hooksTest).resolving("hooks.test", "127.0.0.1");
        EgressProxy.Fetched f = fx.proxy.send("job:report", "POST", hook("hooks.test"), Map.of(), null, 5, TIMEOUT);
        assertThat(up.received.getFirst().header("content-length")).isEqualTo("0");
        assertThat(up.received.getFirst().body()).isEmpty();
        assertThat(new String(f.body(), StandardCharsets.UTF_8)).isEqualTo("ok PO");
        assertThat(f.truncated()).isTrue();
    }

    @Test
    void aHostThePolicyDoesNotAllowIsRefusedBeforeAnyConnectionOrLookup() throws Exception {
        fx = new ProxyFixture(hooksTest).resolving("hooks.example", "127.0.0.1");
        Denial d = refused(hook("hooks.example"), Map.of(), PAYLOAD);
        assertThat(d.status()).isEqualTo(403);
        assertThat(d.rule()).isEqualTo("default-deny");
        assertThat(d.method()).isEqualTo("POST");
        assertThat(d.reason()).contains("hooks.example");
        assertThat(d.remedy()).contains("POST hooks.example:" + up.port() + "/hook");
        assertThat(fx.resolved).isEmpty();
    }

    @Test
    void aNameResolvingToLoopbackIsRefusedUnlessThePolicyAllowsItsAddress() throws Exception {
        fx = new ProxyFixture(r -> r.path().startsWith("/hook") ? ProxyFixture.allow("any-host")
                : ProxyFixture.allow("internal", "127.0.0.1/32")).resolving("internal.test", "127.0.0.1");
        Denial d = refused(hook("internal.test"), Map.of(), PAYLOAD);
        assertThat(d.rule()).isEqualTo("egress:blocked-address");
        assertThat(d.reason()).contains("internal.test resolves to 127.0.0.1", "loopback");
        assertThat(d.remedy()).contains("allowed_ips", "127.0.0.1/32");
        // the same server, where the policy names its address in allowed_ips
        EgressProxy.Fetched ok = post(URI.create("http://internal.test:" + up.port() + "/internal"), Map.of(), PAYLOAD);
        assertThat(ok.status()).isEqualTo(200);
        assertThat(up.received).extracting(TestUpstream.Received::target).containsExactly("/internal");
    }

    @Test
    void anAddressLiteralOfACloudMetadataEndpointIsRefused() throws Exception {
        fx = new ProxyFixture(r -> ProxyFixture.allow("any-host"));
        EgressDeniedException e = catchThrowableOfType(EgressDeniedException.class, () ->
                post(URI.create("http://0xa9fea9fe/latest/api/token"), Map.of(), PAYLOAD));
        assertThat(e.denial().rule()).isEqualTo("egress:blocked-address");
        assertThat(e.denial().reason()).contains("cloud metadata");
        assertThat(fx.onlyEvent().action()).isEqualTo("POST");
    }

    @Test
    void aFlippingDnsAnswerNeverLeadsAPostToLoopback() throws Exception {
        // The name's address is 127.0.0.2 (allowed); the victim, up, listens on 127.0.0.1 at the same port; each
        // lookup flips. One lookup per request, and the connection goes to the address that was checked.
        fx = new ProxyFixture(r -> ProxyFixture.allow("rebind", "127.0.0.2/32"))
                .flipping("rebind.test", "127.0.0.2", "127.0.0.1");
        try (TestUpstream legit = TestUpstream.plain("127.0.0.2", up.port())) {
            URI rebind = URI.create("http://rebind.test:" + up.port() + "/hook");
            assertThat(post(rebind, Map.of(), PAYLOAD).status()).isEqualTo(200);              // looked up: 127.0.0.2
            EgressDeniedException evil = catchThrowableOfType(EgressDeniedException.class,    // looked up: 127.0.0.1
                    () -> post(rebind, Map.of(), PAYLOAD));
            assertThat(evil.denial().rule()).isEqualTo("egress:blocked-address");
            assertThat(post(rebind, Map.of(), PAYLOAD).status()).isEqualTo(200);
            assertThat(fx.resolved).containsExactly("rebind.test", "rebind.test", "rebind.test");
            assertThat(up.accepted.get()).isZero();
            assertThat(legit.received).hasSize(2);
        }
    }

    @Test
    void aGetOnlyRuleOfThePolicyRefusesAPostAndAMethodOverride() throws Exception {
        String policy = """
                version: 1
                network_policies:
                  hooks:
                    endpoints:
                      - host: hooks.test
                        port: %d
                        protocol: rest
                        allowed_ips: [127.0.0.1/32]
                        rules:
                          - allow: {method: GET, path: "/status"}
                          - allow: {method: POST, path: "/hook"}
                """.formatted(up.port());
        NetworkRules engine = PolicyEngine.compile(List.of(new PolicyEngine.Attachment(
                PolicyLoader.parse(policy, "p.yaml", "p"), Set.of("*"), Set.of())),
                List.of(new PolicyEngine.Subject("job:report", null, dir)));
        fx = new ProxyFixture(engine, SecretStore.empty(), Set.of(443)).resolving("hooks.test", "127.0.0.1");
        Denial d = refused(URI.create("http://hooks.test:" + up.port() + "/status"), Map.of(), PAYLOAD);
        assertThat(d.status()).isEqualTo(403);
        assertThat(d.rule()).isEqualTo("p:network_policies.hooks.endpoints[0]");
        assertThat(d.reason()).contains("POST hooks.test:" + up.port() + "/status is not allowed", "allow GET /status");
        assertThat(d.remedy()).contains("allow POST hooks.test:" + up.port() + "/status");
        // a POST the rules allow, claiming another method through an override header, is judged as that one too
        fx.audit.clear();
        EgressDeniedException override = catchThrowableOfType(EgressDeniedException.class, () -> post(
                URI.create("http://hooks.test:" + up.port() + "/hook"), Map.of("X-HTTP-Method-Override", "delete"), PAYLOAD));
        assertThat(override.denial().method()).isEqualTo("DELETE");
        assertThat(fx.audit).extracting(e -> e.action() + " " + e.outcome()).containsExactly("POST allow", "DELETE deny");
        assertThat(up.accepted.get()).isZero();
        // what the rules allow goes through
        assertThat(fx.proxy.fetch("job:report", URI.create("http://hooks.test:" + up.port() + "/status"), Map.of(),
                100, TIMEOUT).status()).isEqualTo(200);
        assertThat(post(URI.create("http://hooks.test:" + up.port() + "/hook"), Map.of(), PAYLOAD).status()).isEqualTo(200);
        assertThat(up.received).extracting(TestUpstream.Received::method).containsExactly("GET", "POST");
    }

    private static NetworkRules injecting() {
        return r -> new NetworkRules.NetworkDecision(NetworkRules.Verdict.ALLOW, "hooks", "allowed", false,
                List.of("127.0.0.0/8"), List.of(new NetworkRules.Injection("Authorization", "Bearer {secret}", "HOOK_TOKEN")));
    }

    private static SecretStore secrets() {
        return SecretStore.of(Map.of("HOOK_TOKEN", "env:CARAPACE_TEST_HOOK"),
                name -> name.equals("CARAPACE_TEST_HOOK") ? SECRET : null);
    }

    @Test
    void anInjectedCredentialReachesTheServerOnlyAndNeverComesBack() throws Exception {
        up.answering((r, out) -> {
            byte[] echo = ("you sent " + r.header("authorization") + " with " + r.text()).getBytes(StandardCharsets.UTF_8);
            out.write(("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: " + r.header("authorization")
                    + "\r\nContent-Length: " + echo.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(echo);
        });
        fx = new ProxyFixture(injecting(), secrets(), Set.of(443)).resolving("hooks.test", "127.0.0.1");
        EgressProxy.Fetched f = post(hook("hooks.test"), Map.of("Authorization", "Bearer owner-made-up",
                "Accept-Encoding", "gzip"), PAYLOAD);
        TestUpstream.Received got = up.received.getFirst();
        assertThat(got.headers()).filteredOn(h -> h.is("authorization")).extracting(HttpMessages.Header::value)
                .containsExactly("Bearer " + SECRET);
        assertThat(got.header("accept-encoding")).isEqualTo("identity");
        assertThat(got.body()).isEqualTo(PAYLOAD);
        assertThat(f.status()).isEqualTo(401);
        assertThat(new String(f.body(), StandardCharsets.UTF_8)).startsWith("you sent Bearer ***").doesNotContain(SECRET);
        assertThat(f.headers().toString()).doesNotContain(SECRET);
        assertThat(fx.audit).filteredOn(e -> e.outcome().equals("scrub")).singleElement()
                .satisfies(e -> assertThat(e.reason()).contains("'HOOK_TOKEN'", "(2 times)"));

        // a refused answer, and a malformed one that may quote the credential, say nothing of it either
        up.answering((r, out) -> out.write(("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n"
                + "gzip").getBytes(StandardCharsets.ISO_8859_1)));
        EgressDeniedException compressed = catchThrowableOfType(EgressDeniedException.class,
                () -> post(hook("hooks.test"), Map.of(), PAYLOAD));
        assertThat(compressed.denial().rule()).isEqualTo("egress:scrub");
        assertThat(compressed.getMessage()).doesNotContain(SECRET);
        up.answering((r, out) -> out.write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + r.header("authorization").substring(7) + "\r\n").getBytes(StandardCharsets.ISO_8859_1)));
        BadMessageException malformed = catchThrowableOfType(BadMessageException.class,
                () -> post(hook("hooks.test"), Map.of(), PAYLOAD));
        assertThat(malformed.getMessage()).contains("withheld").doesNotContain("S3cr3t");
        assertThat(fx.audit).extracting(AuditEvent::action).containsOnly("POST");
        assertThat(fx.audit).allSatisfy(e -> assertThat(e.toString()).doesNotContain(SECRET).doesNotContain("S3cr3t"));
    }

    @Test
    void aBodyOverOneMebibyteIsRefusedAndOneOfExactlyThatSizeIsSent() throws Exception {
        fx = new ProxyFixture(hooksTest).resolving("hooks.test", "127.0.0.1");
        byte[] big = new byte[EgressProxy.MAX_REQUEST_BODY + 1];
        Arrays.fill(big, (byte) 'x');
        Denial d = refused(hook("hooks.test"), Map.of(), big);
        assertThat(d.status()).isEqualTo(400);
        assertThat(d.error()).isEqualTo("bad_request");
        assertThat(d.rule()).isEqualTo("egress:bad-request");
        assertThat(d.reason()).isEqualTo("the request body is 1048577 bytes; the proxy sends at most 1048576 bytes (1 MiB)");
        assertThat(fx.resolved).isEmpty();
        assertThat(fx.asked).isEmpty();

        byte[] limit = Arrays.copyOf(big, EgressProxy.MAX_REQUEST_BODY);
        assertThat(post(hook("hooks.test"), Map.of(), limit).status()).isEqualTo(200);
        assertThat(up.received.getFirst().body()).hasSize(EgressProxy.MAX_REQUEST_BODY);
    }

    @Test
    void aRedirectIsReturnedNotFollowed() throws Exception {
        try (TestUpstream elsewhere = TestUpstream.plain("127.0.0.1", 0)) {
            up.answering((r, out) -> out.write(("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://other.test:"
                    + elsewhere.port() + "/hook\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)));
            fx = new ProxyFixture(hooksTest).resolving("hooks.test", "127.0.0.1").resolving("other.test", "127.0.0.1");
            EgressProxy.Fetched f = post(hook("hooks.test"), Map.of(), PAYLOAD);
            assertThat(f.status()).isEqualTo(307);
            assertThat(f.headers().get("location")).containsExactly("http://other.test:" + elsewhere.port() + "/hook");
            assertThat(elsewhere.accepted.get()).isZero();
            assertThat(fx.resolved).containsExactly("hooks.test");
            assertThat(up.received).hasSize(1);
        }
    }

    // ---- hostile requests: refused with what was wrong, before anything is resolved or connected ----------------

    @ParameterizedTest
    @ValueSource(strings = {"X-Evil\r\nInjected: yes", "X Space", "X-Colon:", "", "X-Ünicode"})
    void aHeaderNameThatIsNotATokenIsRefused(String name) throws Exception {
        fx = new ProxyFixture(hooksTest).resolving("hooks.test", "127.0.0.1");
        Denial d = refused(hook("hooks.test"), Map.of(name, "v"), PAYLOAD);
        assertThat(d.status()).isEqualTo(400);
        assertThat(d.rule()).isEqualTo("egress:bad-request");
        assertThat(d.reason()).startsWith("header name '").endsWith("has a space or a character not allowed in a name");
        assertThat(d.reason()).doesNotContain("\r").doesNotContain("\n");
        assertThat(fx.resolved).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"a\r\nX-Injected: yes", "a\nb", "a\rb", "nul\0byte", "del\u007f", "beyond\u20ac"})
    void aHeaderValueWithControlCharactersIsRefusedWithoutRepeatingIt(String value) throws Exception {
        fx = new ProxyFixture(hooksTest).resolving("hooks.test", "127.0.0.1");
        Denial d = refused(hook("hooks.test"), Map.of("X-Token", value), PAYLOAD);
        assertThat(d.status()).isEqualTo(400);
        assertThat(d.reason()).startsWith("header 'X-Token' has a ")
                .containsAnyOf("a control character in its value", "a character beyond ISO-8859-1 in its value")
                .doesNotContain(value);
        assertThat(fx.audit.getLast().reason()).isEqualTo(d.reason());
        assertThat(fx.resolved).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://user:hunter2@hooks.test/hook", "http://hooks.test:80@evil.example/hook",
            "https://@hooks.test/hook"})
    void aUrlWithAUserOrPasswordIsRefused(String url) throws Exception {
        fx = new ProxyFixture(hooksTest).resolving("hooks.test", "127.0.0.1").resolving("evil.example", "127.0.0.1");
        Denial d = refused(URI.create(url), Map.of(), PAYLOAD);
        assertThat(d.status()).isEqualTo(400);
        assertThat(d.reason()).contains("user or password").doesNotContain("hunter2");
        assertThat(fx.onlyEvent().toString()).doesNotContain("hunter2");
        assertThat(fx.resolved).isEmpty();
        assertThat(fx.asked).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ftp://hooks.test/hook", "file:///etc/passwd", "gopher://hooks.test:70/_POST",
            "javascript:alert(1)", "HTTPX://hooks.test/", "/relative/hook"})
    void aSchemeOtherThanHttpIsRefused(String url) throws Exception {
        fx = new ProxyFixture(hooksTest).resolving("hooks.test", "127.0.0.1");
        Denial d = refused(URI.create(url), Map.of(), PAYLOAD);
        assertThat(d.status()).isEqualTo(400);
        assertThat(d.reason()).containsAnyOf("only http:// and https:// are sent", "the URL must be absolute");
        assertThat(fx.asked).isEmpty();
    }

    @Test
    void aMethodItDoesNotSpeakOrABodyOnAGetIsRefused() throws Exception {
        fx = new ProxyFixture(hooksTest).resolving("hooks.test", "127.0.0.1");
        for (String method : List.of("CONNECT", "TRACE", "post", "POST /x HTTP/1.1\r\n")) {
            EgressDeniedException e = catchThrowableOfType(EgressDeniedException.class, () -> fx.proxy.send(
                    "job:report", method, hook("hooks.test"), Map.of(), null, 100, TIMEOUT));
            assertThat(e.denial().status()).isEqualTo(400);
            assertThat(e.denial().reason()).startsWith("the method must be one of GET, HEAD, POST, PUT, PATCH, DELETE");
            assertThat(e.denial().method()).isNull();
        }
        EgressDeniedException get = catchThrowableOfType(EgressDeniedException.class, () -> fx.proxy.send(
                "job:report", "GET", hook("hooks.test"), Map.of(), PAYLOAD, 100, TIMEOUT));
        assertThat(get.denial().reason()).isEqualTo("a GET request carries no body");
        assertThat(fx.asked).isEmpty();
        assertThat(up.accepted.get()).isZero();
        assertThat(fx.audit).hasSize(5).allSatisfy(e -> assertThat(e.rule()).isEqualTo("egress:bad-request"));
    }
}
