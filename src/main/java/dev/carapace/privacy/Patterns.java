package dev.carapace.privacy;

import dev.carapace.text.BoundedRegex;

import java.util.List;
import java.util.regex.Matcher;

/**
 * Runs an org's regular expressions with a budget ({@link BoundedRegex}): at most {@link #READS_PER_CHAR} character
 * reads per character of input, so a pattern that backtracks catastrophically on some input costs bounded time
 * instead of a hung request. The budget is in reads, not time, so that what a scan finds does not depend on how busy
 * the machine is.
 */
final class Patterns {

    /** Character reads allowed per pattern and input, per char of input (plus a floor for short inputs). */
    static final long READS_PER_CHAR = 64;
    static final long MIN_READS = 1_000_000;

    private Patterns() {}

    /** @return false if the pattern ran out of budget or stack, or the thread was interrupted (what it found until then is kept) */
    static boolean scan(PrivacySpec.CustomPattern p, String s, List<Finding> out) {
        Matcher m = BoundedRegex.matcher(p.regex(), s, Math.max(MIN_READS, READS_PER_CHAR * s.length()),
                BoundedRegex.UNLIMITED);
        try {
            while (BoundedRegex.find(m)) {
                if (m.end() > m.start()) out.add(new Finding(p.type(), p.dataClass(), m.start(), m.end(), 0.9));
            }
            return true;
        } catch (BoundedRegex.TooCostly e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();   // the caller's to act on; the scan stops here
            return false;
        }
    }
}
