package dev.carapace.schedule.heartbeat;

import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * An agent's heartbeat, one tick at a time: probe without a model, and ask for a model turn only when something
 * changed, with only the changes in it. An idle agent costs no tokens; the scheduler calls {@link #beat} every
 * {@link HeartbeatSpec#every} and starts the agent turn a {@link Beat.Turn} asks for (in the spec's model).
 *
 * <p>A change is handed to one turn: the state saved with a {@code Turn} counts its changes as seen. If the turn
 * cannot be started (the agent is busy and refuses, the budget is out), {@link #turnNotStarted} puts the earlier
 * state back and the next beat reports the same changes again, with whatever else changed meanwhile. Checklist
 * items that did not fit in the message are not counted as reported, so they come at a later beat. Beats of one
 * agent must not run concurrently (the scheduler runs one at a time per agent).
 */
public final class Heartbeat {

    private final Probe probe;
    private final HeartbeatStateStore states;

    public Heartbeat(Probe probe, HeartbeatStateStore states) {
        this.probe = Objects.requireNonNull(probe, "probe");
        this.states = Objects.requireNonNull(states, "states");
    }

    /** One tick: load the agent's state, decide, keep the new state (unless skipped), and say what to do. */
    public Beat beat(String agentId, HeartbeatSpec spec, Instant now) {
        ProbeState previous = states.load(agentId);
        Beat beat = decide(agentId, spec, previous, now);
        if (!(beat instanceof Beat.Skipped)) states.save(agentId, beat.next());
        return beat;
    }

    /** The decision alone, from a given state; saves nothing. */
    public Beat decide(String agentId, HeartbeatSpec spec, ProbeState previous, Instant now) {
        ProbeState prev = previous == null ? ProbeState.EMPTY : previous;
        ProbeResult result = probe.probe(agentId, spec, prev, now);
        if (result.skipped()) return new Beat.Skipped(result.resumesAt(), prev);
        if (result.changes().isEmpty()) return new Beat.Idle(result.next(), result.problems());
        HeartbeatPrompt prompt = HeartbeatPrompt.build(result.changes(), now, spec.zone(), spec.checklist(),
                result.standing());
        ProbeState next = result.next();
        if (!prompt.leftOut().isEmpty()) next = unreport(next, prompt.leftOut());
        return new Beat.Turn(prompt.message(), spec.model(), prompt.included(), prompt.leftOut().size(), prev, next,
                result.problems());
    }

    /** Puts back the state from before {@code turn}'s beat, so its changes are found again at the next beat. */
    public void turnNotStarted(String agentId, Beat.Turn turn) {
        states.save(agentId, turn.previous());
    }

    /**
     * When the next beat is due after one at {@code last} (or now, before the first): {@code every} later, moved to
     * the start of the active hours when that falls outside them. For a scheduler that sleeps between beats.
     */
    public static Instant nextBeat(HeartbeatSpec spec, ProbeState state, Instant now) {
        Instant due = state == null || state.lastBeat() == null ? now : state.lastBeat().plus(spec.every());
        if (due.isBefore(now)) due = now;
        return spec.activeHours() == null ? due : spec.activeHours().nextStart(due);
    }

    private static ProbeState unreport(ProbeState state, List<Change> leftOut) {
        Set<String> keys = new HashSet<>(state.reportedItems());
        for (Change change : leftOut) if (change.key() != null) keys.remove(change.key());
        return state.withReportedItems(keys);
    }
}
