package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Regression (found from outside): a file name an agent wrote, "secret CR ESC[2K readme.txt", was printed raw by
 * {@code carapace approvals list}; on a terminal the row showed only "readme.txt", so the operator saw a false target.
 */
class TerminalSafeWriterTest {

    static String through(String s) throws IOException {
        StringWriter out = new StringWriter();
        try (TerminalSafeWriter w = new TerminalSafeWriter(out)) {
            w.write(s);
        }
        return out.toString();
    }

    @Test
    void whatATerminalActsOnOrHidesIsWrittenAsAnEscape() throws IOException {
        assertThat(through("secret\r\u001b[2Kreadme.txt")).isEqualTo("secret\\u000d\\u001b[2Kreadme.txt");
        assertThat(through("invoice\u202egpj.exe\u200b\u0007")).isEqualTo("invoice\\u202egpj.exe\\u200b\\u0007");
        assertThat(through("a\u0000b\u001b]0;title\u0007")).isEqualTo("a\\u0000b\\u001b]0;title\\u0007");
    }

    @Test
    void textNewlinesTabsAndEveryVisibleCharacterPass() throws IOException {
        String text = "ID\tTARGET\nappr_1\tcafé 東京 😀 ünïcode\n";
        assertThat(through(text)).isEqualTo(text);
        assertThat(through("a,b\r\nc,d\r\n")).as("CSV's line ends").isEqualTo("a,b\r\nc,d\r\n");
        assertThat(through("x\r")).isEqualTo("x\\u000d");
    }

    @Test
    void aSurrogatePairSplitAcrossWritesStaysWholeAndALoneHalfIsEscaped() throws IOException {
        StringWriter out = new StringWriter();
        try (TerminalSafeWriter w = new TerminalSafeWriter(out)) {
            String face = "😀";
            w.write(face.charAt(0));
            w.write(face.charAt(1));
            w.write('\ud800');
            w.write('x');
            w.write('\udc00');
        }
        assertThat(out.toString()).isEqualTo("😀\\ud800x\\udc00");
    }

    @Test
    void jsonStaysTheSameJson() throws IOException {
        String json = "{\"target\":\"a\u202eb\",\"reason\":\"x\\\\u0000\"}";
        ObjectMapper m = new ObjectMapper();
        assertThat(m.readTree(through(json))).isEqualTo(m.readTree(json));
    }
}
