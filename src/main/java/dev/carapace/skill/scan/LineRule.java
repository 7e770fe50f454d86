package dev.carapace.skill.scan;

import java.util.regex.Pattern;

/**
 * A rule matched against each line of a skill's text files.
 *
 * @param id       the rule id findings carry
 * @param severity the severity of a match (before {@link Kind} adjusts it)
 * @param pattern  a bounded pattern (no nested unbounded repetition), run through {@code BoundedRegex}
 * @param meaning  what a match means, for the reviewer
 * @param kind     how the scanner adjusts a match
 */
record LineRule(String id, Severity severity, Pattern pattern, String meaning, Kind kind) {

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
        return new LineRule(id, severity, Pattern.compile(regex, Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE), meaning, kind);
    }
}
