package dev.carapace.text;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class Utf8Test {

    static int at(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) bytes[i];
        return Utf8.firstInvalidOrZero(b);
    }

    @Test
    void validTextPasses() {
        assertThat(Utf8.firstInvalidOrZero("{\"a\":\"café ✓ 𝄞 \\u0000\"}".getBytes(StandardCharsets.UTF_8))).isEqualTo(-1);
        assertThat(at()).isEqualTo(-1);
        assertThat(at(0xf4, 0x8f, 0xbf, 0xbf)).as("U+10FFFF").isEqualTo(-1);
        assertThat(at(0xef, 0xbb, 0xbf, '{', '}')).as("a BOM is a character").isEqualTo(-1);
    }

    @Test
    void theFormsJacksonWouldDecodeAnywayAreRefused() {
        assertThat(at('"', 0xc0, 0xaf, '"')).as("overlong '/'").isEqualTo(1);
        assertThat(at(0xe0, 0x80, 0xaf)).as("overlong, three bytes").isZero();
        assertThat(at(0xf0, 0x80, 0x80, 0xaf)).as("overlong, four bytes").isZero();
        assertThat(at('a', 0xed, 0xa0, 0x80)).as("a surrogate").isEqualTo(1);
        assertThat(at(0xf4, 0x90, 0x80, 0x80)).as("past U+10FFFF").isZero();
        assertThat(at(0xf5, 0x80, 0x80, 0x80)).isZero();
        assertThat(at(0xff)).isZero();
        assertThat(at('a', 0x80)).as("a stray continuation byte").isEqualTo(1);
        assertThat(at('a', 'b', 0xe2, 0x9c)).as("cut short").isEqualTo(2);
        assertThat(at(0xe2, 0x28, 0x93)).as("a continuation missing").isZero();
    }

    @Test
    void utf16AndUtf32AreRefusedByTheirZeroBytes() {
        assertThat(Utf8.firstInvalidOrZero("{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_16BE))).isZero();
        assertThat(Utf8.firstInvalidOrZero("{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_16LE))).isEqualTo(1);
    }

    /** Agrees with the JDK's strict decoder (which also refuses all of the above) on random bytes near UTF-8. */
    @Test
    void agreesWithTheJdkDecoderOnRandomBytes() {
        Random random = new Random(42);
        int[] pool = {0x20, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed,
                0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff};
        for (int round = 0; round < 200_000; round++) {
            byte[] b = new byte[1 + random.nextInt(6)];
            for (int i = 0; i < b.length; i++) b[i] = (byte) pool[random.nextInt(pool.length)];
            boolean jdkValid;
            try {
                StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b));
                jdkValid = true;
            } catch (CharacterCodingException e) {
                jdkValid = false;
            }
            assertThat(Utf8.firstInvalidOrZero(b) == -1).as("%s", java.util.HexFormat.ofDelimiter(" ").formatHex(b))
                    .isEqualTo(jdkValid);
        }
    }
}
