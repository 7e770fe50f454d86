package dev.carapace.memory;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What a note may be called: one spelling per name a reader sees. */
class NotePathsTest {

    @Test
    void ordinaryNamesInAnyOneScriptAreKept() {
        for (String p : List.of("plans/q1.md", "projects/deploy notes.md", "café/crème-brûlée.md", "東京/会議.md", "東京タワー/メモ.md",
                "архив/план.md", "2026-12/x_1.md")) {
            assertThat(NotePaths.check(p)).isEqualTo(p);
        }
    }

    /** Regression (found from outside): plans/q1.md, plаns/q1.md (Cyrillic а) and plans/ｑ１.md lived side by side. */
    @Test
    void lookalikesOfAnotherNameAreRefused() {
        assertThatThrownBy(() -> NotePaths.check("plans/ｑ１.md")).isInstanceOf(MemoryException.class)
                .hasMessageContaining("full-width or compatibility").hasMessageContaining("write 'q1.md'");
        assertThatThrownBy(() -> NotePaths.check("pl\u0430ns/q1.md")).isInstanceOf(MemoryException.class)
                .hasMessageContaining("mixes letters of several scripts");
        assertThatThrownBy(() -> NotePaths.check("ﬁle.md")).hasMessageContaining("write 'file.md'");   // a ligature
    }
}
