package dev.carapace.model;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The hand-written JSON must be the bytes Jackson's generator wrote before it, escapes included. */
class JsonBytesTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static String jackson(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = MAPPER.createGenerator(out)) {
            g.writeString(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(StandardCharsets.ISO_8859_1);   // compared byte for byte
    }

    private static String ours(String s) {
        return new String(new JsonBytes(4).string(s).toByteArray(), StandardCharsets.ISO_8859_1);
    }

    @Test
    void escapesEveryCharLikeJackson() {
        // Every UTF-16 unit on its own, lone surrogates included, then each next to an ASCII letter.
        for (int c = 0; c <= 0xFFFF; c++) {
            String s = String.valueOf((char) c);
            assertThat(ours(s)).as("U+%04X", c).isEqualTo(jackson(s));
            assertThat(ours("a" + s + "b")).as("U+%04X inside text", c).isEqualTo(jackson("a" + s + "b"));
        }
    }

    @Test
    void escapesMixedTextLikeJackson() {
        assertThat(ours("say \"hi\"\\n\n\t\u0001 é € 😀 \u2028 /")).isEqualTo(jackson("say \"hi\"\\n\n\t\u0001 é € 😀 \u2028 /"));
        Random random = new Random(42);
        for (int i = 0; i < 20_000; i++) {
            StringBuilder sb = new StringBuilder();
            for (int n = random.nextInt(40); n > 0; n--) {
                switch (random.nextInt(4)) {
                    case 0 -> sb.append((char) random.nextInt(0x80));
                    case 1 -> sb.append((char) random.nextInt(0x10000));
                    case 2 -> sb.appendCodePoint(0x10000 + random.nextInt(0x100000));
                    default -> sb.append("\"\\\n</>".charAt(random.nextInt(6)));
                }
            }
            String s = sb.toString();
            assertThat(ours(s)).isEqualTo(jackson(s));
        }
    }

    @Test
    void writesNullNumbersAndRawBytesAndGrows() {
        JsonBytes out = new JsonBytes(2);
        out.raw(JsonBytes.ascii("{\"a\":")).string(null).raw(JsonBytes.ascii(",\"n\":")).number(-1234567890123L)
                .raw(JsonBytes.ascii(",\"s\":")).string("x".repeat(100)).raw(JsonBytes.ascii("}"));
        assertThat(new String(out.toByteArray(), StandardCharsets.UTF_8))
                .isEqualTo("{\"a\":null,\"n\":-1234567890123,\"s\":\"" + "x".repeat(100) + "\"}");
        assertThat(out.reset().string("é").toByteArray()).containsExactly('"', 0xC3, 0xA9, '"');
    }
}
