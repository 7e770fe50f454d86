package dev.carapace.schedule;

import dev.carapace.text.Durations;
import dev.carapace.text.Durations.Part;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/** A duration in words for descriptions: "30 minutes", "hour", "2 hours 30 minutes", "day". */
final class DurationWords {

    private DurationWords() {}

    /** "every " + this reads well: a single unit of one drops its number ("every hour"). */
    static String of(Duration d) {
        List<Part> parts = Durations.parts(d);
        if (parts.isEmpty()) return d.toNanos() + " nanoseconds";
        if (parts.size() == 1 && parts.get(0).count() == 1) return name(parts.get(0));
        StringBuilder out = new StringBuilder();
        for (Part p : parts) {
            if (!out.isEmpty()) out.append(' ');
            out.append(p.count()).append(' ').append(name(p)).append(p.count() == 1 ? "" : "s");
        }
        return out.toString();
    }

    private static String name(Part p) {
        return p.unit().name().toLowerCase(Locale.ROOT);
    }
}
