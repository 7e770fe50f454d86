package dev.carapace.skill.scan;

import java.util.Locale;

/**
 * How bad a finding is. {@link #HIGH} and {@link #CRITICAL} block: a skill version with one needs an admin's approval
 * before anyone can install it, whatever the auto-approval policy. The lower ones are shown to the reviewer and never
 * block on their own (a benign skill that calls its own API over curl has {@link #LOW} findings).
 */
public enum Severity {
    INFO, LOW, MEDIUM, HIGH, CRITICAL;

    /** Whether a finding of this severity keeps a version from being used until an admin approves it. */
    public boolean blocks() { return compareTo(HIGH) >= 0; }

    /** The lowercase name, as the API and the CLI show it. */
    public String label() { return name().toLowerCase(Locale.ROOT); }

    /** The severity named {@code label} (any case); null when it names none. */
    public static Severity of(String label) {
        for (Severity s : values()) if (s.name().equalsIgnoreCase(label)) return s;
        return null;
    }
}
