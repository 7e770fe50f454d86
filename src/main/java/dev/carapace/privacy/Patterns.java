package dev.carapace.privacy;

import java.util.List;
import java.util.regex.Matcher;

/**
 * Runs an org's regular expressions with a budget: the text is read through a view that counts every character the
 * regex engine looks at and gives up past a limit, so a pattern that backtracks catastrophically on some input costs
 * bounded time instead of a hung request.
 */
final class Patterns {

    /** Character reads allowed per pattern and input, per char of input (plus a floor for short inputs). */
    static final long READS_PER_CHAR = 64;
    static final long MIN_READS = 1_000_000;

    private Patterns() {}

    /** @return false if the pattern ran out of budget (what it found until then is kept) */
    static boolean scan(PrivacySpec.CustomPattern p, String s, List<Finding> out) {
        Budgeted text = new Budgeted(s, Math.max(MIN_READS, READS_PER_CHAR * s.length()));
        Matcher m = p.regex().matcher(text);
        try {
            while (m.find()) {
                if (m.end() > m.start()) out.add(new Finding(p.type(), p.dataClass(), m.start(), m.end(), 0.9));
            }
            return true;
        } catch (OutOfBudget e) {
            return false;
        }
    }

    private static final class OutOfBudget extends RuntimeException {
        OutOfBudget() { super(null, null, false, false); }
    }

    private static final class Budgeted implements CharSequence {
        private final String s;
        private long left;

        Budgeted(String s, long budget) {
            this.s = s;
            this.left = budget;
        }

        @Override
        public char charAt(int index) {
            if (--left < 0) throw new OutOfBudget();
            return s.charAt(index);
        }

        @Override
        public int length() { return s.length(); }

        @Override
        public CharSequence subSequence(int start, int end) { return s.subSequence(start, end); }

        @Override
        public String toString() { return s; }
    }
}
