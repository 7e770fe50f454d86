package dev.carapace.text;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Regex matching that cannot hang, for patterns and texts Carapace did not choose (an agent's grep, an org's privacy
 * patterns). The text is read through a {@link CharSequence} that counts the characters the engine reads and checks
 * the clock and the thread's interrupt flag every so many reads: backtracking reads the text all the time, so a
 * catastrophic pattern is stopped soon after its budget. Deep recursion on a long input is stopped too.
 */
public final class BoundedRegex {

    /** No limit on reads, or no deadline. */
    public static final long UNLIMITED = Long.MAX_VALUE;

    /** The regex ran out of reads or time, or out of stack (deep recursion on a long input). */
    public static final class TooCostly extends Exception {
        public final boolean stack;

        TooCostly(boolean stack) {
            super(null, null, false, false);
            this.stack = stack;
        }
    }

    private BoundedRegex() {}

    /**
     * A matcher for {@code pattern} over {@code text} that gives up after {@code maxReads} character reads or at
     * {@code endNanos} (a {@link System#nanoTime} value), whichever comes first; run it with {@link #find(Matcher)} or
     * {@link #matches(Matcher)}.
     */
    public static Matcher matcher(Pattern pattern, CharSequence text, long maxReads, long endNanos) {
        return pattern.matcher(new Bounded(text, maxReads, endNanos));
    }

    /** {@link Matcher#find()} on a {@link #matcher}, within its budget. */
    public static boolean find(Matcher m) throws TooCostly, InterruptedException {
        return run(m, false);
    }

    /** {@link Matcher#matches()} on a {@link #matcher}, within its budget. */
    public static boolean matches(Matcher m) throws TooCostly, InterruptedException {
        return run(m, true);
    }

    private static boolean run(Matcher m, boolean whole) throws TooCostly, InterruptedException {
        try {
            return whole ? m.matches() : m.find();
        } catch (Stop stop) {
            if (stop.interrupted) {
                Thread.interrupted();
                throw new InterruptedException();
            }
            throw new TooCostly(false);
        } catch (StackOverflowError e) {
            throw new TooCostly(true);
        }
    }

    private static final class Stop extends RuntimeException {
        final boolean interrupted;

        Stop(boolean interrupted) {
            super(null, null, false, false);
            this.interrupted = interrupted;
        }
    }

    /** The text as the engine reads it; its sub-sequences share its budget. */
    private static final class Bounded implements CharSequence {
        private final CharSequence text;
        private final Budget budget;

        Bounded(CharSequence text, long maxReads, long end) {
            this(text, new Budget(maxReads, end));
        }

        private Bounded(CharSequence text, Budget budget) {
            this.text = text;
            this.budget = budget;
        }

        @Override
        public char charAt(int index) {
            budget.read();
            return text.charAt(index);
        }

        @Override
        public int length() { return text.length(); }

        @Override
        public CharSequence subSequence(int start, int end) { return new Bounded(text.subSequence(start, end), budget); }

        @Override
        public String toString() { return text.toString(); }
    }

    private static final class Budget {
        private long left;
        private final long end;
        private int reads;

        Budget(long maxReads, long end) {
            this.left = maxReads;
            this.end = end;
        }

        void read() {
            if (--left < 0) throw new Stop(false);
            if ((++reads & 0x3FF) == 0) {
                if (end != UNLIMITED && System.nanoTime() - end >= 0) throw new Stop(false);
                if (Thread.currentThread().isInterrupted()) throw new Stop(true);
            }
        }
    }
}
