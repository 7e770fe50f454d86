package dev.carapace.skill.scan;

import java.util.List;
import java.util.regex.Pattern;

/**
 * A rule matched against each line of a skill's text files.
 *
 * @param id       the rule id findings carry
 * @param severity the severity of a match (before {@link Kind} adjusts it)
 * @param pattern  a bounded pattern (no nested unbounded repetition), run through {@code BoundedRegex}
 * @param meaning  what a match means, for the reviewer
 * @param kind     how the scanner adjusts a match
 * @param triggers lowercase words one of which a line must contain for the pattern to be run on it; empty: always run
 */
record LineRule(String id, Severity severity, Pattern pattern, String meaning, Kind kind, List<String> triggers) {

    /** How a match is judged beyond the pattern. */
    enum Kind {
        /** As it is. */
        PLAIN,
        /** Dropped when the line says not to ("do not", "never", "avoid") just before the match. */
        NEGATABLE,
        /** Download-and-execute: medium instead when every URL on the line is https on a host the skill declares. */
        DOWNLOAD,
        /**
         * A credential store named: the rule's severity when the line reads, copies or sends it or the file is a
         * script; low when prose only mentions it (a skill warning not to share {@code .env}).
         */
        CREDENTIAL
    }

    static LineRule of(String id, Severity severity, String regex, String meaning, Kind kind) {
        return new LineRule(id, severity, Pattern.compile(regex, Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE), meaning,
                kind, List.of());
    }

    /** This rule, run only on lines holding one of {@code words} (lowercase; every match of the pattern holds one). */
    LineRule when(String... words) {
        return new LineRule(id, severity, pattern, meaning, kind, List.of(words));
    }

    /** Whether the pattern can match a line whose lowercase form is {@code lower}. */
    boolean mayMatch(String lower) {
        if (triggers.isEmpty()) return true;
        for (String t : triggers) if (lower.contains(t)) return true;
        return false;
    }
}
