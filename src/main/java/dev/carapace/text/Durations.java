package dev.carapace.text;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A duration as a person writes it in a config, a schedule or a command line: whole numbers with units from the
 * largest to the smallest ({@code 250ms}, {@code 90s}, {@code 30m}, {@code 2h30m}, {@code 3d}, spaces allowed between
 * the parts), or ISO-8601 ({@code PT2H}, {@code P1DT12H}). One parser for every place that reads one, so that
 * {@code 30m} means the same thing everywhere.
 *
 * <p>Hostile text is cheap to reject: the text is bounded to {@value #MAX_CHARS} characters and read by a hand-written
 * scanner, never a backtracking regex.
 */
public final class Durations {

    /** Longer text is not read at all: no duration anyone means is written in more characters. */
    public static final int MAX_CHARS = 64;

    /** How {@link Unit}s are written, each allowed once and only after the larger ones. */
    private static final String[] UNITS = {"d", "h", "m", "s", "ms"};
    private static final Duration[] UNIT_LENGTHS = {Duration.ofDays(1), Duration.ofHours(1), Duration.ofMinutes(1),
            Duration.ofSeconds(1), Duration.ofMillis(1)};
    /** More digits than this cannot be a duration a {@link Duration} holds in any unit. */
    private static final int MAX_DIGITS = 18;

    private Durations() {}

    /**
     * The duration {@code text} writes, or empty when it is not one of the accepted forms (a negative duration is not
     * one either: callers say "must not be negative" when the text starts with {@code -}).
     *
     * @throws ArithmeticException when it is well formed but longer than a {@link Duration} holds
     */
    public static Optional<Duration> parse(String text) {
        if (text == null) return Optional.empty();
        String t = text.strip();
        if (t.isEmpty() || t.length() > MAX_CHARS) return Optional.empty();
        char first = t.charAt(0);
        return first == 'P' || first == 'p' ? iso(t) : compact(t);
    }

    /**
     * {@code d} written the way {@link #parse} reads it, largest unit first: {@code 2h30m}, {@code 90s} becomes
     * {@code 1m30s}, {@code 250ms}; {@code 0s} for zero. Below a millisecond is not shown.
     */
    public static String format(Duration d) {
        if (d.isNegative()) return "-" + format(d.negated());
        StringBuilder out = new StringBuilder();
        for (Part p : parts(d)) out.append(p.count()).append(UNITS[p.unit().ordinal()]);
        return out.isEmpty() ? "0s" : out.toString();
    }

    /** One part of a duration split into units, largest first. */
    public record Part(long count, Unit unit) {}

    /** The units {@link #parse} reads, largest first. */
    public enum Unit { DAY, HOUR, MINUTE, SECOND, MILLISECOND }

    /** {@code d} (not negative) split into whole days, hours, minutes, seconds and milliseconds; zero parts left out. */
    public static List<Part> parts(Duration d) {
        List<Part> parts = new ArrayList<>();
        Duration rest = d;
        for (Unit unit : Unit.values()) {
            Duration length = UNIT_LENGTHS[unit.ordinal()];
            long n = rest.dividedBy(length);
            if (n > 0) {
                parts.add(new Part(n, unit));
                rest = rest.minus(length.multipliedBy(n));
            }
        }
        return parts;
    }

    private static Optional<Duration> iso(String t) {
        try {
            Duration d = Duration.parse(t);
            return d.isNegative() ? Optional.empty() : Optional.of(d);
        } catch (DateTimeParseException e) {
            // Duration.parse reports an overflow as a parse error with the arithmetic problem as its cause
            if (e.getCause() instanceof ArithmeticException || e.getCause() instanceof NumberFormatException) {
                throw new ArithmeticException("duration too long: " + t);
            }
            return Optional.empty();
        }
    }

    private static Optional<Duration> compact(String t) {
        Duration total = Duration.ZERO;
        int nextUnit = 0;
        int i = 0;
        while (i < t.length()) {
            int digitsStart = i;
            while (i < t.length() && isDigit(t.charAt(i))) i++;
            int digits = i - digitsStart;
            if (digits == 0) return Optional.empty();
            String number = t.substring(digitsStart, i);
            i = skipSpaces(t, i);
            int unitStart = i;
            while (i < t.length() && t.charAt(i) >= 'a' && t.charAt(i) <= 'z') i++;
            int unit = unitIndex(t.substring(unitStart, i), nextUnit);
            if (unit < 0) return Optional.empty();
            if (digits > MAX_DIGITS) throw new ArithmeticException("duration too long: " + t);
            total = total.plus(UNIT_LENGTHS[unit].multipliedBy(Long.parseLong(number)));
            nextUnit = unit + 1;
            i = skipSpaces(t, i);
        }
        return Optional.of(total);
    }

    /** The index of {@code unit} among {@link #UNITS} from {@code from} on, or -1 (unknown, repeated or out of order). */
    private static int unitIndex(String unit, int from) {
        for (int u = from; u < UNITS.length; u++) {
            if (UNITS[u].equals(unit)) return u;
        }
        return -1;
    }

    private static int skipSpaces(String t, int i) {
        while (i < t.length() && (t.charAt(i) == ' ' || t.charAt(i) == '\t')) i++;
        return i;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }
}
