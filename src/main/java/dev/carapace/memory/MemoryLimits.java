package dev.carapace.memory;

import java.time.Duration;

/**
 * How much memory may hold and how fast it may be written, and how recency counts in a search.
 *
 * @param maxNoteBytes    one note's body at most, in UTF-8 (an append that would pass it is refused)
 * @param maxScopeBytes   all the notes of one scope (an agent's, or a team's) together at most
 * @param writesPerMinute writes one agent may make per minute (a burst of that many, then that rate)
 * @param halfLife        how fast a note's recency bonus fades: a note this old gets half the bonus of a new one
 */
public record MemoryLimits(int maxNoteBytes, long maxScopeBytes, int writesPerMinute, Duration halfLife) {

    public static final MemoryLimits DEFAULT = new MemoryLimits(64 * 1024, 8L * 1024 * 1024, 30, Duration.ofDays(30));

    public MemoryLimits {
        if (maxNoteBytes < 1 || maxScopeBytes < maxNoteBytes || writesPerMinute < 1) {
            throw new IllegalArgumentException("memory limits must be positive, a scope at least one note");
        }
        if (halfLife == null || halfLife.isNegative() || halfLife.isZero()) throw new IllegalArgumentException("halfLife > 0");
    }
}
