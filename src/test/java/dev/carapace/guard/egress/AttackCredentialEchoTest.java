package dev.carapace.guard.egress;

import dev.carapace.guard.NetworkRules;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Attack (branch attack): an allowed server echoes the injected credential in forms the scrubber may not know.
 * Each case checks what the client (the agent) receives: the secret must not be recoverable from it. A failing case
 * is a form that gets through.
 */
class AttackCredentialEchoTest {

    private static final String SECRET = "gh0_S3cr3t/Token+Value=9f8e7d";
    /**
     * Transforms of the value, not encodings of it, documented as beyond the scrubber (see its class comment):
     * reversal is one of unboundedly many rewrites a server could apply (reversed, rotated, rot13, hashed). These
     * cases assert that they do get through, so the limit is stated here rather than hidden. A change of case is
     * caught (letters are compared regardless of case); quoted-printable ({@code =3D}) is an encoding, and caught.
     */
    private static final Set<String> TRANSFORMS = Set.of("reversed");
    private ProxyFixture fx;

    @AfterEach
    void stop() {
        if (fx != null) fx.close();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static String htmlEntities(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) b.append(Character.isLetterOrDigit(c) || c == '_' ? String.valueOf(c) : "&#x" + Integer.toHexString(c).toUpperCase() + ";");
        return b.toString();
    }

    static String gsonStyle(String s) {
        return s.replace("=", "\\u003d").replace("+", "\\u002b").replace("/", "\\u002f");
    }

    @ParameterizedTest
    @ValueSource(strings = {"html-entities", "html-decimal", "gson-unicode", "utf16", "trailer", "te-gzip", "upper",
            "qp", "reversed", "percent-all", "split-header-fold", "content-encoding-spaced", "gzip-no-header"})
    void anEchoInThisFormDoesNotGiveTheSecretBack(String form) throws Exception {
        try (TestUpstream up = TestUpstream.plain("127.0.0.1", 0)) {
            up.answering((r, out) -> {
                String auth = r.header("authorization");
                String v = auth.substring("Bearer ".length());
                switch (form) {
                    case "html-entities" -> body(out, "<p>" + htmlEntities(v) + "</p>");
                    case "html-decimal" -> body(out, v.replace("/", "&#47;").replace("+", "&#43;").replace("=", "&#61;"));
                    case "gson-unicode" -> body(out, "{\"auth\":\"" + gsonStyle(v) + "\"}");
                    case "utf16" -> {
                        byte[] b = ("auth=" + v).getBytes(StandardCharsets.UTF_16LE);
                        out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-16le\r\nContent-Length: "
                                + b.length + "\r\n\r\n"));
                        out.write(b);
                    }
                    case "trailer" -> out.write(ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Echo\r\n\r\n"
                            + "2\r\nok\r\n0\r\nX-Echo: " + auth + "\r\n\r\n"));
                    case "te-gzip" -> {
                        byte[] z = gzip(("auth=" + v).getBytes(StandardCharsets.UTF_8));
                        out.write(ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                                + Integer.toHexString(z.length) + "\r\n"));
                        out.write(z);
                        out.write(ascii("\r\n0\r\n\r\n"));
                    }
                    case "content-encoding-spaced" -> {
                        byte[] z = gzip(("auth=" + v).getBytes(StandardCharsets.UTF_8));
                        out.write(ascii("HTTP/1.1 200 OK\r\nContent-Encoding : gzip\r\nContent-Length: " + z.length + "\r\n\r\n"));
                        out.write(z);
                    }
                    case "gzip-no-header" -> {
                        byte[] z = gzip(("auth=" + v).getBytes(StandardCharsets.UTF_8));
                        out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: " + z.length + "\r\n\r\n"));
                        out.write(z);
                    }
                    case "upper" -> body(out, v.toUpperCase());
                    case "qp" -> body(out, v.replace("=", "=3D"));
                    case "reversed" -> body(out, new StringBuilder(v).reverse().toString());
                    case "percent-all" -> {
                        StringBuilder b = new StringBuilder();
                        for (byte c : v.getBytes(StandardCharsets.UTF_8)) b.append('%').append(String.format("%02X", c));
                        body(out, b.toString());
                    }
                    case "split-header-fold" -> {
                        String b = "x";
                        out.write(ascii("HTTP/1.1 200 OK\r\nX-Echo: " + v.substring(0, 10) + "\r\n " + v.substring(10)
                                + "\r\nContent-Length: 1\r\n\r\n" + b));
                    }
                    default -> throw new IllegalStateException(form);
                }
            });
            SecretStore store = SecretStore.of(Map.of("GH_TOKEN", "env:CARAPACE_TEST_GH"),
                    name -> name.equals("CARAPACE_TEST_GH") ? SECRET : null);
            NetworkRules rules = r -> new NetworkRules.NetworkDecision(NetworkRules.Verdict.ALLOW, "api", "allowed", false,
                    List.of("127.0.0.0/8"), List.of(new NetworkRules.Injection("Authorization", "Bearer {secret}", "GH_TOKEN")));
            fx = new ProxyFixture(rules, store, Set.of(443)).resolving("api.test", "127.0.0.1");
            String answer = fx.exchange("GET http://api.test:" + up.port() + "/anything HTTP/1.1\r\nConnection: close\r\n\r\n");
            assertThat(up.received.getFirst().header("authorization")).isEqualTo("Bearer " + SECRET);
            String recovered = recover(answer);
            if (TRANSFORMS.contains(form)) {
                assertThat(recovered).as(form + ": a transform, documented as not caught: " + answer).contains(SECRET);
                return;
            }
            assertThat(recovered).as(form + ": " + answer).doesNotContain(SECRET);
        }
    }

    private static void body(java.io.OutputStream out, String text) throws java.io.IOException {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: " + b.length + "\r\n\r\n"));
        out.write(b);
    }

    static byte[] gzip(byte[] b) throws java.io.IOException {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(o)) {
            z.write(b);
        }
        return o.toByteArray();
    }

    /** What an agent could decode from the answer: entities, escapes, UTF-16, gzip, case, reversal, folding. */
    static String recover(String raw) throws Exception {
        StringBuilder all = new StringBuilder(raw);
        all.append('\n').append(java.util.regex.Pattern.compile("&#(x?)([0-9A-Fa-f]+);").matcher(raw)
                .replaceAll(m -> java.util.regex.Matcher.quoteReplacement(String.valueOf((char) Integer.parseInt(m.group(2),
                        m.group(1).isEmpty() ? 10 : 16)))));
        all.append('\n').append(raw.replace("\\u003d", "=").replace("\\u002b", "+").replace("\\u002f", "/"));
        all.append('\n').append(raw.replace("\u0000", ""));
        all.append('\n').append(raw.replace("=3D", "="));
        all.append('\n').append(new StringBuilder(raw).reverse());
        all.append('\n').append(raw.replaceAll("\r\n[ \t]+", ""));
        try {
            all.append('\n').append(java.net.URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            // not all of it decodes
        }
        byte[] bytes = raw.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i + 1 < bytes.length; i++) {
            if ((bytes[i] & 0xff) == 0x1f && (bytes[i + 1] & 0xff) == 0x8b) {
                try (var in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(bytes, i, bytes.length - i))) {
                    all.append('\n').append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                } catch (java.io.IOException e) {
                    // cut
                }
            }
        }
        String s = all.toString();
        // case-insensitive: an upper-cased echo gives the secret up to case
        return s + "\n" + (s.toUpperCase().contains(SECRET.toUpperCase()) ? SECRET : "");
    }
}
