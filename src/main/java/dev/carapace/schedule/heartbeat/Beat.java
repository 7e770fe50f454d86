package dev.carapace.schedule.heartbeat;

import java.time.Instant;
import java.util.List;

/** What one heartbeat tick decided. Every beat carries the state to keep for the next one. */
public sealed interface Beat {

    /** The state to keep for the next beat. */
    ProbeState next();

    /** Sources that could not be probed, for the log (never secrets). */
    List<String> problems();

    /** Outside the active hours: nothing was probed, the state is unchanged; the next beat worth having is at
     * {@code resumesAt}. */
    record Skipped(Instant resumesAt, ProbeState next) implements Beat {
        @Override
        public List<String> problems() {
            return List.of();
        }
    }

    /** Probed, nothing changed: no model call. */
    record Idle(ProbeState next, List<String> problems) implements Beat {
        public Idle {
            problems = List.copyOf(problems);
        }
    }

    /**
     * Something changed: start a turn of the agent with {@code message} as the user message.
     *
     * @param model    the model for the turn, or null for the agent's own
     * @param changes  the changes the message lists
     * @param leftOut  how many changes did not fit in the message
     * @param previous the state before this beat, to put back if the turn cannot be started
     *                 ({@link Heartbeat#turnNotStarted}), so that the next beat finds the same changes again
     */
    record Turn(String message, String model, List<Change> changes, int leftOut, ProbeState previous,
                ProbeState next, List<String> problems) implements Beat {
        public Turn {
            changes = List.copyOf(changes);
            problems = List.copyOf(problems);
        }
    }
}
