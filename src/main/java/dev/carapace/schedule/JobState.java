package dev.carapace.schedule;

import java.util.Locale;

/** Whether a job runs: {@code active}, {@code paused} (by its owner, or after repeated failures) or {@code ended}. */
public enum JobState {
    ACTIVE, PAUSED,
    /** A one-shot job that has run, or a schedule with no time left. */
    ENDED;

    public String label() { return name().toLowerCase(Locale.ROOT); }

    public static JobState of(String label) { return valueOf(label.toUpperCase(Locale.ROOT)); }
}
