package dev.carapace.skill.repo;

import java.util.Locale;

/** Where a version's review stands: only an approved version can be installed or served to an agent. */
public enum ReviewState {
    PENDING, APPROVED, REJECTED;

    public String label() { return name().toLowerCase(Locale.ROOT); }

    public static ReviewState of(String label) { return valueOf(label.toUpperCase(Locale.ROOT)); }
}
