package dev.carapace.agent.tools;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

import static dev.carapace.agent.tools.ToolHarness.JSON;
import static dev.carapace.agent.tools.ToolHarness.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** web_fetch over the direct egress against a local server: text, HTML, redirects, statuses, limits, refusals. */
class WebFetchToolTest {

    private HttpServer server;
    private String base;
    private final List<String> served = new CopyOnWriteArrayList<>();
    private final List<URI> asked = new CopyOnWriteArrayList<>();
    private DirectEgress direct;
    private AgentTool fetch;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::handle);
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
        direct = new DirectEgress();
        // Records every URI that reaches the seam, as the guard's fence will see them.
        Egress recording = (uri, headers, maxBytes, timeout) -> {
            asked.add(uri);
            return direct.get(uri, headers, maxBytes, timeout);
        };
        fetch = new WebFetchTool(recording);
    }

    @AfterEach
    void stop() {
        server.stop(0);
        direct.close();
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        served.add(ex.getRequestURI().toString());
        try {
            switch (path) {
                case "/text" -> send(ex, 200, "text/plain; charset=utf-8", "hello\nwörld\n");
                case "/html" -> send(ex, 200, "text/html", """
                        <!DOCTYPE html><html><head><title>The  Page</title>
                        <style>body { color: red }</style><script>var x = "<p>not text</p>";</script></head>
                        <body><!-- a comment --><h1>Heading &amp; more</h1>
                        <p>First   paragraph,
                           wrapped.</p><ul><li>one</li><li>two &lt;b&gt;</li></ul>
                        <pre>  code
                            indented</pre><p>caf&eacute; &#233; &#x1F600;</p></body></html>""");
                case "/latin1" -> send(ex, 200, "text/plain; charset=ISO-8859-1",
                        "caf\u00e9".getBytes(StandardCharsets.ISO_8859_1), Map.of());
                case "/meta" -> send(ex, 200, "text/html", ("<html><head><meta charset=\"windows-1252\"></head>"
                        + "<body>\u20ac5</body></html>").getBytes(Charset1252.CHARSET), Map.of());
                case "/json" -> send(ex, 200, "application/json", "{\"a\": 1}");
                case "/empty" -> send(ex, 204, null, new byte[0], Map.of());
                case "/missing" -> send(ex, 404, "text/plain", "no such page");
                case "/broken" -> send(ex, 500, "text/html", "<h1>Internal error</h1><p>database down</p>");
                case "/png" -> send(ex, 200, "image/png", new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 1, 2}, Map.of());
                case "/nul" -> send(ex, 200, "text/plain", new byte[] {'a', 0, 'b'}, Map.of());
                case "/untyped" -> send(ex, 200, null, "<!doctype html><p>sniffed <b>html</b></p>"
                        .getBytes(StandardCharsets.UTF_8), Map.of());
                case "/big" -> send(ex, 200, "text/plain", "0123456789".repeat(20_000));
                case "/huge" -> send(ex, 200, "text/plain", "x".repeat(WebFetchTool.MAX_BODY_BYTES + 1000));
                case "/slow-headers" -> {
                    Thread.sleep(5000);
                    send(ex, 200, "text/plain", "late");
                }
                case "/slow-body" -> {
                    ex.getResponseHeaders().set("Content-Type", "text/plain");
                    ex.sendResponseHeaders(200, 0);
                    OutputStream out = ex.getResponseBody();
                    out.write("start ".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    Thread.sleep(5000);
                    out.write("end".getBytes(StandardCharsets.UTF_8));
                    out.close();
                }
                case "/r1" -> redirect(ex, 301, "/r2");
                case "/r2" -> redirect(ex, 302, base + "/r3?x=1");
                case "/r3" -> redirect(ex, 307, "text#fragment");
                case "/to-file" -> redirect(ex, 302, "file:///etc/passwd");
                case "/no-location" -> send(ex, 302, "text/plain", "moved, somewhere");
                default -> {
                    if (path.startsWith("/loop/")) {
                        int n = Integer.parseInt(path.substring(6));
                        redirect(ex, 302, "/loop/" + (n + 1));
                    } else if (path.startsWith("/hops/")) {
                        int n = Integer.parseInt(path.substring(6));
                        if (n == 0) send(ex, 200, "text/plain", "arrived");
                        else redirect(ex, 302, "/hops/" + (n - 1));
                    } else {
                        send(ex, 404, "text/plain", "unknown " + path);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // the client went away (a timeout, a cut body)
        } finally {
            ex.close();
        }
    }

    /** windows-1252, where 0x80 is the euro sign. */
    private static final class Charset1252 {
        static final java.nio.charset.Charset CHARSET = java.nio.charset.Charset.forName("windows-1252");
    }

    private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
        send(ex, status, type, body.getBytes(StandardCharsets.UTF_8), Map.of());
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body, Map<String, String> headers)
            throws IOException {
        if (type != null) ex.getResponseHeaders().set("Content-Type", type);
        headers.forEach(ex.getResponseHeaders()::set);
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private static void redirect(HttpExchange ex, int status, String location) throws IOException {
        send(ex, status, null, new byte[0], Map.of("Location", location));
    }

    private static ToolContext context(int maxOutputBytes, Duration timeout) {
        return new ToolContext("agent-1", "session-1", Path.of("/nonexistent-workspace"), timeout, maxOutputBytes);
    }

    private ToolResult get(String url) throws InterruptedException {
        return get(context(64 * 1024, Duration.ofSeconds(10)), url);
    }

    private ToolResult get(ToolContext context, String url, Object... more) throws InterruptedException {
        var args = JSON.createObjectNode().put("url", url);
        for (int i = 0; i < more.length; i += 2) args.set((String) more[i], JSON.valueToTree(more[i + 1]));
        return fetch.run(args, context);
    }

    // ---- content ----

    @Test
    void returnsStatusTypeAndText() throws Exception {
        ToolResult r = get(base + "/text");
        assertThat(r.error()).isFalse();
        assertThat(r.content()).isEqualTo("status: 200\ncontent-type: text/plain; charset=utf-8\n\nhello\nwörld");
        assertThat(get(base + "/json").content()).isEqualTo("status: 200\ncontent-type: application/json\n\n{\"a\": 1}");
        assertThat(get(base + "/latin1").content()).endsWith("\n\ncafé");
        assertThat(get(base + "/empty").content()).isEqualTo("status: 204\n\n(empty body)");
    }

    @Test
    void htmlIsReducedToReadableText() throws Exception {
        ToolResult r = get(base + "/html");
        assertThat(r.error()).isFalse();
        assertThat(r.content()).isEqualTo("""
                status: 200
                content-type: text/html

                The Page

                # Heading & more

                First paragraph, wrapped.

                - one
                - two <b>

                  code
                    indented

                café é 😀""");
        assertThat(get(base + "/untyped").content()).isEqualTo("status: 200\n\nsniffed html");
        assertThat(get(base + "/meta").content()).endsWith("\n\n€5");
    }

    @Test
    void binaryContentIsRefused() throws Exception {
        ToolResult png = get(base + "/png");
        assertThat(png.error()).isTrue();
        assertThat(png.content()).isEqualTo("status: 200\ncontent-type: image/png\n\n"
                + "binary content (7 bytes) is not shown: web_fetch returns text only");
        assertThat(get(base + "/nul").content()).endsWith("binary content (3 bytes) is not shown: web_fetch returns text only");
    }

    // ---- statuses ----

    @Test
    void errorStatusesAreResultsWithTheirBody() throws Exception {
        ToolResult missing = get(base + "/missing");
        assertThat(missing.error()).isTrue();
        assertThat(missing.content()).isEqualTo("status: 404\ncontent-type: text/plain\n\nno such page");
        ToolResult broken = get(base + "/broken");
        assertThat(broken.error()).isTrue();
        assertThat(broken.content()).isEqualTo("status: 500\ncontent-type: text/html\n\n# Internal error\n\ndatabase down");
        ToolResult noLocation = get(base + "/no-location");
        assertThat(noLocation.content()).isEqualTo("status: 302\ncontent-type: text/plain\n\nmoved, somewhere");
    }

    // ---- redirects ----

    @Test
    void followsARedirectChainWithEveryHopThroughTheEgress() throws Exception {
        ToolResult r = get(base + "/r1");
        assertThat(r.error()).isFalse();
        assertThat(r.content()).isEqualTo("status: 200\ncontent-type: text/plain; charset=utf-8\nurl: " + base
                + "/text\n\nhello\nwörld");
        assertThat(asked).extracting(URI::toString)
                .containsExactly(base + "/r1", base + "/r2", base + "/r3?x=1", base + "/text");
        assertThat(served).containsExactly("/r1", "/r2", "/r3?x=1", "/text");
    }

    @Test
    void followsAtMostFiveRedirects() throws Exception {
        assertThat(get(base + "/hops/5").content()).endsWith("url: " + base + "/hops/0\n\narrived");
        asked.clear();
        ToolResult r = get(base + "/loop/0");
        assertThat(r.error()).isTrue();
        assertThat(r.content()).isEqualTo("stopped after 5 redirects: " + base + "/loop/0 -> " + base + "/loop/1 -> "
                + base + "/loop/2 -> " + base + "/loop/3 -> " + base + "/loop/4 -> " + base + "/loop/5 -> ...");
        assertThat(asked).hasSize(6);
    }

    @Test
    void aRedirectOutOfHttpIsRefused() throws Exception {
        ToolResult r = get(base + "/to-file");
        assertThat(r.error()).isTrue();
        assertThat(r.content()).isEqualTo("the redirect from " + base + "/to-file: only http and https URLs can be "
                + "fetched, not file (status 302, location file:///etc/passwd)");
        assertThat(asked).hasSize(1);
    }

    // ---- limits ----

    @Test
    void longTextIsCutToTheOutputCapAndMaxChars() throws Exception {
        ToolResult r = get(context(2000, Duration.ofSeconds(10)), base + "/big");
        assertThat(r.error()).isFalse();
        assertThat(r.content().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(2000);
        String header = "status: 200\ncontent-type: text/plain\n\n";
        String shown = r.content().substring(header.length(), r.content().indexOf("\n[cut: "));
        assertThat(r.content()).startsWith(header + "0123456789")
                .endsWith("\n[cut: " + (200_000 - shown.length()) + " more characters not shown]");

        ToolResult small = get(context(64 * 1024, Duration.ofSeconds(10)), base + "/big", "max_chars", 15);
        assertThat(small.content()).isEqualTo(header + "012345678901234\n[cut: 199985 more characters not shown]");
    }

    @Test
    void aBodyOverTheReadLimitIsNotReadToItsEnd() throws Exception {
        ToolResult r = get(context(1000, Duration.ofSeconds(20)), base + "/huge");
        assertThat(r.content()).endsWith("more characters not shown; only the first " + WebFetchTool.MAX_BODY_BYTES
                + " bytes of the body were read]");
        Egress.Response exact = direct.get(URI.create(base + "/text"), Map.of(), 13, Duration.ofSeconds(5));
        assertThat(exact.truncated()).isFalse();
        assertThat(new String(exact.body(), StandardCharsets.UTF_8)).isEqualTo("hello\nwörld\n");
        Egress.Response cut = direct.get(URI.create(base + "/text"), Map.of(), 12, Duration.ofSeconds(5));
        assertThat(cut.truncated()).isTrue();
        assertThat(cut.body()).hasSize(12);
    }

    @Test
    void slowServersTimeOut() throws Exception {
        for (String path : List.of("/slow-headers", "/slow-body")) {
            long start = System.nanoTime();
            ToolResult r = get(context(64 * 1024, Duration.ofMillis(500)), base + path);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as(path).isLessThan(Duration.ofSeconds(3));
            assertThat(r.error()).isTrue();
            assertThat(r.content()).isEqualTo("timed out after 500 ms fetching " + base + path);
        }
    }

    @Test
    void interruptingTheCallerAbandonsTheFetch() throws Exception {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread caller = Thread.ofVirtual().start(() -> {
            try {
                get(context(64 * 1024, Duration.ofSeconds(30)), base + "/slow-headers");
                thrown.set(new AssertionError("returned normally"));
            } catch (Throwable t) {
                thrown.set(t);
            }
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> served.contains("/slow-headers"));
        caller.interrupt();
        caller.join(Duration.ofSeconds(2));
        assertThat(caller.isAlive()).isFalse();
        assertThat(thrown.get()).isInstanceOf(InterruptedException.class);
    }

    // ---- refusals ----

    @Test
    void onlyAbsoluteHttpUrlsAreFetched() throws Exception {
        assertThat(get("file:///etc/passwd").content())
                .isEqualTo("argument 'url': only http and https URLs can be fetched, not file");
        assertThat(get("ftp://example.com/x").content())
                .isEqualTo("argument 'url': only http and https URLs can be fetched, not ftp");
        assertThat(get("example.com/page").content())
                .isEqualTo("argument 'url': only http and https URLs can be fetched (give an absolute URL)");
        assertThat(get("http:///path").content()).isEqualTo("argument 'url' has no host");
        assertThat(get("http://exa mple.com/").content()).startsWith("argument 'url' is not a valid URL (Illegal character");
        assertThat(get("").content()).isEqualTo("argument 'url' must not be empty");
        assertThat(fetch.run(json("{}"), context(1000, Duration.ofSeconds(1))).content())
                .isEqualTo("missing argument 'url' (a string)");
        assertThat(fetch.run(json("{\"url\":\"http://x\",\"max_chars\":0}"), context(1000, Duration.ofSeconds(1)))
                .content()).startsWith("argument 'max_chars' must be a positive integer");
        assertThat(fetch.run(json("{\"url\":\"http://x\",\"method\":\"POST\"}"), context(1000, Duration.ofSeconds(1)))
                .content()).isEqualTo("unknown argument 'method'; expected url, max_chars");
        assertThat(asked).isEmpty();
        assertThatThrownBy(() -> direct.get(URI.create("file:///etc/passwd"), Map.of(), 10, Duration.ofSeconds(1)))
                .isInstanceOf(Egress.DeniedException.class);
    }

    @Test
    void theFragmentIsNotSent() throws Exception {
        get(base + "/text#section");
        assertThat(asked).extracting(URI::toString).containsExactly(base + "/text");
    }

    @Test
    void aDenialByTheEgressIsShownWithItsReason() throws Exception {
        AgentTool fenced = new WebFetchTool((uri, headers, max, timeout) -> {
            throw new Egress.DeniedException("host metadata.internal is not on the allow-list");
        });
        ToolResult r = fenced.run(json("{\"url\":\"http://metadata.internal/latest\"}"), context(1000, Duration.ofSeconds(1)));
        assertThat(r.error()).isTrue();
        assertThat(r.content()).isEqualTo("fetch of http://metadata.internal/latest refused: "
                + "host metadata.internal is not on the allow-list");
    }

    @Test
    void aRefusedConnectionIsAnErrorResult() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        ToolResult r = get("http://127.0.0.1:" + port + "/");
        assertThat(r.error()).isTrue();
        assertThat(r.content()).isEqualTo("could not connect to 127.0.0.1:" + port + " (connection refused)");
    }

    @Test
    void theEgressIsAskedForTextWithoutCompression() throws Exception {
        AtomicReference<Map<String, String>> sent = new AtomicReference<>();
        AgentTool spy = new WebFetchTool((uri, headers, max, timeout) -> {
            sent.set(headers);
            return new Egress.Response(uri, 200, Map.of("Content-Type", List.of("text/plain")),
                    "ok".getBytes(StandardCharsets.UTF_8), false);
        });
        assertThat(spy.run(json("{\"url\":\"https://example.com/\"}"), context(1000, Duration.ofSeconds(1))).content())
                .isEqualTo("status: 200\ncontent-type: text/plain\n\nok");
        assertThat(sent.get()).containsOnlyKeys("Accept", "User-Agent");
    }
}
