package dev.carapace.agent;

import java.util.Locale;

/** Where a run is: waiting, running, or how it ended. Stored by its {@link #label}. */
public enum RunStatus {
    QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED,
    /** Cut off (by a newer message, a shutdown or a crash); the session can be resumed. */
    INTERRUPTED,
    LIMIT_EXCEEDED;

    public String label() { return name().toLowerCase(Locale.ROOT); }

    public boolean isFinal() { return this != QUEUED && this != RUNNING; }

    public static RunStatus of(String label) { return valueOf(label.toUpperCase(Locale.ROOT)); }
}
