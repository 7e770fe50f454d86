package dev.carapace.schedule;

import java.time.Instant;
import java.util.Optional;

/**
 * When a job fires: on a cron expression in a time zone ({@link CronSchedule}), once ({@link AtSchedule}), or at a
 * fixed interval from an anchor ({@link EverySchedule}). Built from what a user wrote by
 * {@link Schedules#parse}; pure and immutable, so any gateway computes the same fire times from the same schedule.
 */
public sealed interface Schedule permits CronSchedule, AtSchedule, EverySchedule {

    /** The first fire time strictly after {@code t}; empty when there is none (an {@code at} that has passed). */
    Optional<Instant> nextAfter(Instant t);

    /** The schedule in words, for lists and histories: "every 30 minutes from 2026-12-05T10:00:00Z". */
    String describe();

    /** {@code cron}, {@code at} or {@code every}: the key a user writes it under. */
    String kind();

    /**
     * This schedule written with absolute values only (an {@code at} as an instant, an {@code every} with its anchor
     * and an exact ISO interval), for storing; {@link Schedules#restore} reads it back equal.
     */
    ScheduleSpec spec();
}
