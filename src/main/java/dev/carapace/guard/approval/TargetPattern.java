package dev.carapace.guard.approval;

import java.util.regex.Pattern;

/**
 * The target part of a standing grant: a glob over the guard's target text (a path, host:port/path, a command).
 * {@code **} matches anything, {@code *} anything but {@code /}, {@code ?} one character but {@code /}; everything
 * else is literal, and {@code \\} makes the next character literal. The empty pattern matches only calls without a target. Matching is on the whole target.
 */
public record TargetPattern(String glob, Pattern regex) {

    public static TargetPattern of(String glob) {
        if (glob == null) throw new IllegalArgumentException("target pattern: required");
        if (glob.length() > 1024) throw new IllegalArgumentException("target pattern: at most 1024 characters");
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            if (c == '\\' && i + 1 < glob.length()) {
                re.append(Pattern.quote(String.valueOf(glob.charAt(++i))));
            } else if (c == '*' && i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
                re.append(".*");
                i++;
            } else if (c == '*') {
                re.append("[^/]*");
            } else if (c == '?') {
                re.append("[^/]");
            } else {
                re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return new TargetPattern(glob, Pattern.compile(re.toString(), Pattern.DOTALL));
    }

    /** Whether {@code target} (null: no target) is covered. */
    public boolean matches(String target) {
        return regex.matcher(target == null ? "" : target).matches();
    }

    /** The pattern that covers exactly {@code target} (null: calls without a target) and nothing else. */
    public static String exact(String target) {
        if (target == null) return "";
        StringBuilder b = new StringBuilder(target.length() + 8);
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c == '*' || c == '?' || c == '\\') b.append('\\');
            b.append(c);
        }
        return b.toString();
    }
}
