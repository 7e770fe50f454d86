package dev.carapace.server.cli;

import dev.carapace.text.Invisible;

import java.io.FilterWriter;
import java.io.IOException;
import java.io.Writer;

/**
 * Everything the CLI prints, with the characters a terminal acts on or hides written as a backslash, 'u' and four
 * hex digits: escape sequences, a CR that does not end a line (it lets a later text overwrite one), bidi overrides,
 * zero-width characters ({@link Invisible}). What the CLI prints comes from agents, models and clients (file names,
 * approval targets, reasons): an operator must see what is there, not what it makes the terminal show. Newlines and
 * tabs pass. JSON stays JSON: such characters only occur inside its strings, where that escape means the same
 * character.
 */
final class TerminalSafeWriter extends FilterWriter {

    /** The high half of a surrogate pair whose low half has not been written yet. */
    private char pendingHigh;
    /** A CR not yet written: before an LF it ends a line (CSV's CRLF), anywhere else it could overwrite one. */
    private boolean pendingCr;

    TerminalSafeWriter(Writer out) {
        super(out);
    }

    @Override
    public void write(int c) throws IOException {
        char ch = (char) c;
        if (pendingCr) {
            pendingCr = false;
            if (ch == '\n') {
                out.write("\r\n");
                return;
            }
            escape('\r');
        }
        if (ch == '\r' && pendingHigh == 0) {
            pendingCr = true;
            return;
        }
        if (pendingHigh != 0) {
            char high = pendingHigh;
            pendingHigh = 0;
            if (Character.isLowSurrogate(ch)) {
                int cp = Character.toCodePoint(high, ch);
                if (Invisible.is(cp)) escape(cp);
                else {
                    out.write(high);
                    out.write(ch);
                }
                return;
            }
            escape(high);
        }
        if (Character.isHighSurrogate(ch)) {
            pendingHigh = ch;
        } else if (ch != '\n' && ch != '\t' && Invisible.is(ch)) {
            escape(ch);
        } else {
            out.write(ch);
        }
    }

    @Override
    public void write(char[] buf, int off, int len) throws IOException {
        for (int i = off; i < off + len; i++) write(buf[i]);
    }

    @Override
    public void write(String s, int off, int len) throws IOException {
        for (int i = off; i < off + len; i++) write(s.charAt(i));
    }

    @Override
    public void close() throws IOException {
        if (pendingHigh != 0) escape(pendingHigh);
        if (pendingCr) escape('\r');
        pendingHigh = 0;
        pendingCr = false;
        super.close();
    }

    private void escape(int cp) throws IOException {
        if (cp > 0xffff) {
            for (char c : Character.toChars(cp)) out.write(String.format("\\u%04x", (int) c));
        } else {
            out.write(String.format("\\u%04x", cp));
        }
    }
}
