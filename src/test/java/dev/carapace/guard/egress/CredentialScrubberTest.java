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
                "pa55w0rd-xyz"};                         // its password alone
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
    void leavesEverythingElseAsItIsIncludingNearMisses() throws IOException {
        String body = "tok/en+val=ue:9f8e7d5  tok/en+val=ue:9f8e7d5C " + "x".repeat(40_000);
        CredentialScrubber s = CredentialScrubber.of(List.of(BEARER));
        assertThat(readAll(s.body(trickle(body.getBytes(StandardCharsets.UTF_8), 10_000)), 8192)).isEqualTo(body);
        assertThat(s.hits()).isEmpty();
        assertThat(s.text("X-Echo: " + TOKEN)).isEqualTo("X-Echo: " + "*".repeat(TOKEN.length()));
        assertThat(s.hits()).containsEntry("GH_TOKEN", 1L);
    }

    @Test
    void theRecordNamesTheSecretNeverItsValue() {
        assertThat(BEARER.toString()).contains("GH_TOKEN").doesNotContain(TOKEN);
    }
}
