package dev.carapace.text;

import org.junit.jupiter.api.Test;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BoundedRegexTest {

    /** Backtracks exponentially on JDK 25 (which now defuses the textbook (a+)+b): a backreference defeats it. */
    private static final Pattern CATASTROPHIC = Pattern.compile("^(a+)+\\1$");
    private static final String NEVER_MATCHES = "a".repeat(30) + "c";

    @Test
    void aPatternWithinItsBudgetMatchesAsUsual() throws Exception {
        Matcher m = BoundedRegex.matcher(Pattern.compile("b+"), "aabbbc", 1_000, BoundedRegex.UNLIMITED);
        assertThat(BoundedRegex.find(m)).isTrue();
        assertThat(m.group()).isEqualTo("bbb");
        assertThat(BoundedRegex.matches(BoundedRegex.matcher(Pattern.compile("a+b+c"), "aabbbc", 1_000,
                BoundedRegex.UNLIMITED))).isTrue();
    }

    @Test
    void catastrophicBacktrackingStopsAtItsReadBudget() {
        long start = System.nanoTime();
        assertThatThrownBy(() -> BoundedRegex.find(BoundedRegex.matcher(CATASTROPHIC, NEVER_MATCHES, 1_000_000,
                BoundedRegex.UNLIMITED)))
                .isInstanceOfSatisfying(BoundedRegex.TooCostly.class, e -> assertThat(e.stack).isFalse());
        assertThat(System.nanoTime() - start).as("stopped within a second").isLessThan(1_000_000_000L);
    }

    @Test
    void catastrophicBacktrackingStopsAtItsDeadline() {
        long start = System.nanoTime();
        assertThatThrownBy(() -> BoundedRegex.find(BoundedRegex.matcher(CATASTROPHIC, NEVER_MATCHES,
                BoundedRegex.UNLIMITED, start + 50_000_000L)))
                .isInstanceOf(BoundedRegex.TooCostly.class);
        assertThat(System.nanoTime() - start).isLessThan(1_000_000_000L);
    }

    @Test
    void anInterruptedThreadStopsMatching() {
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> BoundedRegex.find(BoundedRegex.matcher(CATASTROPHIC, NEVER_MATCHES,
                    BoundedRegex.UNLIMITED, BoundedRegex.UNLIMITED)))
                    .isInstanceOf(InterruptedException.class);
            assertThat(Thread.currentThread().isInterrupted()).as("the flag is cleared with the exception").isFalse();
        } finally {
            Thread.interrupted();
        }
    }

    /** The privacy router's own wrapper let a StackOverflowError through: a deep pattern failed the whole request. */
    @Test
    void deepRecursionIsTooCostlyNotAStackOverflow() {
        String deep = "ab".repeat(200_000);
        assertThatThrownBy(() -> BoundedRegex.matches(BoundedRegex.matcher(Pattern.compile("(a|b)*"), deep,
                BoundedRegex.UNLIMITED, BoundedRegex.UNLIMITED)))
                .isInstanceOfSatisfying(BoundedRegex.TooCostly.class, e -> assertThat(e.stack).isTrue());
    }
}
