package dev.carapace.privacy;

import java.util.List;
import java.util.Set;

/** Finds e-mail addresses from their '@': a local part before it, a domain with a letters-only top level after. */
final class Emails {

    private static final int MAX_LOCAL = 64;
    private static final int MAX_DOMAIN = 253;
    /** "icon@2x.png" and the like: file names, not addresses (none of these is a top-level domain). */
    private static final Set<String> FILE_EXTENSIONS = Set.of("png", "jpg", "jpeg", "gif", "svg", "webp", "bmp",
            "ico", "js", "mjs", "ts", "css", "html", "json", "yaml", "yml", "txt", "pdf", "jar", "java", "py");

    private Emails() {}

    /** {@code at} is an '@'; returns where scanning goes on. */
    static int scan(String s, int at, List<Finding> out) {
        int n = s.length();
        int start = at;
        while (start > 0 && at - start < MAX_LOCAL && localChar(s.charAt(start - 1))) start--;
        while (start < at && s.charAt(start) == '.') start++;
        if (start == at || s.charAt(at - 1) == '.') return at + 1;
        int end = at + 1;
        while (end < n && end - at <= MAX_DOMAIN) {
            char c = s.charAt(end);
            if (c == '.') {
                if (end == at + 1 || s.charAt(end - 1) == '.' || s.charAt(end - 1) == '-') break;
            } else if (!(c == '-' || (c < 128 ? Text.asciiAlnum(c) : Character.isLetterOrDigit(c)))) {
                break;
            }
            end++;
        }
        while (end > at + 1 && (s.charAt(end - 1) == '.' || s.charAt(end - 1) == '-')) end--;
        int lastDot = end - 1;
        while (lastDot > at && s.charAt(lastDot) != '.') lastDot--;   // not lastIndexOf: it would run to the text's start
        if (lastDot <= at + 1) return at + 1;
        int tld = end - lastDot - 1;
        if (tld < 2 || tld > 24) return at + 1;
        for (int p = lastDot + 1; p < end; p++) if (!Character.isLetter(s.charAt(p))) return at + 1;
        if (tld <= 4 && FILE_EXTENSIONS.contains(s.substring(lastDot + 1, end).toLowerCase(java.util.Locale.ROOT))) {
            return at + 1;
        }
        out.add(new Finding("email", Finding.PII, start, end, 0.95));
        return end;
    }

    private static boolean localChar(char c) {
        if (c < 128) return Text.asciiAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
        return Character.isLetterOrDigit(c);
    }
}
