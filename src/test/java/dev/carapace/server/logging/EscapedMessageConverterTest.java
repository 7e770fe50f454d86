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
    void plainTextIsReturnedAsItIs() {
        String s = "GET /v1/models 200 35us team=a user=b café";
        assertThat(EscapedMessageConverter.escape(s)).isSameAs(s);
    }
}
