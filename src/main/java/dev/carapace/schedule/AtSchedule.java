package dev.carapace.schedule;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/** Fires once, at {@code at}. */
public record AtSchedule(Instant at) implements Schedule {

    public AtSchedule {
        Objects.requireNonNull(at, "at");
    }

    @Override
    public Optional<Instant> nextAfter(Instant t) {
        return at.isAfter(t) ? Optional.of(at) : Optional.empty();
    }

    @Override
    public String describe() {
        return "once at " + at;
    }

    @Override
    public ScheduleSpec spec() {
        return ScheduleSpec.at(at.toString());
    }

    @Override
    public String kind() {
        return "at";
    }
}
