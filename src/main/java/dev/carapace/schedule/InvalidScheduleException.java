package dev.carapace.schedule;

/**
 * A schedule a user wrote that Carapace will not run, with the field it is about ({@code schedule.cron},
 * {@code schedule.zone}, {@code schedule.at}, {@code schedule.every}, {@code schedule.anchor},
 * {@code schedule.jitter}, or {@code schedule} for the choice between them) and what was wrong and what is expected.
 * The message quotes the user's text only clipped, so a hostile megabyte makes a one-line error.
 */
public final class InvalidScheduleException extends IllegalArgumentException {

    private final String field;
    private final String problem;

    public InvalidScheduleException(String field, String problem) {
        super(field + ": " + problem);
        this.field = field;
        this.problem = problem;
    }

    /** The field the problem is about, as the API and the config name it ({@code schedule.cron}, ...). */
    public String field() {
        return field;
    }

    /** What was wrong and what is expected, without the field's name. */
    public String problem() {
        return problem;
    }
}
