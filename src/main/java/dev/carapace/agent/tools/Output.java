package dev.carapace.agent.tools;

/** Text for the model, kept within a byte budget (UTF-8), one line at a time. */
final class Output {

    static final int DEFAULT_MAX_BYTES = 64 * 1024;

    private final StringBuilder text = new StringBuilder();
    private final int limit;
    private int bytes;
    private int lines;

    /** @param maxOutputBytes the call's cap; room is kept for a closing note */
    Output(int maxOutputBytes) {
        this.limit = budget(maxOutputBytes);
    }

    /** Bytes of content that fit under {@code maxOutputBytes} with room left for a one-line note. */
    static int budget(int maxOutputBytes) {
        int max = maxOutputBytes > 0 ? maxOutputBytes : DEFAULT_MAX_BYTES;
        return Math.max(1, max - Math.min(160, max / 4));
    }

    /** Appends {@code line} and a newline if they fit; otherwise appends nothing and returns false. */
    boolean line(String line) {
        int size = utf8Length(line) + 1;
        if (bytes + size > limit) return false;
        text.append(line).append('\n');
        bytes += size;
        lines++;
        return true;
    }

    /** Appends a closing note (not counted against the budget: its room was kept). */
    void note(String note) {
        text.append(note).append('\n');
    }

    /** The note saying that the file gate hid {@code n} files or entries: the model learns something was left out. */
    static String skippedByPolicy(int n, String one, String many) {
        return "[" + n + " " + (n == 1 ? one : many) + " skipped by policy]";
    }

    boolean isEmpty() {
        return lines == 0;
    }

    @Override
    public String toString() {
        int end = text.length();
        return end > 0 && text.charAt(end - 1) == '\n' ? text.substring(0, end - 1) : text.toString();
    }

    static int utf8Length(CharSequence s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) n++;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else n += 3;
        }
        return n;
    }

    /** A file name fit for a one-entry-per-line listing: control characters become '?'. */
    static String printable(String name) {
        StringBuilder b = null;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                if (b == null) b = new StringBuilder(name.substring(0, i));
                b.append('?');
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? name : b.toString();
    }
}
