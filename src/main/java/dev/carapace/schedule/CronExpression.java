package dev.carapace.schedule;

import com.cronutils.descriptor.CronDescriptor;
import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import static dev.carapace.text.Excerpt.clip;

/**
 * A cron expression, matched against a wall clock at a fixed offset; {@link CronSchedule} adds the time zone and its
 * daylight-saving rule. Two forms, told apart by the number of fields:
 * <ul>
 *   <li>5 fields, Unix: {@code minute hour day-of-month month day-of-week} ({@code 0 9 * * 1-5}); day-of-week 0 or 7
 *       is Sunday, names ({@code MON}) allowed; when both day fields are restricted either one matching fires
 *       ({@code 0 0 13 * 5}: every 13th and every Friday), as in Vixie cron.</li>
 *   <li>6 fields, Spring style: {@code second minute hour day-of-month month day-of-week} ({@code 0 0 9 * * MON-FRI},
 *       {@code ?} allowed in a day field); when both day fields are restricted, both must match.</li>
 * </ul>
 * Parsing and matching are cron-utils'; which field is wrong, the nanoseconds it would carry into fire times, and
 * every time-zone question are handled here and in {@link CronSchedule}, since cron-utils gets them wrong (tested).
 */
public final class CronExpression {

    /** Longer text is refused before cron-utils reads it: a real expression fits in far less. */
    static final int MAX_CHARS = 200;

    private static final List<String> UNIX_FIELDS = List.of("minute", "hour", "day-of-month", "month", "day-of-week");
    private static final List<String> SPRING_FIELDS =
            List.of("second", "minute", "hour", "day-of-month", "month", "day-of-week");
    private static final String EXPECTED = "expected 5 fields (minute hour day-of-month month day-of-week, like "
            + "'0 9 * * 1-5') or 6 with seconds first (like '0 0 9 * * MON-FRI')";
    private static final String FIELD = "schedule.cron";

    private final String text;
    private final Cron cron;
    private final ExecutionTime times;
    private final boolean rhythm;
    private final int fieldCount;

    private CronExpression(String text, int fieldCount, Cron cron, boolean rhythm) {
        this.text = text;
        this.fieldCount = fieldCount;
        this.cron = cron;
        this.times = ExecutionTime.forCron(cron);
        this.rhythm = rhythm;
    }

    /**
     * The expression {@code text} writes (fields separated by spaces or tabs).
     *
     * @throws InvalidScheduleException on {@code schedule.cron}, naming the field that is wrong and why
     */
    public static CronExpression parse(String text) {
        Inputs.check(FIELD, text, MAX_CHARS);
        String[] tokens = text.strip().split("[ \t]+");
        if (tokens[0].startsWith("@")) {
            throw new InvalidScheduleException(FIELD, "nicknames like '" + clip(tokens[0], 20)
                    + "' are not supported; write the fields, like '0 * * * *' for @hourly; " + EXPECTED);
        }
        if (tokens.length != 5 && tokens.length != 6) {
            throw new InvalidScheduleException(FIELD, EXPECTED + "; got " + tokens.length + " in '" + clip(text, 60) + "'");
        }
        List<String> names = tokens.length == 5 ? UNIX_FIELDS : SPRING_FIELDS;
        CronParser parser = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(
                tokens.length == 5 ? CronType.UNIX : CronType.SPRING));
        String normal = String.join(" ", tokens);
        Cron cron;
        try {
            cron = parser.parse(normal);
            cron.validate();
        } catch (RuntimeException whole) {
            throw new InvalidScheduleException(FIELD, whichField(parser, tokens, names, whole) + " in '"
                    + clip(normal, 60) + "'; " + "expected " + String.join(" ", names));
        }
        return new CronExpression(normal, tokens.length, cron, isRhythm(tokens));
    }

    /**
     * cron-utils says what is wrong but not where: parse each field alone (the others {@code *}) to find the first
     * that fails on its own; when each is fine alone the fields conflict, and its message is the best there is.
     */
    private static String whichField(CronParser parser, String[] tokens, List<String> names, RuntimeException whole) {
        for (int i = 0; i < tokens.length; i++) {
            String[] alone = new String[tokens.length];
            Arrays.fill(alone, "*");
            alone[i] = tokens[i];
            try {
                parser.parse(String.join(" ", alone)).validate();
            } catch (RuntimeException e) {
                return "the " + names.get(i) + " field '" + clip(tokens[i], 30) + "' is invalid (" + reason(e) + ")";
            }
        }
        return "the fields do not fit together (" + reason(whole) + ")";
    }

    private static String reason(RuntimeException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        m = m.replace("Failed to parse cron expression. ", "");
        // cron-utils ends some messages with the characters it found, which may be anything the user sent
        return Inputs.printable(clip(m, 100));
    }

    /**
     * Whether the expression is a rhythm rather than a time of day: its second, minute or hour field is written
     * with {@code *} or a step ({@code /}). Vixie cron draws the same line for daylight saving (see {@link CronSchedule}).
     */
    private static boolean isRhythm(String[] tokens) {
        int timeFields = tokens.length == 6 ? 3 : 2;
        for (int i = 0; i < timeFields; i++) {
            if (tokens[i].startsWith("*") || tokens[i].contains("/")) return true;
        }
        return false;
    }

    /** The first time strictly after {@code t} whose wall clock at {@code offset} matches, if any. */
    Optional<Instant> nextAfter(Instant t, ZoneOffset offset) {
        // cron-utils carries the nanoseconds of its input into the fire time (10:00:00.5 -> 10:00:01.5): fire times
        // are on whole seconds, so ask from the whole second at or before t (its answer is strictly after that)
        Instant from = t.truncatedTo(ChronoUnit.SECONDS);
        return times.nextExecution(from.atZone(offset)).map(z -> z.toInstant());
    }

    /** True for a rhythm ({@code *}/step in a time-of-day field), false for a time of day. */
    boolean isRhythm() {
        return rhythm;
    }

    /** The expression, fields separated by one space. */
    public String text() {
        return text;
    }

    /** 5 (Unix) or 6 (seconds first). */
    public int fieldCount() {
        return fieldCount;
    }

    /** The expression in English words, from cron-utils: "at 09:00 every day between Monday and Friday". */
    public String describe() {
        try {
            return CronDescriptor.instance(Locale.ENGLISH).describe(cron);
        } catch (RuntimeException e) {
            // a description is for people: a describer bug must not fail a job listing
            return "on cron '" + text + "'";
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CronExpression other && text.equals(other.text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    @Override
    public String toString() {
        return text;
    }
}
