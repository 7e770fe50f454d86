package dev.carapace.schedule.heartbeat;

import java.io.IOException;
import java.time.Instant;
import java.util.List;

/**
 * What went wrong with an agent's jobs since a marker: runs that failed and runs that were missed. A job that runs
 * fine is no news for the heartbeat; its result is in the job's history. The jobs' history implements it.
 */
public interface JobActivity {

    /**
     * Failed and missed runs of the agent's jobs after {@code marker}.
     *
     * @param marker what {@link Batch#marker} said last time, or null for "from the beginning"
     * @param max    at most this many events (the oldest first); the count still counts them all
     */
    Batch since(String agentId, String marker, int max) throws IOException;

    /** What happened to a run. */
    enum Outcome { FAILED, MISSED }

    /**
     * @param jobId  the job's id
     * @param detail why, short (an error message, "gateway was down"); quoted to the model as data
     */
    record Event(String jobId, Outcome outcome, Instant at, String detail) {}

    /**
     * @param count  how many events there are, at least {@code events.size()}
     * @param marker the marker after the newest of them; unchanged when there are none
     */
    record Batch(int count, List<Event> events, String marker) {
        public Batch {
            events = List.copyOf(events);
            if (count < events.size()) count = events.size();
        }
    }

    /** Without a job history: nothing ever failed. */
    JobActivity NONE = (agentId, marker, max) -> new Batch(0, List.of(), marker);
}
