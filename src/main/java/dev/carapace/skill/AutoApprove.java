package dev.carapace.skill;

import java.util.Locale;

/** Which published versions of a skill the org repository approves without an admin ({@code skills.auto_approve}). */
public enum AutoApprove {
    /** Every version waits for an admin. */
    NEVER,
    /** Versions whose findings are all low or info (the default). */
    CLEAN,
    /** Versions with no blocking (high or critical) finding. */
    UNBLOCKED;

    public static AutoApprove of(String text) { return valueOf(text.toUpperCase(Locale.ROOT)); }
}
