package dev.carapace.schedule;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

import static dev.carapace.text.Excerpt.clip;

/**
 * What a job does with the runs that fell due while no gateway ran it (see {@link MissedRuns}). Whatever it is, every
 * run not made is recorded as missed: never silently skipped. Stored and written by its {@link #label}.
 */
public enum MissedRunPolicy {
    /** Run once now, for the latest of them; the others are missed. The default. */
    RUN_ONCE,
    /** Run each of them, oldest first, up to a bound; those past the bound are missed. */
    RUN_ALL,
    /** Run none of them; all are missed, and the job waits for its next fire time. */
    SKIP;

    public static final MissedRunPolicy DEFAULT = RUN_ONCE;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** @throws IllegalArgumentException naming the accepted labels */
    public static MissedRunPolicy of(String label) {
        for (MissedRunPolicy p : values()) {
            if (p.label().equals(label)) return p;
        }
        throw new IllegalArgumentException("unknown missed-run policy '" + Inputs.printable(clip(String.valueOf(label), 40)) + "'; expected one of "
                + Arrays.stream(values()).map(MissedRunPolicy::label).collect(Collectors.joining(", ")));
    }
}
