package dev.carapace.skill;

import dev.carapace.text.Invisible;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Text a skill's author chose, made safe to show: in the model's prompt ({@link #oneLine}) and in messages
 * ({@link #quote}). A name or description may hide bidirectional overrides, zero-width or tag characters that make
 * what a reviewer reads differ from what a model reads; those never reach either.
 */
public final class SkillText {

    private SkillText() {}

    /**
     * {@code text} on one line: control, format (bidi overrides, zero-width, tags), private-use and unassigned
     * characters removed, line and paragraph breaks and runs of white space made one space, trimmed. Visible text
     * is kept as it is.
     */
    public static String oneLine(String text) {
        if (text == null) return "";
        StringBuilder sb = new StringBuilder(text.length());
        boolean space = false;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
                space = sb.length() > 0;
                continue;
            }
            if (Invisible.is(cp)) continue;
            if (space) sb.append(' ');
            space = false;
            sb.appendCodePoint(cp);
        }
        return sb.toString();
    }

    /**
     * A skill file's bytes as the text an agent may be served, or null when they are not: strict UTF-8 without a NUL
     * byte. The one definition the {@code skill} tool, the folder loader and the repository share, so that no file is
     * served as text that the scanner (which reads every NUL-free UTF-8 file as text) judged "binary, not scanned".
     */
    public static String servable(byte[] bytes) {
        if (hasNul(bytes)) return null;
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** Whether {@code bytes} hold a NUL byte (text tools and the scanner take such a file for binary). */
    public static boolean hasNul(byte[] bytes) {
        for (byte b : bytes) if (b == 0) return true;
        return false;
    }

    /** {@code value} quoted for a message: hidden characters written as {@code \}{@code uXXXX}, at most 60 shown. */
    public static String quote(String value) {
        StringBuilder sb = new StringBuilder("'");
        int shown = 0;
        for (int i = 0; i < value.length() && shown < 60; shown++) {
            int cp = value.codePointAt(i);
            i += Character.charCount(cp);
            if (Invisible.is(cp)) sb.append(String.format("\\u%04X", cp));
            else sb.appendCodePoint(cp);
            if (shown == 59 && i < value.length()) sb.append("...");
        }
        return sb.append('\'').toString();
    }

    /**
     * A skill file's text as a reviewer should read it: every hidden character but line breaks and tabs written as
     * {@code \}{@code uXXXX}, so a bidi override or a zero-width run cannot show the reviewer other text than the model
     * reads.
     */
    public static String reviewable(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            if (cp != '\n' && cp != '\t' && Invisible.is(cp)) sb.append(String.format("\\u%04X", cp));
            else sb.appendCodePoint(cp);
        });
        return sb.toString();
    }
}
