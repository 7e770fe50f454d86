package dev.carapace.guard.egress;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The one spelling of a request path that rules are matched against and that is sent upstream, so a server can
 * never see a different path than the one the policy judged. Unreserved characters are percent-decoded
 * ({@code %2e} is {@code .}, {@code %41} is {@code A}), other escapes are kept in upper-case hex, empty segments
 * ({@code //}) are dropped and dot segments are resolved. Encoded slashes and backslashes ({@code %2f}, {@code %5c}),
 * backslashes, NUL, control characters, bad escapes and {@code ..} above the root are refused: servers disagree
 * about them, so a rule cannot safely say what they mean.
 */
final class CanonicalPath {

    private CanonicalPath() {}

    /**
     * @param raw the path part of a request target (no query), starting with {@code /}
     * @return the canonical path, starting with {@code /}
     * @throws IllegalArgumentException naming what is refused
     */
    static String of(String raw) {
        if (raw.isEmpty() || raw.charAt(0) != '/') throw new IllegalArgumentException("the path must start with '/'");
        Deque<String> segments = new ArrayDeque<>();
        boolean trailingSlash = false;
        int i = 1;
        while (i <= raw.length()) {
            int end = raw.indexOf('/', i);
            if (end < 0) end = raw.length();
            String segment = decodeSegment(raw, i, end);
            trailingSlash = end == raw.length() ? segment.isEmpty() || isDots(segment) : trailingSlash;
            switch (segment) {
                case "", "." -> { }
                case ".." -> {
                    if (segments.isEmpty()) throw new IllegalArgumentException("the path climbs above the root ('..')");
                    segments.removeLast();
                }
                default -> segments.addLast(segment);
            }
            i = end + 1;
        }
        StringBuilder out = new StringBuilder(raw.length());
        for (String s : segments) out.append('/').append(s);
        if (out.isEmpty() || trailingSlash) out.append('/');
        return out.toString();
    }

    private static boolean isDots(String s) {
        return s.equals(".") || s.equals("..");
    }

    private static String decodeSegment(String raw, int from, int to) {
        StringBuilder b = new StringBuilder(to - from);
        for (int i = from; i < to; i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= to) {
                    throw new IllegalArgumentException("the path has an incomplete percent escape");
                }
                int hi = Character.digit(raw.charAt(i + 1), 16);
                int lo = Character.digit(raw.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) throw new IllegalArgumentException("the path has an invalid percent escape");
                int value = hi * 16 + lo;
                if (value == '/' || value == '\\') {
                    throw new IllegalArgumentException("the path has an encoded slash or backslash (%2F, %5C)");
                }
                if (value < 0x20 || value == 0x7f) {
                    throw new IllegalArgumentException("the path has an encoded control character");
                }
                if (isUnreserved(value)) b.append((char) value);
                else b.append('%').append(Character.toUpperCase(raw.charAt(i + 1))).append(Character.toUpperCase(raw.charAt(i + 2)));
                i += 2;
            } else if (c == '\\') {
                throw new IllegalArgumentException("the path has a backslash");
            } else if (c <= 0x20 || c >= 0x7f) {
                throw new IllegalArgumentException("the path has a space, control or non-ASCII character");
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean isUnreserved(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
                || c == '_' || c == '~';
    }
}
