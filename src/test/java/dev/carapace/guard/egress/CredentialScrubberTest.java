package dev.carapace.guard.egress;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The scrubber alone: every split of a value across reads, every form it takes, and nothing else touched. */
class CredentialScrubberTest {

    private static final String TOKEN = "tok/en+val=ue:9f8e7d5c";
    private static final CredentialScrubber.Injected BEARER =
            new CredentialScrubber.Injected("GH_TOKEN", TOKEN, "Authorization", "Bearer " + TOKEN);

    /** Hands out {@code data} {@code step} bytes per read, the way a slow or chunked server does. */
    private static InputStream trickle(byte[] data, int step) {
        return new InputStream() {
            int at;

            @Override
            public int read() {
                return at < data.length ? data[at++] & 0xff : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (at == data.length) return -1;
                int n = Math.min(Math.min(step, len), data.length - at);
                System.arraycopy(data, at, b, off, n);
                at += n;
                return n;
            }
        };
    }

    private static String readAll(InputStream in, int readSize) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] b = new byte[readSize];
        int n;
        while ((n = in.read(b, 0, readSize)) > 0) out.write(b, 0, n);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void masksAValueSplitAtEveryPointAndEveryReadSize() throws IOException {
        String body = "{\"headers\":{\"Authorization\":\"Bearer " + TOKEN + "\"},\"again\":\"" + TOKEN + "\"}";
        String expected = body.replace(TOKEN, "*".repeat(TOKEN.length()));
        for (int step = 1; step <= body.length(); step++) {
            for (int readSize : new int[] {1, 3, 7, 4096}) {
                CredentialScrubber s = CredentialScrubber.of(List.of(BEARER));
                String out = readAll(s.body(trickle(body.getBytes(StandardCharsets.UTF_8), step)), readSize);
                assertThat(out).as("step %d, reads of %d", step, readSize).isEqualTo(expected);
                assertThat(s.hits()).isEqualTo(Map.of("GH_TOKEN", 2L));
            }
        }
    }

    @Test
    void masksTheFormsAnEchoCommonlyTakes() throws IOException {
        String basicSecret = Base64.getEncoder().encodeToString("robot:pa55w0rd-xyz".getBytes(StandardCharsets.UTF_8));
        CredentialScrubber.Injected basic = new CredentialScrubber.Injected("JIRA", basicSecret, "Authorization",
                "Basic " + basicSecret);
        String[] echoes = {
                TOKEN,
                "tok%2Fen%2Bval%3Due%3A9f8e7d5c",       // URL-encoded
                "tok%2fen%2bval%3due%3a9f8e7d5c",       // lower-case hex
                "tok\\/en+val=ue:9f8e7d5c",             // JSON with escaped slashes
                Base64.getEncoder().encodeToString(TOKEN.getBytes(StandardCharsets.UTF_8)),
                HexFormat.of().formatHex(TOKEN.getBytes(StandardCharsets.UTF_8)),
                Base64.getUrlEncoder().withoutPadding().encodeToString(TOKEN.getBytes(StandardCharsets.UTF_8)),
                basicSecret,
                "robot:pa55w0rd-xyz",                    // Basic, decoded
                "pa55w0rd-xyz",                          // its password alone
                "tok&#x2F;en&#x2b;val&#X3D;ue&#x3a;9f8e7d5c",              // HTML, hex references
                "tok&#47;en&#0043;val&#61ue&#58;9f8e7d5c",                 // decimal, leading zero, no ';'
                "tok&sol;en&plus;val&equals;ue&colon;9f8e7d5c",            // named references
                "tok\\u002fen\\u002Bval\\u003due:9f8e7d5c",                // Gson / Java / JS
                "tok/en+val=3Due:9f8e7d5c",              // quoted-printable
                "tok/en+val=3D=\r\nue:9f8e7d5c",         // ... with a soft line break
                "%74%6F%6B%2F%65%6E%2B%76%61%6C%3D%75%65%3A%39%66%38%65%37%64%35%63",   // every byte
                "\\x74\\x6f\\x6b\\/en\\053val\\075ue\\u{3a}9f8e7d5c",     // hex, backslash, octal, braced
                "tok%u002Fen+val=ue:9f8e7d5c",           // %uXXXX
                "pa55w0rd&#x2D;xyz"};                    // the Basic password, in a reference
        for (String echo : echoes) {
            CredentialScrubber s = CredentialScrubber.of(List.of(BEARER, basic));
            String body = "<pre>" + echo + "</pre>";
            String out = readAll(s.body(trickle(body.getBytes(StandardCharsets.UTF_8), 5)), 64);
            assertThat(out).as(echo).hasSameSizeAs(body).startsWith("<pre>").endsWith("</pre>").doesNotContain(echo);
            // Base64 padding ('=') is not part of the value and may stay
            assertThat(out.substring(5, out.length() - 6)).as(echo).matches("\\*+=*");
            assertThat(s.hits()).as(echo).hasSize(1);
        }
    }

    /** The value with its characters spelled in different ways, mixed within one occurrence. */
    private static final String MIXED = "t%6f&#x6B;\\/e&#110;\\u002bv=61l&equals;\\x75e&colon;\\071%66%38e7d5%63";
    private static final String GSON = "tok/en\\u002bval\\u003due:9f8e7d5c";

    @Test
    void masksMixedSpellingsSplitAtEveryPointAndEveryReadSize() throws IOException {
        String body = "<p>" + MIXED + "</p>{\"a\":\"" + GSON + "\"}";
        String expected = body.replace(MIXED, "*".repeat(MIXED.length())).replace(GSON, "*".repeat(GSON.length()));
        for (int step = 1; step <= body.length(); step++) {
            for (int readSize : new int[] {1, 3, 7, 4096}) {
                CredentialScrubber s = CredentialScrubber.of(List.of(BEARER));
                String out = readAll(s.body(trickle(body.getBytes(StandardCharsets.UTF_8), step)), readSize);
                assertThat(out).as("step %d, reads of %d", step, readSize).isEqualTo(expected);
                assertThat(s.hits()).isEqualTo(Map.of("GH_TOKEN", 2L));
            }
        }
    }

    @Test
    void masksUtf16TextSplitAtEveryPointKeepingItUtf16() throws IOException {
        for (java.nio.charset.Charset utf16 : List.of(StandardCharsets.UTF_16LE, StandardCharsets.UTF_16BE)) {
            byte[] body = ("auth=" + TOKEN + "; again=" + TOKEN.replace("/", "%2F")).getBytes(utf16);
            String expected = "auth=" + "*".repeat(TOKEN.length()) + "; again=" + "*".repeat(TOKEN.length() + 2);
            for (int step = 1; step <= body.length; step++) {
                CredentialScrubber s = CredentialScrubber.of(List.of(BEARER));
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                s.body(trickle(body, step)).transferTo(out);
                assertThat(out.toString(utf16)).as("%s, step %d", utf16, step).isEqualTo(expected);
                assertThat(s.hits()).isEqualTo(Map.of("GH_TOKEN", 2L));
            }
        }
    }

    @Test
    void aValueTwiceBackToBackAndOverlappingCandidatesAreEachFoundOnce() throws IOException {
        String[][] cases = {
                {TOKEN + TOKEN, "*".repeat(2 * TOKEN.length()), "2"},
                {TOKEN + " " + MIXED, "*".repeat(TOKEN.length()) + " " + "*".repeat(MIXED.length()), "2"},
                // a candidate that fails part-way, with the real value starting inside it
                {"tok/tok/en+val=ue:9f8e7d5c", "tok/" + "*".repeat(TOKEN.length()), "1"},
                {"tok/en+val=tok/en+val=ue:9f8e7d5c!", "tok/en+val=" + "*".repeat(TOKEN.length()) + "!", "1"},
                {"t%6Ft%6Fk%2Fen+val=ue:9f8e7d5c", "t%6F" + "*".repeat(TOKEN.length() + 4), "1"},
                {"tok&#x2F;en+val&#61;tok&#x2F;en+val&#61;ue:9f8e7d5c", "tok&#x2F;en+val&#61;" + "*".repeat(31), "1"},
        };
        for (String[] c : cases) {
            for (int step = 1; step <= c[0].length(); step++) {
                CredentialScrubber s = CredentialScrubber.of(List.of(BEARER));
                String out = readAll(s.body(trickle(c[0].getBytes(StandardCharsets.UTF_8), step)), 7);
                assertThat(out).as("%s, step %d", c[0], step).isEqualTo(c[1]);
                assertThat(s.hits()).as(c[0]).isEqualTo(Map.of("GH_TOKEN", Long.parseLong(c[2])));
            }
        }
    }

    @Test
    void aValueWithAnyOneCharacterChangedIsLeftAsItIsInEverySpelling() throws IOException {
        StringBuilder body = new StringBuilder();
        for (int k = 0; k < TOKEN.length(); k++) {
            char[] near = TOKEN.toCharArray();
            near[k] = (char) (near[k] + 1);
            String v = new String(near);
            body.append(v).append('\n');
            StringBuilder percent = new StringBuilder();
            StringBuilder entities = new StringBuilder();
            for (char c : near) {
                percent.append(String.format("%%%02X", (int) c));
                entities.append("&#").append((int) c).append(';');
            }
            body.append(percent).append('\n').append(entities).append('\n')
                    .append(v.replace("/", "\\/").replace("=", "\\u003d")).append('\n');
        }
        // escapes that are broken or decode to something else
        body.append("tok%2Gen+val=ue:9f8e7d5c tok%2en+val=ue:9f8e7d5c tok&#x2E;en+val=ue:9f8e7d5c\n")
                .append("tok\\u002en+val=ue:9f8e7d5c tok\\u02Fen+val=ue:9f8e7d5c\n")
                // beyond the documented bounds: more leading zeros than MAX_DIGITS
                .append("tok&#x0000000002F;en+val=ue:9f8e7d5c ")
                .append(" 50% & 3 \\ 4 = 7 &amp; &#47; \\u0041\n");
        String text = body.toString();
        for (int step : new int[] {1, 13, 100_000}) {
            CredentialScrubber s = CredentialScrubber.of(List.of(BEARER));
            assertThat(readAll(s.body(trickle(text.getBytes(StandardCharsets.UTF_8), step)), 4096)).isEqualTo(text);
            assertThat(s.hits()).isEmpty();
        }
    }

    @Test
    void findsTheValueInsideALargerBase64TextAtEveryAlignment() throws IOException {
        for (String before : new String[] {"", "A", "AB", "Authorization: Bearer "}) {
            String whole = before + TOKEN + "\r\nHost: api.test\r\n";
            String encoded = Base64.getEncoder().encodeToString(whole.getBytes(StandardCharsets.UTF_8));
            CredentialScrubber s = CredentialScrubber.of(List.of(BEARER));
            String out = readAll(s.body(trickle(encoded.getBytes(StandardCharsets.UTF_8), 4)), 64);
            String decoded = new String(Base64.getDecoder().decode(out.replace('*', 'A')), StandardCharsets.ISO_8859_1);
            assertThat(decoded).as("after %d bytes", before.length()).doesNotContain(TOKEN)
                    .doesNotContain(TOKEN.substring(3, TOKEN.length() - 3));
            assertThat(s.hits()).containsOnlyKeys("GH_TOKEN");
        }
    }

    @Test
    void anEchoInAnotherCaseIsMaskedTooInEverySpelling() throws IOException {
        String upper = TOKEN.toUpperCase(java.util.Locale.ROOT);
        StringBuilder percent = new StringBuilder();
        for (char c : upper.toCharArray()) percent.append(String.format("%%%02x", (int) c));
        String text = "a " + upper + " b " + percent + " c";
        for (int step : new int[] {1, 7, 100_000}) {
            CredentialScrubber s = CredentialScrubber.of(List.of(BEARER));
            String out = readAll(s.body(trickle(text.getBytes(StandardCharsets.UTF_8), step)), 4096);
            assertThat(out).isEqualTo("a " + "*".repeat(upper.length()) + " b " + "*".repeat(percent.length()) + " c");
            assertThat(s.hits()).containsEntry("GH_TOKEN", 2L);
        }
    }

    @Test
    void leavesEverythingElseAsItIsIncludingNearMisses() throws IOException {
        String body = "tok/en+val=ue:9f8e7d5  tok/en+val=ue:9f8e7d5d " + "x".repeat(40_000);
        CredentialScrubber s = CredentialScrubber.of(List.of(BEARER));
        assertThat(readAll(s.body(trickle(body.getBytes(StandardCharsets.UTF_8), 10_000)), 8192)).isEqualTo(body);
        assertThat(s.hits()).isEmpty();
        assertThat(s.text("X-Echo: " + TOKEN)).isEqualTo("X-Echo: " + "*".repeat(TOKEN.length()));
        assertThat(s.hits()).containsEntry("GH_TOKEN", 1L);
        assertThat(s.text("X-Echo: " + MIXED + ";")).isEqualTo("X-Echo: " + "*".repeat(MIXED.length()) + ";");
        assertThat(s.hits()).containsEntry("GH_TOKEN", 2L);
    }

    @Test
    void theRecordNamesTheSecretNeverItsValue() {
        assertThat(BEARER.toString()).contains("GH_TOKEN").doesNotContain(TOKEN);
    }
}
