package dev.carapace.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;
import dev.carapace.agent.Guard.Decision;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.egress.EgressDeniedException;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.guard.egress.SecretStore;
import dev.carapace.guard.policy.PolicyEngine;
import dev.carapace.guard.policy.PolicyLoader;
import dev.carapace.server.adapter.PolicyGuard;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One corpus of attacker-spelled paths against {@code deny_rules: [/secret/**, /admin]}, through every entry point that judges
 * a URL: the agent guard's {@code web_fetch} decision, the egress proxy's {@code fetch} (what web_fetch then sends),
 * and a raw proxy request on a real socket (what curl in {@code exec} sends). All must give the expected verdict,
 * so no spelling passes one gate that another refuses.
 */
class PathAgreementTest {

    @TempDir
    static Path dir;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static ServerSocket upstream;
    private static final List<String> served = new CopyOnWriteArrayList<>();
    private static EgressProxy proxy;
    private static int proxyPort;
    private static PolicyGuard guard;

    @BeforeAll
    static void start() throws Exception {
        upstream = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(PathAgreementTest::serve);
        String policy = """
                version: 1
                network_policies:
                  api:
                    endpoints:
                      - host: api.test
                        port: %d
                        protocol: rest
                        access: read-only
                        allowed_ips: [127.0.0.1/32]
                        deny_rules:
                          - {method: "*", path: "/secret/**"}
                          - {method: "*", path: "/admin"}
                tools:
                  allow: [web_fetch]
                """.formatted(upstream.getLocalPort());
        Path ws = dir.resolve("ws");
        Files.createDirectories(ws);
        PolicyEngine engine = PolicyEngine.compile(List.of(new PolicyEngine.Attachment(
                PolicyLoader.parse(policy, "p.yaml", "p"), Set.of("*"), Set.of())),
                List.of(new PolicyEngine.Subject("coder", null, ws)));
        AgentSpec coder = new AgentSpec("coder", ws, "m", List.of(), List.of("web_fetch"),
                new AgentSpec.Owner(null, "platform"), null, null, null);
        List<AuditEvent> audit = new CopyOnWriteArrayList<>();
        guard = new PolicyGuard(new Agents(List.of(coder)), () -> engine, audit::add, Clock.systemUTC());
        proxy = new EgressProxy(engine, name -> List.of(InetAddress.getByName("127.0.0.1")), SecretStore.empty(),
                audit::add, Clock.systemUTC(), new EgressProxy.Options(Duration.ofSeconds(2), Duration.ofSeconds(10),
                SSLContext.getDefault(), Set.of(443)));
        proxyPort = ((InetSocketAddress) proxy.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                "coder").address()).getPort();
    }

    @AfterAll
    static void stop() throws IOException {
        proxy.close();
        upstream.close();
    }

    private static void serve() {
        while (!upstream.isClosed()) {
            try (Socket s = upstream.accept()) {
                InputStream in = new BufferedInputStream(s.getInputStream());
                StringBuilder head = new StringBuilder();
                int c;
                while (!head.toString().endsWith("\r\n\r\n") && (c = in.read()) >= 0) head.append((char) c);
                served.add(head.toString().split(" ")[1]);
                s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                        .getBytes(StandardCharsets.ISO_8859_1));
            } catch (IOException e) {
                // closed
            }
        }
    }

    @ParameterizedTest(name = "{0} allowed={1}")
    @CsvSource(delimiter = '|', value = {
            "/public/x|true", "/secret/x|false",
            // path parameters: Tomcat, Jetty and Spring serve /secret;a/x as /secret/x
            "/secret;a/x|false", "/secret/x;a|false", "/public/..;/secret/x|false", "/secret%3Ba/x|false",
            // percent-encoding, once, twice, mixed case, overlong UTF-8
            "/%73ecret/x|false", "/%73%65%63%72%65%74/%78|false", "/public/%2e%2e/secret/x|false",
            "/public/%2E%2e/secret/x|false", "/public/%252e%252e/secret/x|false", "/public/%c0%ae%c0%ae/secret/x|false",
            "/secret%2fx|false", "/secret%2Fx|false", "/public%5c..%5csecret%5cx|false",
            // dot segments, duplicate slashes, backslash, NUL
            "//secret//x|false", "/./secret/./x|false", "/public/../secret/x|false", "/public\\..\\secret\\x|false",
            "/secret%00/x|false", "/a/../../b|false", "/a/../../secret/x|false",
            // trailing dot and space (Windows servers drop them), Unicode that normalises to ASCII
            "/secret./x|false", "/secret%20/x|false", "/\uff53ecret/x|false", "/\uff0e\uff0e/secret/x|false",
            // the query is not the path, and an escaped '?' is data
            "/secret/x?y=1|false", "/public%3F/../secret/x|false", "/public?/../secret/x|true",
            // the bare name of a denied tree, and a trailing slash on a denied name
            "/secret|false", "/secret/|false", "/admin|false", "/admin/|false", "/admin./|false", "/x/../admin//|false",
            "/administrator|true", "/secretary|true",
            // case: IIS and ASP.NET route case-insensitively; Unicode that folds or normalises to ASCII is refused
            "/SECRET/x|false", "/Admin|false", "/%53ecret/x|false", "/\u017fecret/x|false", "/\u212aey|false",
            // ordinary paths stay allowed
            "/a/%20b|true", "/a//b/./c|true", "/%7Euser/caf%C3%A9|true", "/caf\u00e9|true", "/Washington,_D.C.|true"})
    void everyEntryPointGivesTheSameVerdict(String path, boolean allowed) throws Exception {
        String url = "http://api.test:" + upstream.getLocalPort() + path;
        assertThat(guardAllows(url)).as("PolicyGuard (web_fetch decision) for %s", path).isEqualTo(allowed);
        assertThat(fetchAllows(url)).as("EgressProxy.fetch (web_fetch) for %s", path).isEqualTo(allowed);
        assertThat(proxyAllows(url)).as("egress proxy socket (exec, curl) for %s", path).isEqualTo(allowed);
    }

    @ParameterizedTest(name = "{0} allowed={1}")
    @CsvSource(delimiter = '|', value = {"/public#/../../secret/x|true", "/secret/x#y|false", "/secret/x#/../../public|false"})
    void aFragmentIsNeverPartOfThePath(String path, boolean allowed) throws Exception {
        // web_fetch drops the fragment before fetching (the proxy refuses one on the wire): both gates judge the rest
        String url = "http://api.test:" + upstream.getLocalPort() + path;
        assertThat(guardAllows(url)).isEqualTo(allowed);
        assertThat(fetchAllows(url)).isEqualTo(allowed);
        assertThat(proxyAllows(url)).as("a '#' cannot travel in a request target").isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/secret;a/x", "/a/../../b", "/p/%252e%252e/x", "/a%2fb"})
    void aRefusedSpellingIsRefusedInTheSameWordsEverywhere(String path) throws Exception {
        String url = "http://api.test:" + upstream.getLocalPort() + path;
        String guardReason = guard.decide("coder", "s", "web_fetch", JSON.createObjectNode().put("url", url)).reason();
        String proxyAnswer;
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxyPort)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET " + url + " HTTP/1.1\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            proxyAnswer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(proxyAnswer).startsWith("HTTP/1.1 400");
        String proxyReason = JSON.readTree(proxyAnswer.substring(proxyAnswer.indexOf("\r\n\r\n") + 4)).path("reason").asText();
        assertThat(guardReason).startsWith("the path").isEqualTo(proxyReason);
    }

    @Test
    void rawUnicodeReachesTheServerAsItsUtf8Escapes() throws Exception {
        served.clear();
        assertThat(proxyAllows("http://api.test:" + upstream.getLocalPort() + "/caf\u00e9/%c3%a9")).isTrue();
        assertThat(served).containsExactly("/caf%C3%A9/%C3%A9");
    }

    private static boolean guardAllows(String url) throws Exception {
        Decision d = guard.decide("coder", "s", "web_fetch", JSON.createObjectNode().put("url", url));
        return d.verdict() == Decision.Verdict.ALLOW;
    }

    private static boolean fetchAllows(String url) throws Exception {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            return false;   // web_fetch refuses it before any request
        }
        try {
            EgressProxy.Fetched f = proxy.fetch("coder", uri, Map.of(), 100, Duration.ofSeconds(5));
            return f.status() == 200;
        } catch (EgressDeniedException e) {
            return false;
        }
    }

    private static boolean proxyAllows(String url) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxyPort)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET " + url + " HTTP/1.1\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return answer.startsWith("HTTP/1.1 200");
        }
    }
}
