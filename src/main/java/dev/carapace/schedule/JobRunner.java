package dev.carapace.schedule;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.RunEvent;
import dev.carapace.agent.RunEvents;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
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
    /** The code of the refusal a job's owner function throws when the owner's keys were all revoked. */
    public static final String OWNER_REVOKED = "job_owner_revoked";
    private static final int RESULT_CHARS = 4000;

    private final JobStore store;
    private final AgentRuntime runtime;
    private final Webhooks webhooks;
    private final ResultDelivery results;
    private final JobEvents events;
    private final RunPricing pricing;
    private final Function<AgentSpec.Owner, Principal> owners;
    private final Backoff backoff;
    private final Clock clock;
    private final String gateway;

    /**
     * @param webhooks a webhook job's one call
     * @param results  where a job's result goes when it names a {@code deliver_to}
     * @param owners   the principal a job's owner is charged as (user and team, or team)
     * @param gateway  this gateway's name, recorded with each run
     */
    public JobRunner(JobStore store, AgentRuntime runtime, Webhooks webhooks, ResultDelivery results, JobEvents events,
                     RunPricing pricing, Function<AgentSpec.Owner, Principal> owners, Backoff backoff, Clock clock,
                     String gateway) {
        this.store = store;
        this.runtime = runtime;
        this.webhooks = webhooks;
        this.results = results;
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
            return pause(jobId, "its schedule no longer reads: " + e.getMessage());
        }
        scheduledFor = fireTime(schedule, scheduledFor);
        MissedRuns.Plan plan = MissedRuns.plan(job.spec().missed(), schedule, scheduledFor, now,
                grace(schedule, scheduledFor), job.spec().maxRunAll());
        recordMissed(jobId, plan.missed(), plan.missedCount(), plan.missedCountExact(),
                "(missed: " + job.spec().missed().label() + ")");
        boolean failed = false;
        for (Instant fireTime : plan.run()) {
            failed = !runOnce(job, fireTime);
            // paused or removed while it ran: no next time
            Optional<Job> current = store.get(jobId);
            if (current.isEmpty() || current.get().state() != JobState.ACTIVE) return null;
            job = current.get();
        }
        Duration jitter = JobService.jitter(job.spec());
        Instant planned = plan.next().map(t -> t.plus(jitter)).orElse(null);
        boolean lastFailed = failed;
        // Paused or removed meanwhile: that stands, with no next time.
        Job updated = store.change(jobId, current -> {
            if (current.state() != JobState.ACTIVE) return current;
            Instant next = planned;
            // A job resumed while its run ended has its failures cleared: resuming is not asking for a retry at once.
            if (lastFailed && current.consecutiveFailures() > 0) {
                Instant retry = clock.instant().plus(backoff.delay(current.consecutiveFailures()));
                if (next == null || retry.isBefore(next)) next = retry;
            }
            return new Job(current.spec(), next == null ? JobState.ENDED : JobState.ACTIVE, current.source(),
                    current.createdBy(), current.createdAt(), current.consecutiveFailures(), current.pausedReason(), next,
                    current.lastRunAt());
        }).orElse(null);
        return updated == null || updated.state() != JobState.ACTIVE ? null : updated.nextDueAt();
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
                long tokens = r.tokens();
                long cost = r.costNanos();
                if (r.agentRunId() != null) {
                    // What its model calls that ended before the stop cost, as its transcript kept them: the history
                    // showed 0 for a run the ledger had charged.
                    try {
                        RunInfo info = runtime.run(r.agentRunId());
                        tokens = Math.max(tokens, info.tokens());
                        cost = Math.max(cost, cost(info));
                    } catch (ApiException gone) {
                        // its agent run was never recorded (the stop came first): nothing was spent through it
                    }
                }
                store.endRun(jobId, r.runNo(), clock.instant(), "interrupted", "the gateway " + r.gateway()
                        + " running it stopped (killed or lost)", tokens, cost, null, r.agentRunId());
                events.publish(new JobEvent.Finished(jobId, r.runNo(), "interrupted", "its gateway stopped", tokens, cost));
            }
        }
        if (job.state() != JobState.ACTIVE) return null;
        Schedule schedule;
        try {
            schedule = JobService.stored(job.spec());
        } catch (InvalidScheduleException e) {
            return pause(jobId, "its schedule no longer reads: " + e.getMessage());
        }
        Optional<Instant> following = schedule.nextAfter(fireTime(schedule, scheduledFor));
        if (!job.spec().retryInterrupted()) {
            // The fire times after the dead run are handled like any others: onDue applies the missed-run policy
            // to those that passed meanwhile, so none is skipped silently.
            return dueNext(job, following.map(t -> t.plus(JobService.jitter(job.spec()))).orElse(null));
        }
        // The retry, now, stands for the interrupted time; fire times that passed since are missed, and recorded.
        Instant now = clock.instant();
        if (following.isPresent() && !following.get().isAfter(now)) {
            FireTimes.Listing passed = FireTimes.from(schedule, following.get(), now, MissedRuns.MISSED_KEPT);
            recordMissed(jobId, passed.first(), passed.count(), passed.exact(),
                    "(its run for " + scheduledFor + " was interrupted and is retried instead)");
        }
        return dueNext(job, now);
    }

    /** Stores when the job is due next (ended when never), as the list and show it, and returns that time. */
    private Instant dueNext(Job job, Instant next) {
        Job updated = store.change(job.id(), current -> current.state() != JobState.ACTIVE ? current
                : new Job(current.spec(), next == null ? JobState.ENDED : JobState.ACTIVE, current.source(),
                        current.createdBy(), current.createdAt(), current.consecutiveFailures(), current.pausedReason(),
                        next, current.lastRunAt())).orElse(null);
        return updated == null || updated.state() != JobState.ACTIVE ? null : updated.nextDueAt();
    }

    /** Records each missed fire time listed, then how many more there were, on the last of them. */
    private void recordMissed(String jobId, List<Instant> listed, long count, boolean exact, String why) {
        for (Instant missed : listed) {
            String reason = "no gateway ran it at " + missed + " " + why;
            store.recordMissed(jobId, missed, reason);
            events.publish(new JobEvent.Missed(jobId, missed, reason));
        }
        if (count > listed.size()) {
            // A long downtime of a frequent job: the first ones are listed, the rest counted on the last of them.
            Instant last = listed.getLast();
            String reason = (count - listed.size()) + (exact ? "" : " or more")
                    + " further fire times after " + last + " were missed too, not listed";
            store.recordMissed(jobId, last, reason);
            events.publish(new JobEvent.Missed(jobId, last, reason));
        }
    }

    /**
     * The fire time a due time stands for: the due queue keeps milliseconds, so a fire time with a finer part (an
     * {@code at} or an anchor written to the nanosecond) comes back up to a millisecond early, and would otherwise
     * count as a time of its own and its fire time as one missed behind it.
     */
    static Instant fireTime(Schedule schedule, Instant scheduledFor) {
        return schedule.nextAfter(scheduledFor.minusNanos(1)).filter(t -> t.isBefore(scheduledFor.plusMillis(1)))
                .orElse(scheduledFor);
    }

    /**
     * How late the run for {@code due} may start and still be on time: {@link #GRACE}, but never past the next fire
     * time. A job every minute that was down for 90 s missed a run, and its missed-run policy says what to do (a
     * grace of two minutes alone would run the oldest and drop the policy). A due time that is no fire time (run
     * now, a retry) keeps the whole grace: it is not skipped for a fire time that follows it closely.
     */
    static Duration grace(Schedule schedule, Instant due) {
        boolean fireTime = schedule.nextAfter(due.minusNanos(1)).filter(due::equals).isPresent();
        if (!fireTime) return GRACE;
        return schedule.nextAfter(due).map(next -> Duration.between(due, next)).filter(d -> d.compareTo(GRACE) < 0)
                .orElse(GRACE);
    }

    /** One run; true if it succeeded. Its history row and the job's failure count are written here. */
    private boolean runOnce(Job job, Instant fireTime) {
        JobSpec spec = job.spec();
        Instant started = clock.instant();
        long runNo;
        String session = spec.action() instanceof JobAction.AgentTurn t && t.session() != null ? t.session() : null;
        String sessionKey = spec.action() instanceof JobAction.AgentTurn ? "agent:" + spec.agent() + ":"
                + (session != null ? session : "job:" + spec.id() + ":" + JobStore.RUN) : null;
        runNo = store.startRun(spec.id(), fireTime, started, gateway, sessionKey);
        // Removed since it was read (a delete racing a run-now): nothing runs, and its caller finds it gone.
        if (runNo == 0) return true;
        String sessionName = session != null ? session : "job:" + spec.id() + ":" + runNo;
        Outcome o;
        try {
            Principal owner = owners.apply(spec.owner());   // throws when the owner's keys were all revoked
            o = switch (spec.action()) {
                case JobAction.AgentTurn t -> agentTurn(spec, owner, t, sessionName, runNo, fireTime, started);
                case JobAction.Webhook w -> {
                    events.publish(new JobEvent.Started(spec.id(), runNo, fireTime, Duration.between(fireTime, started).toMillis(), null));
                    yield webhook(spec, runNo, fireTime, w);
                }
            };
        } catch (RuntimeException e) {
            if (e instanceof ApiException a && OWNER_REVOKED.equals(a.code())) {
                events.publish(new JobEvent.Started(spec.id(), runNo, fireTime, Duration.between(fireTime, started).toMillis(), null));
                o = new Outcome("failed", a.getMessage(), 0, 0, null, null, true);
            } else {
                log.warn("job {} run {} failed", spec.id(), runNo, e);
                o = new Outcome("failed", "Carapace failed to run it: " + clip(String.valueOf(e.getMessage()), 200), 0, 0, null, null);
            }
        }
        store.endRun(spec.id(), runNo, clock.instant(), o.status, o.reason, o.tokens, o.costNanos,
                o.result == null ? null : clip(o.result, RESULT_CHARS), o.agentRunId);
        events.publish(new JobEvent.Finished(spec.id(), runNo, o.status, o.reason, o.tokens, o.costNanos));
        boolean ok = o.status.equals("succeeded");
        // A departed owner's address is told nothing more: the run did not happen for them.
        if (spec.deliverTo() != null && !o.pauseNow) deliver(spec, runNo, fireTime, o);
        // Over the job as it stands now: its owner may have paused it (or removed it) while it ran, and that stands.
        Optional<Job> written = store.change(spec.id(), now -> new Job(now.spec(), now.state(), now.source(),
                now.createdBy(), now.createdAt(), ok ? 0 : now.consecutiveFailures() + 1, now.pausedReason(),
                now.nextDueAt(), started));
        if (written.isEmpty() || ok || written.get().state() != JobState.ACTIVE) return ok;
        int failures = written.get().consecutiveFailures();
        if (o.pauseNow) {
            pause(spec.id(), "paused: " + clip(o.reason, 300));
        } else if (Backoff.shouldPause(failures, spec.maxFailures())) {
            pause(spec.id(), "paused after " + (failures == 1 ? "1 failed run" : failures + " failed runs in a row") + "; the last: " + o.status
                    + (o.reason == null ? "" : " (" + clip(o.reason, 200) + ")"));
        }
        return ok;
    }

    /** @param pauseNow the job cannot run again as it is (its owner is gone): paused after this run, whatever its max_failures */
    private record Outcome(String status, String reason, long tokens, long costNanos, String result, String agentRunId,
                           boolean pauseNow) {
        Outcome(String status, String reason, long tokens, long costNanos, String result, String agentRunId) {
            this(status, reason, tokens, costNanos, result, agentRunId, false);
        }
    }

    private Outcome agentTurn(JobSpec spec, Principal owner, JobAction.AgentTurn turn, String sessionName, long runNo,
                              Instant fireTime, Instant started) {
        JobLimits l = spec.limits();
        AgentSpec.Limits limits = new AgentSpec.Limits(l.maxModelCalls(), l.maxWall(), l.maxTokens(),
                AgentSpec.Limits.DEFAULT.toolTimeout(), AgentSpec.Limits.DEFAULT.maxToolOutputBytes());
        String runId;
        try {
            runId = runtime.start(spec.agent(), sessionName, turn.message(), owner,
                    new RunOptions(l.tools(), limits, spec.id()));
        } catch (ApiException e) {
            events.publish(new JobEvent.Started(spec.id(), runNo, fireTime, Duration.between(fireTime, started).toMillis(), null));
            return new Outcome("failed", "the run could not start: " + e.getMessage(), 0, 0, null, null);
        }
        store.runAgent(spec.id(), runNo, runId);
        events.publish(new JobEvent.Started(spec.id(), runNo, fireTime, Duration.between(fireTime, started).toMillis(), runId));
        RunInfo info;
        CostWatch watch = new CostWatch(l.maxCostNanos());
        AtomicReference<String> ownerGone = new AtomicReference<>();
        try (RunEvents.Subscription ignored = runtime.subscribeRun(runId, e -> {
            if (!(e instanceof RunEvent.UsageReported u)) return;
            if (l.maxCost() != null && watch.add(pricing.costNanos(u.model(), u.usage()))) runtime.cancel(runId);
            // An owner whose keys were revoked while the run went on stops it after the call at hand.
            try {
                owners.apply(spec.owner());
            } catch (ApiException gone) {
                if (OWNER_REVOKED.equals(gone.code()) && ownerGone.compareAndSet(null, gone.getMessage())) runtime.cancel(runId);
            }
        })) {
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
        if (ownerGone.get() != null) {
            return new Outcome("failed", ownerGone.get(), info.tokens(), cost(info), null, runId, true);
        }
        if (watch.reached()) {
            long cost = cost(info);
            return new Outcome("limit_exceeded", "max_cost: the run's model calls cost " + usd(cost) + " USD, its limit is "
                    + l.maxCost().toPlainString() + " USD", info.tokens(), cost, null, runId);
        }
        String status = switch (info.status()) {
            case COMPLETED -> "succeeded";
            case LIMIT_EXCEEDED -> info.reason() != null && info.reason().startsWith("max_wall") ? "timed_out" : "limit_exceeded";
            case INTERRUPTED -> "interrupted";
            case FAILED -> info.reason() != null && info.reason().contains("budget") ? "budget_exhausted" : "failed";
            default -> "failed";
        };
        return new Outcome(status, jobsWords(info.reason()), info.tokens(), cost(info), RunAnswer.of(runtime, info), runId);
    }

    /** Adds up a run's cost as its calls are charged; says once when the limit is reached. */
    private static final class CostWatch {
        private final long limit;
        private long spent;
        private boolean reached;

        CostWatch(long limit) { this.limit = limit; }

        synchronized boolean add(long nanos) {
            spent += nanos;
            if (reached || spent < limit) return false;
            reached = true;
            return true;
        }

        synchronized boolean reached() { return reached; }
    }

    private static String usd(long nanos) {
        return java.math.BigDecimal.valueOf(nanos, 9).stripTrailingZeros().toPlainString();
    }

    /** A run's reason in the words of the job's limits: the agent's max_steps is the job's max_model_calls. */
    static String jobsWords(String reason) {
        return reason != null && reason.startsWith("max_steps:") ? "max_model_calls:" + reason.substring("max_steps:".length())
                : reason;
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

    /** Queues the run's result for its {@code deliver_to}: delivered (signed, retried) after the run is recorded. */
    private void deliver(JobSpec spec, long runNo, Instant fireTime, Outcome o) {
        try {
            results.deliver(spec.id(), caller(spec), spec.deliverTo(), spec.id() + ":" + runNo + ":" + fireTime,
                    describe(spec, runNo, fireTime, o).getBytes(StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            log.warn("job {} run {}: its result could not be queued for {}: {}", spec.id(), runNo,
                    URI.create(spec.deliverTo().getScheme() + "://" + spec.deliverTo().getHost()), e.getMessage());
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

    /** Pauses the job if it is still active (a pause or removal that came first stands); returns null, its next time. */
    private Instant pause(String jobId, String reason) {
        store.pauseIfActive(jobId, reason).ifPresent(paused -> {
            log.warn("job {} ({}) paused: {}", jobId, paused.spec().owner(), reason);
            events.publish(new JobEvent.Paused(jobId, reason, true));
        });
        return null;
    }
}
