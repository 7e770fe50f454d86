package dev.carapace.memory;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Regression (found from outside): text the model's library finds blank, though String#isBlank does not, was a 500. */
class MiniLmEmbedderTest {

    @Test
    void textWithNothingVisibleIsEmbeddedAsNothingInsteadOfFailing() {
        List<String> texts = List.of("\u0000", "\u200b", "\u00a0", "\u0001\u0002", "\u001f\u007f", "roadmap");
        List<float[]> vectors = TestEmbedder.shared().embed(texts);
        assertThat(vectors).hasSize(texts.size());
        float[] nothing = TestEmbedder.shared().embed(List.of(".")).get(0);
        for (int i = 0; i < 5; i++) assertThat(vectors.get(i)).as(texts.get(i)).containsExactly(nothing);
        assertThat(vectors.get(5)).isNotEqualTo(nothing);
    }

    @Test
    void visibleMeansALetterDigitMarkOrSymbol() {
        assertThat(MiniLmEmbedder.visible("\u200b\u00a0\t\u0000")).isFalse();
        assertThat(MiniLmEmbedder.visible("\u200bx")).isTrue();
        assertThat(MiniLmEmbedder.visible("€")).isTrue();
    }
}
