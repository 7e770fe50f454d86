package dev.carapace.text;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ExcerptTest {

    @Test
    void aValueUpToTheBoundIsQuotedWholeAndALongerOneCutWithAnEllipsis() {
        assertThat(Excerpt.clip(null, 5)).isEmpty();
        assertThat(Excerpt.clip("abcde", 5)).isEqualTo("abcde");
        assertThat(Excerpt.clip("abcdef", 5)).isEqualTo("abcde...");
        assertThat(Excerpt.clip("x".repeat(1_000_000), 60)).hasSize(63);
    }

    /** A cut between the two halves of a surrogate pair left a lone high surrogate, which no encoder can write. */
    @Test
    void aCutSplitAnEmojiInTwo() {
        String quoted = Excerpt.clip("abcd\uD83D\uDE00tail", 5);   // the cut falls inside the emoji
        assertThat(quoted).isEqualTo("abcd...");
        assertThat(quoted.chars().noneMatch(c -> Character.isSurrogate((char) c))).isTrue();
        assertThat(Excerpt.clip("abc\uD83D\uDE00tail", 5)).isEqualTo("abc\uD83D\uDE00...");
    }
}
