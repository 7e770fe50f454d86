package dev.carapace.guard.policy;

import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Glob patterns compiled once, at load. Two dialects: paths ({@code *} and {@code ?} stay within one segment,
 * {@code **} crosses segments, {@code /**}{@code /} also matches a single {@code /}) and text ({@code *} matches
 * anything, for commands, URLs and tool names). A pattern without wildcards is a plain equality test.
 */
final class Globs {

    private Globs() {}

    static boolean hasWildcard(String glob) { return glob.indexOf('*') >= 0 || glob.indexOf('?') >= 0; }

    static Predicate<String> path(String glob) {
        if (!hasWildcard(glob)) return glob::equals;
        if (glob.equals("/**") || glob.equals("**")) return s -> true;
        return regex(glob, true);
    }

    static Predicate<String> text(String glob) {
        if (!hasWildcard(glob)) return glob::equals;
        if (glob.equals("*")) return s -> true;
        return regex(glob, false);
    }

    private static Predicate<String> regex(String glob, boolean paths) {
        StringBuilder re = new StringBuilder();
        StringBuilder literal = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            if (c != '*' && c != '?') {
                literal.append(c);
                continue;
            }
            if (!literal.isEmpty()) {
                re.append(Pattern.quote(literal.toString()));
                literal.setLength(0);
            }
            if (c == '?') {
                re.append(paths ? "[^/]" : ".");
            } else if (i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
                i++;
                // "/**/" matches one slash too: /**/info/refs matches /info/refs
                if (paths && i + 1 < glob.length() && glob.charAt(i + 1) == '/' && endsWithSlash(re)) {
                    re.append("(?:.*/)?");
                    i++;
                } else {
                    re.append(".*");
                }
            } else {
                re.append(paths ? "[^/]*" : ".*");
            }
        }
        if (!literal.isEmpty()) re.append(Pattern.quote(literal.toString()));
        Pattern p = Pattern.compile(re.toString(), Pattern.DOTALL);
        return s -> p.matcher(s).matches();
    }

    private static boolean endsWithSlash(StringBuilder re) {
        return re.length() >= 3 && re.substring(re.length() - 3).equals("/\\E");
    }
}
