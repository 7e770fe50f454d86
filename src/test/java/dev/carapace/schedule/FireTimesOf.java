package dev.carapace.schedule;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Test helper: a schedule's fire times, listed by asking {@code nextAfter} again and again from a fake instant. */
final class FireTimesOf {

    private FireTimesOf() {}

    static List<Instant> after(Schedule s, Instant from, int n) {
        List<Instant> out = new ArrayList<>();
        Optional<Instant> t = s.nextAfter(from);
        while (t.isPresent() && out.size() < n) {
            out.add(t.get());
            t = s.nextAfter(t.get());
        }
        return out;
    }

    /** Every fire time in (from, to]. */
    static List<Instant> between(Schedule s, Instant from, Instant to) {
        List<Instant> out = new ArrayList<>();
        Optional<Instant> t = s.nextAfter(from);
        while (t.isPresent() && !t.get().isAfter(to)) {
            out.add(t.get());
            t = s.nextAfter(t.get());
        }
        return out;
    }

    static List<Instant> instants(String... iso) {
        return java.util.Arrays.stream(iso).map(Instant::parse).toList();
    }
}
