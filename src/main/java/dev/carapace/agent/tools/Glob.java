package dev.carapace.agent.tools;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Glob patterns with the syntax of java.nio's {@code glob:} PathMatcher ({@code *} within a name, {@code **} across
 * directories, {@code ?}, {@code [a-z]}, {@code [!x]}, {@code {a,b}}, {@code \} escapes), plus one convenience:
 * {@code **}{@code /} also matches no directory at all, so {@code **}{@code /*.java} finds top-level files too.
 * Translated here rather than with {@code FileSystem.getPathMatcher} so the match can run under a time budget
 * ({@link BoundedRegex}): a glob like {@code *a*a*a*a*a*b} backtracks catastrophically on long names.
 */
final class Glob {

    static final int MAX_LENGTH = 1000;

    private Glob() {}

    static Pattern compile(String glob, String argument) throws ArgumentException {
        if (glob.isEmpty()) throw new ArgumentException("argument '" + argument + "' must not be empty");
        if (glob.length() > MAX_LENGTH) {
            throw new ArgumentException("argument '" + argument + "' is longer than " + MAX_LENGTH + " characters");
        }
        if (glob.startsWith("/")) {
            throw new ArgumentException("argument '" + argument + "' must be relative (it is matched below path)");
        }
        StringBuilder re = new StringBuilder();
        boolean inGroup = false;
        int i = 0;
        int n = glob.length();
        while (i < n) {
            char c = glob.charAt(i++);
            switch (c) {
                case '\\' -> {
                    if (i == n) throw bad(argument, "ends with a lone \\");
                    literal(re, glob.charAt(i++));
                }
                case '*' -> {
                    if (i < n && glob.charAt(i) == '*') {
                        i++;
                        if (i < n && glob.charAt(i) == '/') {
                            i++;
                            re.append("(?:.*/)?");
                        } else {
                            re.append(".*");
                        }
                    } else {
                        re.append("[^/]*");
                    }
                }
                case '?' -> re.append("[^/]");
                case '[' -> i = bracket(glob, i, re, argument);
                case '{' -> {
                    if (inGroup) throw bad(argument, "has nested { }");
                    inGroup = true;
                    re.append("(?:");
                }
                case '}' -> {
                    if (inGroup) {
                        inGroup = false;
                        re.append(')');
                    } else {
                        literal(re, c);
                    }
                }
                case ',' -> {
                    if (inGroup) re.append('|');
                    else literal(re, c);
                }
                default -> literal(re, c);
            }
        }
        if (inGroup) throw bad(argument, "has an unclosed {");
        try {
            return Pattern.compile(re.toString());
        } catch (PatternSyntaxException e) {
            throw bad(argument, "is not a valid glob");
        }
    }

    /** Translates a bracket expression starting after '['; returns the index after its ']'. */
    private static int bracket(String glob, int i, StringBuilder re, String argument) throws ArgumentException {
        int n = glob.length();
        StringBuilder set = new StringBuilder("[");
        if (i < n && (glob.charAt(i) == '!' || glob.charAt(i) == '^')) {
            set.append('^');
            i++;
        }
        boolean first = true;
        boolean closed = false;
        while (i < n) {
            char c = glob.charAt(i++);
            if (c == ']' && !first) {
                closed = true;
                break;
            }
            first = false;
            if (c == '\\') {
                if (i == n) break;
                literal(set, glob.charAt(i++));
                continue;
            }
            if (c == '/') throw bad(argument, "has '/' inside [ ]");
            boolean range = c == '-' && set.length() > 1 && set.charAt(set.length() - 1) != '^'
                    && i < n && glob.charAt(i) != ']';
            if (range) set.append('-');
            else literal(set, c);
        }
        if (!closed) throw bad(argument, "has an unclosed [");
        re.append(set).append("&&[^/]]");
        return i;
    }

    private static void literal(StringBuilder re, char c) {
        if (Character.isLetterOrDigit(c) || c > 127) re.append(c);
        else re.append('\\').append(c);
    }

    private static ArgumentException bad(String argument, String why) {
        return new ArgumentException("argument '" + argument + "' " + why);
    }
}
