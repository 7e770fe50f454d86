package dev.carapace.schedule;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunOptions;
import dev.carapace.agent.TranscriptEntry;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import static dev.carapace.text.Excerpt.clip;

/**
 * Runs a job when the shared {@link DueQueue} hands its due time to this gateway: decides what the time stands for
 * (on time, or late after downtime, per the job's missed-run policy, each missed fire time recorded), runs it (a turn
 * of its agent within the job's tools, limits and budget, or a webhook call), records it in the history, delivers
 * the result, and answers when the job is next due: its schedule's next time, sooner after a failure (back-off),
 * none once it has failed {@code max_failures} times in a row (then it is paused, and its owner told).
 *
 * <p>A run never ends silently: every way out (a limit, the budget, the wall time, a failure, the gateway's death)
 * is a status and a reason in the history, and an event.
 */
public final class JobRunner {

    private static final Logger log = LoggerFactory.getLogger(JobRunner.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A run later than this after its fire time was missed (the gateways were down), not merely slow to start. */
    static final Duration GRACE = Duration.ofMinutes(2);
    private static final int RESULT_CHARS = 4000;

    private final JobStore store;
    private final AgentRuntime runtime;
    private final Webhooks webhooks;
    private final JobEvents events;
    private final RunPricing pricing;
    private final Function<AgentSpec.Owner, Principal> owners;
    private final Backoff backoff;
    private final Clock clock;
    private final String gateway;

    /**
     * @param owners the principal a job's owner is charged as (user and team, or team)
     * @param gateway this gateway's name, recorded with each run
     */
    public JobRunner(JobStore store, AgentRuntime runtime, Webhooks webhooks, JobEvents events, RunPricing pricing,
                     Function<AgentSpec.Owner, Principal> owners, Backoff backoff, Clock clock, String gateway) {
        this.store = store;
        this.runtime = runtime;
        this.webhooks = webhooks;
        this.events = events;
        this.pricing = pricing;
        this.owners = owners;
        this.backoff = backoff;
        this.clock = clock;
        this.gateway = gateway;
    }

    /** The job is due for {@code scheduledFor}: runs what that stands for; returns its next due time, or null for none. */
    public Instant onDue(String jobId, Instant scheduledFor) {
        Optional<Job> found = store.get(jobId);
        if (found.isEmpty() || found.get().state() != JobState.ACTIVE) return null;   // removed or paused meanwhile
        Job job = found.get();
        Instant now = clock.instant();
        Schedule schedule;
        try {
            schedule = JobService.stored(job.spec());
        } catch (InvalidScheduleException e) {
            return pause(job, "its schedule no longer reads: " + e.getMessage());
        }
        MissedRuns.Plan plan = MissedRuns.plan(job.spec().missed(), schedule, scheduledFor, now, GRACE,
                job.spec().maxRunAll());
        for (Instant missed : plan.missed()) {
            String reason = "no gateway ran it at " + missed + " (missed: " + job.spec().missed().label() + ")";
            store.recordMissed(jobId, missed, reason);
            events.publish(new JobEvent.Missed(jobId, missed, reason));
        }
        if (plan.missedCount() > plan.missed().size()) {
            // A long downtime of a frequent job: the first ones are listed, the rest counted on the last of them.
            Instant last = plan.missed().getLast();
            String reason = (plan.missedCount() - plan.missed().size()) + (plan.missedCountExact() ? "" : " or more")
                    + " further fire times after " + last + " were missed too, not listed";
            store.recordMissed(jobId, last, reason);
            events.publish(new JobEvent.Missed(jobId, last, reason));
        }
        boolean failed = false;
        for (Instant fireTime : plan.run()) {
            failed = !runOnce(job, fireTime);
            job = store.get(jobId).orElse(job);
            if (job.state() != JobState.ACTIVE) return null;
        }
        Duration jitter = JobService.jitter(job.spec());
        Instant next = plan.next().map(t -> t.plus(jitter)).orElse(null);
        if (failed) {
            Instant retry = clock.instant().plus(backoff.delay(job.consecutiveFailures()));
            if (next == null || retry.isBefore(next)) next = retry;
        }
        Job updated = new Job(job.spec(), next == null ? JobState.ENDED : job.state(), job.source(), job.createdBy(),
                job.createdAt(), job.consecutiveFailures(), job.pausedReason(), next, job.lastRunAt());
        store.update(updated);
        return next;
    }

    /**
     * The gateway running the job's run for {@code scheduledFor} died (it stopped beating): that run is recorded as
     * interrupted, and runs again now if the job says so, else at its next time.
     */
    public Instant onDead(String jobId, Instant scheduledFor) {
        Optional<Job> found = store.get(jobId);
        if (found.isEmpty()) return null;
        Job job = found.get();
        for (JobRun r : store.history(jobId, 5)) {
            if (r.status().equals("running")) {
                store.endRun(jobId, r.runNo(), clock.instant(), "interrupted", "the gateway " + r.gateway()
                        + " running it stopped (killed or lost)", r.tokens(), r.costNanos(), null, r.agentRunId());
                events.publish(new JobEvent.Finished(jobId, r.runNo(), "interrupted", "its gateway stopped", r.tokens(), r.costNanos()));
            }
        }
        if (job.state() != JobState.ACTIVE) return null;
        if (job.spec().retryInterrupted()) return clock.instant();
        try {
            return JobService.stored(job.spec()).nextAfter(clock.instant()).orElse(null);
        } catch (InvalidScheduleException e) {
            return null;
        }
    }

    /** One run; true if it succeeded. Its history row and the job's failure count are written here. */
    private boolean runOnce(Job job, Instant fireTime) {
        JobSpec spec = job.spec();
        Instant started = clock.instant();
        long runNo;
        String session = spec.action() instanceof JobAction.AgentTurn t && t.session() != null ? t.session() : null;
        runNo = store.startRun(spec.id(), fireTime, started, gateway, null);
        String sessionName = session != null ? session : "job:" + spec.id() + ":" + runNo;
        Outcome o;
        try {
            o = switch (spec.action()) {
                case JobAction.AgentTurn t -> agentTurn(spec, t, sessionName, runNo, fireTime, started);
                case JobAction.Webhook w -> {
                    events.publish(new JobEvent.Started(spec.id(), runNo, fireTime, Duration.between(fireTime, started).toMillis(), null));
                    yield webhook(spec, runNo, fireTime, w);
                }
            };
        } catch (RuntimeException e) {
            log.warn("job {} run {} failed", spec.id(), runNo, e);
            o = new Outcome("failed", "Carapace failed to run it: " + clip(String.valueOf(e.getMessage()), 200), 0, 0, null, null);
        }
        store.endRun(spec.id(), runNo, clock.instant(), o.status, o.reason, o.tokens, o.costNanos,
                o.result == null ? null : clip(o.result, RESULT_CHARS), o.agentRunId);
        events.publish(new JobEvent.Finished(spec.id(), runNo, o.status, o.reason, o.tokens, o.costNanos));
        boolean ok = o.status.equals("succeeded");
        int failures = ok ? 0 : job.consecutiveFailures() + 1;
        // As stored now: its owner may have paused or changed it while it ran.
        Job current = store.get(spec.id()).orElse(job);
        Job after = new Job(current.spec(), current.state(), current.source(), current.createdBy(), current.createdAt(),
                failures, current.pausedReason(), current.nextDueAt(), started);
        store.update(after);
        if (!ok && after.state() == JobState.ACTIVE && Backoff.shouldPause(failures, spec.maxFailures())) {
            pause(after, "paused after " + failures + " failed runs in a row; the last: " + o.status
                    + (o.reason == null ? "" : " (" + clip(o.reason, 200) + ")"));
        }
        if (spec.deliverTo() != null) deliver(spec, runNo, fireTime, o);
        return ok;
    }

    private record Outcome(String status, String reason, long tokens, long costNanos, String result, String agentRunId) {}

    private Outcome agentTurn(JobSpec spec, JobAction.AgentTurn turn, String sessionName, long runNo, Instant fireTime,
                              Instant started) {
        JobLimits l = spec.limits();
        AgentSpec.Limits limits = new AgentSpec.Limits(l.maxModelCalls(), l.maxWall(), l.maxTokens(),
                AgentSpec.Limits.DEFAULT.toolTimeout(), AgentSpec.Limits.DEFAULT.maxToolOutputBytes());
        String runId;
        try {
            runId = runtime.start(spec.agent(), sessionName, turn.message(), owners.apply(spec.owner()),
                    new RunOptions(l.tools(), limits, spec.id()));
        } catch (ApiException e) {
            events.publish(new JobEvent.Started(spec.id(), runNo, fireTime, Duration.between(fireTime, started).toMillis(), null));
            return new Outcome("failed", "the run could not start: " + e.getMessage(), 0, 0, null, null);
        }
        events.publish(new JobEvent.Started(spec.id(), runNo, fireTime, Duration.between(fireTime, started).toMillis(), runId));
        RunInfo info;
        try {
            // The run's own max_wall ends it; the extra minute only guards against a run that cannot be stopped.
            info = runtime.await(runId, l.maxWall().plusMinutes(1));
            if (!info.status().isFinal()) {
                runtime.cancel(runId);
                info = runtime.await(runId, Duration.ofSeconds(10));
                return new Outcome("timed_out", "the run did not end within max_wall " + l.maxWall(), info.tokens(),
                        cost(info), null, runId);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            runtime.cancel(runId);
            return new Outcome("interrupted", "the gateway is shutting down", 0, 0, null, runId);
        }
        String status = switch (info.status()) {
            case COMPLETED -> "succeeded";
            case LIMIT_EXCEEDED -> info.reason() != null && info.reason().startsWith("max_wall") ? "timed_out" : "limit_exceeded";
            case INTERRUPTED -> "interrupted";
            case FAILED -> info.reason() != null && info.reason().contains("budget") ? "budget_exhausted" : "failed";
            default -> "failed";
        };
        return new Outcome(status, info.reason(), info.tokens(), cost(info), RunAnswer.of(runtime, info), runId);
    }

    /**
     * What the run's model calls cost, from the usage its transcript keeps: read once it has ended, so no call is
     * missed (a listener subscribed after the start missed the usage of a run that answered at once).
     */
    private long cost(RunInfo info) {
        long nanos = 0;
        for (TranscriptEntry e : runtime.transcript(info.sessionKey())) {
            if (info.id().equals(e.runId()) && e.usage() != null && e.model() != null) {
                nanos += pricing.costNanos(e.model(), e.usage());
            }
        }
        return nanos;
    }

    private Outcome webhook(JobSpec spec, long runNo, Instant fireTime, JobAction.Webhook w) {
        byte[] body = (w.body() != null ? w.body() : describe(spec, runNo, fireTime, null)).getBytes(StandardCharsets.UTF_8);
        try {
            Webhooks.Response r = webhooks.post(caller(spec), w.url(), Map.of("Content-Type", "application/json"), body,
                    RESULT_CHARS, spec.limits().maxWall());
            String result = "HTTP " + r.status() + " " + new String(r.body(), StandardCharsets.UTF_8);
            boolean ok = r.status() >= 200 && r.status() < 300;
            return new Outcome(ok ? "succeeded" : "failed", ok ? null : "the webhook answered " + r.status(), 0, 0, result, null);
        } catch (Webhooks.Refused e) {
            return new Outcome("failed", "the egress policy refused the webhook: " + e.getMessage(), 0, 0, null, null);
        } catch (java.net.http.HttpTimeoutException e) {
            return new Outcome("timed_out", "the webhook did not answer within " + spec.limits().maxWall(), 0, 0, null, null);
        } catch (java.io.IOException e) {
            return new Outcome("failed", "the webhook call failed: " + e.getClass().getSimpleName(), 0, 0, null, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome("interrupted", "the gateway is shutting down", 0, 0, null, null);
        }
    }

    private void deliver(JobSpec spec, long runNo, Instant fireTime, Outcome o) {
        try {
            webhooks.post(caller(spec), spec.deliverTo(), Map.of("Content-Type", "application/json"),
                    describe(spec, runNo, fireTime, o).getBytes(StandardCharsets.UTF_8), 1024, Duration.ofSeconds(30));
        } catch (Webhooks.Refused | java.io.IOException e) {
            log.warn("job {} run {}: its result could not be delivered to {}: {}", spec.id(), runNo,
                    URI.create(spec.deliverTo().getScheme() + "://" + spec.deliverTo().getHost()), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whose network rules a job's webhook calls go out under: its agent's, or its own for a job without one. */
    private static String caller(JobSpec spec) {
        return spec.agent() != null ? spec.agent() : "job:" + spec.id();
    }

    private static String describe(JobSpec spec, long runNo, Instant fireTime, Outcome o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", spec.id());
        m.put("run", runNo);
        m.put("scheduled_for", fireTime.toString());
        if (o != null) {
            m.put("status", o.status);
            m.put("reason", o.reason);
            m.put("result", o.result == null ? null : clip(o.result, RESULT_CHARS));
            m.put("tokens", o.tokens);
        }
        try {
            return JSON.writeValueAsString(m);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private Instant pause(Job job, String reason) {
        store.update(new Job(job.spec(), JobState.PAUSED, job.source(), job.createdBy(), job.createdAt(),
                job.consecutiveFailures(), reason, null, job.lastRunAt()));
        log.warn("job {} ({}) paused: {}", job.id(), job.spec().owner(), reason);
        events.publish(new JobEvent.Paused(job.id(), reason));
        return null;
    }
}
