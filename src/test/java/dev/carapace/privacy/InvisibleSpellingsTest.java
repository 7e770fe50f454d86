package dev.carapace.privacy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A value spelled with characters a model reads through: zero-width characters, soft hyphens, bidi marks, word
 * joiners, variation selectors, controls, fullwidth or mathematical digits and letters. The detectors read ASCII, so
 * before {@link ReadingView} such a card number or key went to an outside model unredacted (the /v1 blind spot noted
 * at issue 18, where the channels' screen already read text this way).
 */
class InvisibleSpellingsTest {

    final Scanner scanner = new Scanner(PrivacySpec.DEFAULT);

    /** Each {@code \\uXXXX} of a row becomes that char: the CSV stays readable. */
    private static String spelled(String escaped) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < escaped.length(); i++) {
            if (escaped.startsWith("\\u", i)) {
                b.appendCodePoint(Integer.parseInt(escaped.substring(i + 2, i + 6), 16));
                i += 5;
            } else if (escaped.startsWith("\\U", i)) {   // a supplementary code point: \\UXXXXX
                b.appendCodePoint(Integer.parseInt(escaped.substring(i + 2, i + 7), 16));
                i += 6;
            } else {
                b.append(escaped.charAt(i));
            }
        }
        return b.toString();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "my card is 4539\\u200b5787\\u200b6362\\u200b1486 thanks|card",          // zero-width space
            "my card is 4\\u200c5\\u200d3\\u20609578763621486|card",                  // ZWNJ, ZWJ, word joiner
            "my card is 4539\\u00ad5787\\u00ad6362\\u00ad1486|card",                  // soft hyphens
            "my card is \\u202e4539578763621486\\u202c|card",                         // bidi override
            "my card is 4539\\ufeff578763621486|card",                                // BOM inside
            "my card is 4539\\ufe0f578763621486|card",                                // variation selector
            "my card is 4539\\u0007578763621486|card",                                // a control char
            "my card is \\uff14\\uff15\\uff13\\uff19578763621486|card",               // fullwidth digits
            "my card is \\U1d7d2539578763621486|card",                                // mathematical bold 4
            "my card is 4539\\ud800578763621486|card",                                // a lone surrogate
            "my card is \\u0664\\u0665\\u0663\\u0669578763621486|card",               // Arabic-Indic digits
            "my card is \\u096a\\u096b\\u0969\\u096f578763621486|card",               // Devanagari digits
            "my card is 4\\u03015\\u03013\\u03019578763621486|card",                  // combining accents
            "my card is 4\\ufe0f\\u20e35\\ufe0f\\u20e3\\u0033\\u20e39578763621486|card", // keycaps
            "ssn 536\\u200b-22-8741|ssn",
            "mail jw.k7\\u200b@qz-mail.net|email",
            "mail jw.k7\\uff20qz-mail.net|email",                                     // fullwidth @
            "key s\\u200bk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789|anthropic_key",
            "key \\uff53\\uff4b-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd|openai_key",
            "aws \\uff21KIAIOSFODNN7EXAMPLE|aws_access_key"})
    void aValueSpelledToSlipPastIsFoundOverAllItsCharsAsWritten(String row, String type) {
        String text = spelled(row);
        List<Finding> found = scanner.scan(text);
        assertThat(found).as(row).extracting(Finding::type).contains(type);
        Finding f = found.stream().filter(x -> x.type().equals(type)).findFirst().orElseThrow();
        // the span covers the whole value as written, invisible chars inside included, and nothing of the words around
        assertThat(text.substring(f.start(), f.end())).as(row).doesNotContain(" ");
        assertThat(visible(text.substring(0, f.start()))).as(row).endsWith(" ");
        assertThat(visible(text.substring(f.end()))).as(row).matches("( .*)?");
    }

    private static String visible(String s) {
        return s.codePoints().filter(cp -> !dev.carapace.text.Invisible.is(cp))
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    }

    @Test
    void aRedactionReplacesTheInvisibleCharsInsideTheValueToo() {
        String text = spelled("pay with 4539\\u200b5787\\u200b6362\\u200b1486, mail jw\\u200b@qz-mail.net");
        List<Finding> found = scanner.scan(text);
        assertThat(found).extracting(Finding::type).containsExactly("card", "email");
        StringBuilder left = new StringBuilder(text);
        for (int i = found.size() - 1; i >= 0; i--) left.replace(found.get(i).start(), found.get(i).end(), "#");
        assertThat(left.toString()).isEqualTo("pay with #, mail #");
    }

    @Test
    void textThatReadsAsWrittenIsScannedAsIsAndOffsetsStayUtf16() {
        String text = "Grüße 🙂 an jürgen@firma.de, Karte 4539 5787 6362 1486";
        List<Finding> found = scanner.scan(text);
        assertThat(found).extracting(f -> f.type() + ":" + text.substring(f.start(), f.end()))
                .containsExactly("email:jürgen@firma.de", "card:4539 5787 6362 1486");
    }

    @Test
    void manyCharsThatExpandThenALongRunStillMapBack() {
        String text = "\ufdfa".repeat(40) + " " + "x".repeat(5_000) + " 4539\u200b578763621486";
        List<Finding> found = scanner.scan(text);
        assertThat(found).hasSize(1);
        assertThat(text.substring(found.get(0).start(), found.get(0).end())).isEqualTo("4539\u200b578763621486");
    }

    @Test
    void findingsInsideOneCharThatReadsAsSeveralNeverOverlapAsWritten() {
        ReadingView view = ReadingView.of("x\u00bcy");        // reads x1⁄4y
        assertThat(view.text).isEqualTo("x1\u20444y");
        List<Finding> mapped = view.written(List.of(new Finding("a", "pii", 0, 2, 1), new Finding("b", "pii", 3, 5, 1)));
        assertThat(mapped).extracting(f -> f.start() + ".." + f.end()).containsExactly("0..2", "2..3");
        assertThat(view.written(List.of(new Finding("a", "pii", 1, 2, 1), new Finding("b", "pii", 3, 4, 1))))
                .as("both over the one char as written: the same span, as a format and its credential are")
                .extracting(f -> f.start() + ".." + f.end()).containsExactly("1..2", "1..2");
    }

    @Test
    void aTextOfFullwidthCharsIsOneRunAndMapsCharForChar() {
        String text = "\uff34\uff4f\uff4b\uff45\uff4e: \uff14\uff15\uff13\uff19\uff15\uff17\uff18\uff17\uff16\uff13\uff16\uff12\uff11\uff14\uff18\uff16";
        List<Finding> found = scanner.scan(text);
        assertThat(found).as("a card after a secret's name: the card and the credential")
                .extracting(f -> f.type() + ":" + f.start() + ".." + f.end())
                .containsExactly("card:7.." + text.length(), "credential:7.." + text.length());
    }

    @Test
    void aLigatureThatExpandsMapsBackOntoItsOneChar() {
        // U+FB01 (fi) reads as two chars: a finding after it must still point at the right chars as written
        String text = spelled("\\ufb01le \\ufb01le: 4539\\u200b578763621486");
        List<Finding> found = scanner.scan(text);
        assertThat(found).hasSize(1);
        assertThat(text.substring(found.get(0).start(), found.get(0).end())).isEqualTo(spelled("4539\\u200b578763621486"));
    }
}
