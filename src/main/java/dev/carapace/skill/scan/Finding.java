package dev.carapace.skill.scan;

import java.util.Objects;

/**
 * One thing the scanner found in a skill's file.
 *
 * @param rule     the rule's id, e.g. {@code download-exec}, {@code credential-read}, {@code hidden-unicode}
 * @param severity how bad it is; {@link Severity#blocks()} says whether it needs an admin's approval
 * @param file     the file's path inside the skill, with {@code /} separators
 * @param line     the 1-based line, or 0 for the whole file (a binary, a file too large to scan whole)
 * @param excerpt  the line, clipped around what matched, with anything that looks like a secret masked; printable
 *                 (hidden characters shown as {@code <U+202E>})
 * @param meaning  what it means, in one or two sentences a reviewer can act on
 */
public record Finding(String rule, Severity severity, String file, int line, String excerpt, String meaning) {
    public Finding {
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(excerpt, "excerpt");
        Objects.requireNonNull(meaning, "meaning");
    }
}
