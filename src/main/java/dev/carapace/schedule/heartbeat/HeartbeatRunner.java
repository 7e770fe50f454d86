package dev.carapace.schedule.heartbeat;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunOptions;
import dev.carapace.agent.RunStatus;
import dev.carapace.model.ApiException;
import dev.carapace.schedule.RunAnswer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Beats the agents' heartbeats when the shared scheduler hands this gateway one that is due. Each agent's heartbeat
 * is one execution of that scheduler ({@link #instanceOf}: {@code heartbeat:AGENT}, beside the jobs, whose ids have
 * no colon), so a beat happens once across every gateway on the database, and two beats of one agent never run at
 * once, with no locking here.
 *
 * <p>A beat is {@link Heartbeat#beat}: nothing outside the active hours, a probe without a model, and only when
 * something changed a turn of the agent, in a session of its own ({@code heartbeat-YYYYMMDD-HHMMSS}) so that the turn's
 * prompt holds the agent's instructions and the changes and no earlier heartbeat's talk, in the heartbeat's model
 * when it names one, with the agent's tools, charged to the agent's owner. A turn that cannot start, or that ends
 * before its first model call answered (the budget is out), gives its changes back ({@link Heartbeat#turnNotStarted})
 * for the next beat. The answer stays in the turn's session; an answer of {@link HeartbeatPrompt#NOTHING_TO_DO} is
 * nothing more (delivering the others through channels comes with channels).
 */
public final class HeartbeatRunner {

    private static final Logger log = LoggerFactory.getLogger(HeartbeatRunner.class);
    /** The shared scheduler's instances of heartbeats start so; job ids never hold a colon. */
    public static final String INSTANCE_PREFIX = "heartbeat:";
    static final String SESSION_PREFIX = "heartbeat-";
    private static final DateTimeFormatter SESSION_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
            .withZone(ZoneOffset.UTC);

    /** What one beat did. @param runId the turn it started, or null */
    public record Tick(Beat beat, String runId, Instant next) {}

    private final Map<String, HeartbeatSpec> specs;
    private final Map<String, Heartbeat> heartbeats = new HashMap<>();
    private final HeartbeatStateStore states;
    private final AgentRuntime runtime;
    private final Clock clock;

    /**
     * @param specs  the heartbeats of the config, by agent id
     * @param probes each agent's probe (its URLs are fetched as that agent)
     */
    public HeartbeatRunner(Map<String, HeartbeatSpec> specs, Function<String, Probe> probes, HeartbeatStateStore states,
                           AgentRuntime runtime, Clock clock) {
        this.specs = Map.copyOf(specs);
        this.states = Objects.requireNonNull(states, "states");
        for (String agent : this.specs.keySet()) heartbeats.put(agent, new Heartbeat(probes.apply(agent), states));
        this.runtime = Objects.requireNonNull(runtime, "runtime");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The shared scheduler's instance for {@code agentId}'s heartbeat. */
    public static String instanceOf(String agentId) {
        return INSTANCE_PREFIX + agentId;
    }

    /** The agent of a heartbeat's instance; null for a job's. */
    public static String agentOf(String instance) {
        return instance.startsWith(INSTANCE_PREFIX) ? instance.substring(INSTANCE_PREFIX.length()) : null;
    }

    /** The agents that have a heartbeat. */
    public Iterable<String> agents() {
        return specs.keySet();
    }

    /** When the agent's next beat is due, as of its saved state: now before the first, or if one is overdue. */
    public Instant firstDue(String agentId) {
        HeartbeatSpec spec = specs.get(agentId);
        return spec == null ? null : Heartbeat.nextBeat(spec, states.load(agentId), clock.instant());
    }

    /** The scheduler's call: beats, and answers when the next beat is due (null: the agent has no heartbeat now). */
    public Instant onDue(String agentId) {
        Tick tick = beat(agentId);
        return tick == null ? null : tick.next();
    }

    /** One beat of {@code agentId}'s heartbeat, now; null when it has none. */
    public Tick beat(String agentId) {
        HeartbeatSpec spec = specs.get(agentId);
        if (spec == null) return null;
        Instant now = clock.instant();
        Beat beat = heartbeats.get(agentId).beat(agentId, spec, now);
        if (!beat.problems().isEmpty()) log.info("heartbeat of agent {}: could not look at {}", agentId, beat.problems());
        String runId = beat instanceof Beat.Turn turn ? startTurn(agentId, turn, now) : null;
        // From the state this beat reached (its lastBeat is now), even when a turn gave its changes back: a turn
        // that cannot start is tried again a beat later, not at once.
        Instant next = Heartbeat.nextBeat(spec, beat.next(), now);
        if (!next.isAfter(now)) next = now.plus(spec.every());
        return new Tick(beat, runId, next);
    }

    private String startTurn(String agentId, Beat.Turn turn, Instant now) {
        String session = SESSION_PREFIX + SESSION_TIME.format(now);
        String runId;
        try {
            runId = runtime.start(agentId, session, turn.message(), null, new RunOptions(null, null, null, turn.model()));
        } catch (ApiException | IllegalStateException e) {
            heartbeats.get(agentId).turnNotStarted(agentId, turn);
            log.warn("heartbeat of agent {}: {} change(s), but its turn could not start ({}); they are looked at again"
                    + " at the next beat", agentId, turn.changes().size(), e.getMessage());
            return null;
        }
        log.info("heartbeat of agent {}: {} change(s); turn {} in session {}", agentId, turn.changes().size(), runId, session);
        Thread.ofVirtual().name("heartbeat-" + agentId).start(() -> follow(agentId, turn, runId));
        return runId;
    }

    /** Waits for the turn's end: its answer, or its changes given back when no model call was made. */
    private void follow(String agentId, Beat.Turn turn, String runId) {
        RunInfo info;
        try {
            info = runtime.await(runId, Duration.ofDays(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (RuntimeException e) {
            return;   // the gateway is stopping (its store closed): the run ends interrupted, nothing to add
        }
        if (!info.status().isFinal()) return;
        if (info.status() != RunStatus.COMPLETED) {
            if (info.tokens() == 0 && turn.next().equals(states.load(agentId))) {
                // nothing reached a model (the budget is out, the run was refused): the next beat reports these again
                heartbeats.get(agentId).turnNotStarted(agentId, turn);
            }
            log.warn("heartbeat of agent {}: turn {} ended {} ({})", agentId, runId, info.status().label(), info.reason());
            return;
        }
        String answer = RunAnswer.of(runtime, info);
        if (HeartbeatPrompt.isNothingToDo(answer)) {
            log.debug("heartbeat of agent {}: turn {} found nothing to do", agentId, runId);
        } else {
            log.info("heartbeat of agent {}: turn {} answered; its session {} holds the answer", agentId, runId,
                    info.sessionKey());
        }
    }
}
