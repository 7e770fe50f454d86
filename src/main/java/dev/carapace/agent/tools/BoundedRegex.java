package dev.carapace.agent.tools;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Regex matching that cannot hang: the text is wrapped in a {@link CharSequence} that checks the clock (and the
 * thread's interrupt flag) every so many reads and throws once the deadline has passed. Backtracking reads the text
 * all the time, so a catastrophic pattern is stopped soon after its budget.
 */
final class BoundedRegex {

    /** The regex ran out of time, or out of stack (deep recursion on a long input). */
    static final class TooCostly extends Exception {
        final boolean stack;

        TooCostly(boolean stack) {
            super(null, null, false, false);
            this.stack = stack;
        }
    }

    private BoundedRegex() {}

    /** {@link Matcher#find()} on {@code text}, giving up at {@code endNanos} (a System.nanoTime value). */
    static boolean find(Pattern pattern, CharSequence text, long endNanos) throws TooCostly, InterruptedException {
        return run(pattern.matcher(new Bounded(text, endNanos)), false);
    }

    /** {@link Matcher#matches()} on {@code text}, giving up at {@code endNanos}. */
    static boolean matches(Pattern pattern, CharSequence text, long endNanos) throws TooCostly, InterruptedException {
        return run(pattern.matcher(new Bounded(text, endNanos)), true);
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

    private static final class Bounded implements CharSequence {
        private final CharSequence text;
        private final long end;
        private int reads;

        Bounded(CharSequence text, long end) {
            this.text = text;
            this.end = end;
        }

        @Override
        public char charAt(int index) {
            if ((++reads & 0x3FF) == 0) {
                if (System.nanoTime() - end >= 0) throw new Stop(false);
                if (Thread.currentThread().isInterrupted()) throw new Stop(true);
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new Bounded(text.subSequence(start, end), this.end);
        }

        @Override
        public String toString() {
            return text.toString();
        }
    }
}
