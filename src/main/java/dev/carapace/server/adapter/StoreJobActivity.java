package dev.carapace.server.adapter;

import dev.carapace.schedule.heartbeat.JobActivity;
import dev.carapace.store.Jobs;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * What went wrong with an agent's jobs, for its heartbeat, from the jobs' history: runs that ended other than
 * {@code succeeded} (a {@code missed} run as missed, every other as failed), in the order they ended. The marker is
 * where the last one reported stands ({@code ENDED_MILLIS/RUN_NO/JOB_ID}); a marker that does not read starts over.
 * Only runs that ended {@link #SETTLED} ago or more are looked at: by then every run that ended as early is written,
 * so the marker never passes over one written late (at most a beat later than otherwise, it is reported).
 */
public final class StoreJobActivity implements JobActivity {

    /** How long after its end a run is surely written (a slow commit, another gateway's clock a little behind). */
    public static final Duration SETTLED = Duration.ofMinutes(1);

    private final Jobs jobs;
    private final Clock clock;

    public StoreJobActivity(Jobs jobs, Clock clock) {
        this.jobs = jobs;
        this.clock = clock;
    }

    @Override
    public Batch since(String agentId, String marker, int max) {
        Jobs.RunPosition after = position(marker);
        Instant until = clock.instant().minus(SETTLED);
        Jobs.TroubleCount count = jobs.countTroubleAfter(agentId, after, until);
        if (count.count() == 0) return new Batch(0, List.of(), marker);
        List<Event> events = jobs.troubleAfter(agentId, after, until, max).stream().map(r -> new Event(r.jobId(),
                r.status().equals("missed") ? Outcome.MISSED : Outcome.FAILED,
                r.endedAt() != null ? r.endedAt() : r.scheduledFor(),
                r.status().replace('_', ' ') + (r.reason() == null ? "" : ": " + r.reason()))).toList();
        // after the newest of them all: the ones past max are counted in this beat's message, not listed later
        String next = count.last().map(StoreJobActivity::marker).orElse(marker);
        return new Batch((int) Math.min(Integer.MAX_VALUE, count.count()), events, next);
    }

    private static String marker(Jobs.RunPosition p) {
        return p.endedAtMillis() + "/" + p.runNo() + "/" + p.jobId();
    }

    private static Jobs.RunPosition position(String marker) {
        if (marker == null) return null;
        String[] parts = marker.split("/", 3);
        try {
            return parts.length == 3 ? new Jobs.RunPosition(Long.parseLong(parts[0]), parts[2], Integer.parseInt(parts[1])) : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
