package dev.carapace.server.adapter;

import dev.carapace.schedule.heartbeat.JobActivity;
import dev.carapace.store.Jobs;

import java.util.List;

/**
 * What went wrong with an agent's jobs, for its heartbeat, from the jobs' history: runs that ended other than
 * {@code succeeded} (a {@code missed} run as missed, every other as failed), in the order they ended. The marker is
 * where the last one reported stands ({@code ENDED_MILLIS/RUN_NO/JOB_ID}); a marker that does not read starts over.
 */
public final class StoreJobActivity implements JobActivity {

    private final Jobs jobs;

    public StoreJobActivity(Jobs jobs) {
        this.jobs = jobs;
    }

    @Override
    public Batch since(String agentId, String marker, int max) {
        Jobs.RunPosition after = position(marker);
        Jobs.TroubleCount count = jobs.countTroubleAfter(agentId, after);
        if (count.count() == 0) return new Batch(0, List.of(), marker);
        List<Event> events = jobs.troubleAfter(agentId, after, max).stream().map(r -> new Event(r.jobId(),
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
