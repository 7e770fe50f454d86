package dev.carapace.agent.tools;

import java.time.Duration;

/** A point in time (System.nanoTime) after which a tool call stops working. */
final class Deadline {

    static final Duration DEFAULT = Duration.ofSeconds(30);

    private final long end;

    private Deadline(long end) {
        this.end = end;
    }

    /** {@code timeout} from now; null, zero or negative means {@link #DEFAULT}. */
    static Deadline in(Duration timeout) {
        Duration d = timeout == null || timeout.isZero() || timeout.isNegative() ? DEFAULT : timeout;
        return new Deadline(System.nanoTime() + Math.min(d.toNanos(), Long.MAX_VALUE / 4));
    }

    boolean passed() {
        return System.nanoTime() - end >= 0;
    }

    /** The earlier of this deadline and {@code budget} from now, as a nanoTime value. */
    long endWithin(Duration budget) {
        long other = System.nanoTime() + budget.toNanos();
        return other - end < 0 ? other : end;
    }
}
