package dev.carapace.agent;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The bounded start of a tool result that {@code tool_finished} events carry (issue 14: chat showed one line). */
class ResultExcerptTest {

    static String lines(int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 1; i <= n; i++) b.append("l").append(i).append('\n');
        return b.toString();
    }

    @Test
    void upToTwentyLinesAreShownWhole() {
        assertThat(ResultExcerpt.of(null)).isEqualTo(new ResultExcerpt("", 0, 0));
        assertThat(ResultExcerpt.of("")).isEqualTo(new ResultExcerpt("", 0, 0));
        assertThat(ResultExcerpt.of("one")).isEqualTo(new ResultExcerpt("one", 0, 0));
        assertThat(ResultExcerpt.of("one\n")).isEqualTo(new ResultExcerpt("one", 0, 0));
        assertThat(ResultExcerpt.of("a\n\nb")).isEqualTo(new ResultExcerpt("a\n\nb", 0, 0));
        ResultExcerpt twenty = ResultExcerpt.of(lines(20));
        assertThat(twenty.text()).isEqualTo(lines(20).strip());
        assertThat(twenty.moreLines()).isZero();
        assertThat(twenty.moreChars()).isZero();
    }

    @Test
    void moreLinesAreCountedNotShown() {
        ResultExcerpt e = ResultExcerpt.of(lines(21));
        assertThat(e.text()).isEqualTo(lines(20).strip());
        assertThat(e.moreLines()).isEqualTo(1);
        assertThat(e.moreChars()).isEqualTo("\nl21".length());
        assertThat(ResultExcerpt.of(lines(1_000)).moreLines()).isEqualTo(980);
    }

    @Test
    void moreThanTwoThousandCharactersAreCutBetweenWholeCodePoints() {
        ResultExcerpt wide = ResultExcerpt.of("x".repeat(5_000));
        assertThat(wide.text()).hasSize(ResultExcerpt.CHARS);
        assertThat(wide.moreLines()).isZero();
        assertThat(wide.moreChars()).isEqualTo(3_000);

        // an emoji (two chars) straddling the limit is left out whole, never split into half a surrogate pair
        ResultExcerpt emoji = ResultExcerpt.of("x".repeat(ResultExcerpt.CHARS - 1) + "😀" + "y");
        assertThat(emoji.text()).isEqualTo("x".repeat(ResultExcerpt.CHARS - 1));
        assertThat(emoji.moreChars()).isEqualTo(3);

        // short lines, then one that passes the limit: the lines before are whole, the later ones counted
        String text = "short\n" + "z".repeat(3_000) + "\nafter\n";
        ResultExcerpt mixed = ResultExcerpt.of(text);
        assertThat(mixed.text()).startsWith("short\nzzz").hasSize(ResultExcerpt.CHARS);
        assertThat(mixed.moreLines()).isEqualTo(1);
    }
}
