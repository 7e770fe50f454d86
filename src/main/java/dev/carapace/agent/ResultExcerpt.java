package dev.carapace.agent;

/**
 * The start of a tool call's result as a run's {@code tool_finished} event carries it: at most {@value #LINES} lines
 * and {@value #CHARS} characters, with what was left out counted, so a client can show a result at a glance (issue
 * 14: {@code carapace chat} showed only its first line) and say how much it did not show. The model always gets
 * the whole result; this is only what the people watching see.
 *
 * @param text      the first lines, without a trailing line break
 * @param moreLines lines of the result not in {@code text} at all
 * @param moreChars characters of the result not in {@code text} (a long line cut short counts here too)
 */
public record ResultExcerpt(String text, int moreLines, int moreChars) {

    public static final int LINES = 20;
    public static final int CHARS = 2_000;

    public static ResultExcerpt of(String content) {
        if (content == null || content.isEmpty()) return new ResultExcerpt("", 0, 0);
        String all = content.endsWith("\n") ? content.substring(0, content.length() - 1) : content;
        int total = 1;
        for (int i = 0; i < all.length(); i++) if (all.charAt(i) == '\n') total++;
        int shown = 0;
        int end = 0;   // where the excerpt ends in all
        while (shown < LINES && end <= all.length()) {
            int nl = all.indexOf('\n', end);
            int lineEnd = nl < 0 ? all.length() : nl;
            shown++;
            if (lineEnd > CHARS) {   // this line passes the character limit: cut it between two whole code points
                end = Character.isLowSurrogate(all.charAt(CHARS)) ? CHARS - 1 : CHARS;
                break;
            }
            end = lineEnd;
            if (nl < 0) break;
            if (shown < LINES) end = nl + 1;
        }
        String text = all.substring(0, end);
        if (text.endsWith("\n")) text = text.substring(0, text.length() - 1);
        return new ResultExcerpt(text, total - shown, all.length() - text.length());
    }
}
