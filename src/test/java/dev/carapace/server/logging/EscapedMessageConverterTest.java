package dev.carapace.server.logging;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class EscapedMessageConverterTest {

    @Test
    void aLineBreakFromARequestCannotStartAForgedLine() {
        String path = "/v1/models/x\n00:00:00.000 ERROR carapace.access FORGED-LINE";
        String out = EscapedMessageConverter.escape("GET " + path + " 404");
        assertThat(out).doesNotContain("\n").contains("x\\n00:00:00.000 ERROR");
    }

    @Test
    void everyControlCharacterIsEscapedVisibly() {
        assertThat(EscapedMessageConverter.escape("a\rb\tc\0d\u001be\u007ff\u0085g\u2028h"))
                .isEqualTo("a\\rb\\tc\\u0000d\\u001be\\u007ff\\u0085g\\u2028h");
    }

    @Test
    void bidiOverridesAndZeroWidthCharactersAreEscapedTooButNotOtherText() {
        // found by a tester: a model name with U+202E reordered how the rest of its access line was shown
        assertThat(EscapedMessageConverter.escape("uni\u202ex\u200by\u2066z")).isEqualTo("uni\\u202ex\\u200by\\u2066z");
        assertThat(EscapedMessageConverter.escape("Grüße 🙂 日本")).isEqualTo("Grüße 🙂 日本");
    }

    @Test
    void plainTextIsReturnedAsItIs() {
        String s = "GET /v1/models 200 35us team=a user=b café";
        assertThat(EscapedMessageConverter.escape(s)).isSameAs(s);
    }
}
