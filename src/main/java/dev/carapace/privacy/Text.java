package dev.carapace.privacy;

/** Character tests shared by the detectors; ASCII fast paths, Unicode where words in other scripts matter. */
final class Text {

    private Text() {}

    static boolean digit(char c) { return c >= '0' && c <= '9'; }

    static boolean upper(char c) { return c >= 'A' && c <= 'Z'; }

    static boolean lower(char c) { return c >= 'a' && c <= 'z'; }

    static boolean hex(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

    static boolean asciiAlnum(char c) { return digit(c) || upper(c) || lower(c); }

    /** A letter or digit of any script: what a value found inside a longer word would touch. */
    static boolean wordChar(char c) { return c < 128 ? asciiAlnum(c) : Character.isLetterOrDigit(c); }

    /** Whether a word may start at {@code i}: the text starts there or the char before is not part of a word. */
    static boolean wordStart(String s, int i) { return i == 0 || !wordChar(s.charAt(i - 1)); }

    /** Whether a word may end at {@code end} (exclusive). */
    static boolean wordEnd(String s, int end) { return end >= s.length() || !wordChar(s.charAt(end)); }

    /** Whether {@code s} at {@code i} starts with {@code prefix}. */
    static boolean at(String s, int i, String prefix) { return s.startsWith(prefix, i); }

    /** Whether one of {@code words} (lowercase) occurs in the {@code window} chars before {@code i}, ignoring case. */
    static boolean keywordBefore(String s, int i, int window, String... words) {
        int from = Math.max(0, i - window);
        if (from == i) return false;
        String before = s.substring(from, i).toLowerCase(java.util.Locale.ROOT);
        for (String w : words) if (before.contains(w)) return true;
        return false;
    }

    /** Shannon entropy in bits per char of {@code s[from, to)}. */
    static double entropy(String s, int from, int to) {
        int[] counts = new int[128];
        int other = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < 128) counts[c]++;
            else other++;
        }
        double n = to - from, h = 0;
        for (int k : counts) if (k > 0) h -= (k / n) * (Math.log(k / n) / Math.log(2));
        if (other > 0) h -= (other / n) * (Math.log(other / n) / Math.log(2));
        return h;
    }
}
