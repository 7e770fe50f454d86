package dev.carapace.skill;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** What a reviewer and a model are shown of a skill's text: one definition of invisible for both. */
class SkillTextTest {

    @Test
    void aReviewerSeesVariationSelectorsThatCarriedBytesUnseen() {
        // a visible "ok" followed by bytes smuggled as variation selectors (U+E0100.. and U+FE00..)
        String smuggled = "ok" + new String(Character.toChars(0xE0161)) + "\uFE01" + "\n\tdone";
        assertThat(SkillText.reviewable(smuggled)).isEqualTo("ok\\uE0161\\uFE01\n\tdone");
    }

    @Test
    void bidiZeroWidthAndSeparatorsAreShownOrRemovedButVisibleTextIsKept() {
        assertThat(SkillText.reviewable("a\u202Eb\u200Bc\u2028d")).isEqualTo("a\\u202Eb\\u200Bc\\u2028d");
        assertThat(SkillText.oneLine("  Deploys\u200B the\u202E app\n\nsafely ")).isEqualTo("Deploys the app safely");
        assertThat(SkillText.oneLine("Café déjà vu — 東京")).isEqualTo("Café déjà vu — 東京");
    }
}
