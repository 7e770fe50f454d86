package dev.carapace.text;

/**
 * Characters that are not shown as themselves: what a reader sees of a text that holds them differs from what a
 * program (or a model) reads. One definition for every place that must make them visible or refuse them.
 */
public final class Invisible {

    private Invisible() {}

    /**
     * Whether {@code cp} is invisible: a control (tab and line breaks included), format (bidi overrides,
     * zero-width, tag characters), private-use, unassigned or surrogate character, a line or paragraph separator, or
     * a variation selector (which can smuggle bytes behind a visible character).
     */
    public static boolean is(int cp) {
        if ((cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF)) return true;
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.PRIVATE_USE, Character.UNASSIGNED,
                 Character.SURROGATE, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> true;
            default -> false;
        };
    }
}
