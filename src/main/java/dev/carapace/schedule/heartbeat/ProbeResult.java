package dev.carapace.schedule.heartbeat;

import java.time.Instant;
import java.util.List;

/**
 * What one probe found.
 *
 * @param changes   what changed since the previous state, most pressing first (messages, checklist, jobs, files,
 *                  URLs); empty when nothing did
 * @param next      the state to keep for the next beat; the previous one unchanged when skipped
 * @param skipped   true when outside the active hours: nothing was probed
 * @param resumesAt when skipped, the next instant inside the active hours; else null
 * @param problems  sources that could not be probed this beat, for the log (not changes: their previous state
 *                  is kept, so they are probed afresh next beat); no secrets
 * @param standing  how many standing (undated) items the checklist has, for the prompt's context line
 */
public record ProbeResult(List<Change> changes, ProbeState next, boolean skipped, Instant resumesAt,
                          List<String> problems, int standing) {

    public ProbeResult {
        changes = List.copyOf(changes);
        problems = List.copyOf(problems);
    }

    static ProbeResult skipped(ProbeState unchanged, Instant resumesAt) {
        return new ProbeResult(List.of(), unchanged, true, resumesAt, List.of(), 0);
    }
}
