package dev.carapace.store;

import com.github.kagkarlsson.scheduler.ScheduledExecution;
import com.github.kagkarlsson.scheduler.ScheduledExecutionsFilter;
import com.github.kagkarlsson.scheduler.Scheduler;
import com.github.kagkarlsson.scheduler.SchedulerBuilder;
import com.github.kagkarlsson.scheduler.SchedulerClient;
import com.github.kagkarlsson.scheduler.SchedulerName;
import com.github.kagkarlsson.scheduler.exceptions.ExecutionException;
import com.github.kagkarlsson.scheduler.exceptions.TaskInstanceCurrentlyExecutingException;
import com.github.kagkarlsson.scheduler.exceptions.TaskInstanceNotFoundException;
import com.github.kagkarlsson.scheduler.jdbc.JdbcCustomization;
import com.github.kagkarlsson.scheduler.jdbc.PostgreSqlJdbcCustomization;
import com.github.kagkarlsson.scheduler.serializer.Serializer;
import com.github.kagkarlsson.scheduler.task.CompletionHandler;
import com.github.kagkarlsson.scheduler.task.Execution;
import com.github.kagkarlsson.scheduler.task.ExecutionComplete;
import com.github.kagkarlsson.scheduler.task.ExecutionOperations;
import com.github.kagkarlsson.scheduler.task.TaskInstance;
import com.github.kagkarlsson.scheduler.task.helper.CustomTask;
import com.github.kagkarlsson.scheduler.task.helper.Tasks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Which gateway runs a due job, and when: db-scheduler over the store's pool, one execution per job in its table
 * {@code scheduled_tasks} (task {@value #TASK}, instance = the job's id). An execution that is due is picked by one
 * gateway only (an {@code UPDATE ... WHERE version = ?} on SQLite, {@code SELECT ... FOR UPDATE SKIP LOCKED} on
 * PostgreSQL), stays picked while {@link Handler#onDue} runs, with the gateway heart-beating it, and is then moved
 * to the time {@code onDue} returns (or removed). So each (job, scheduled time) starts once across every gateway on
 * the database.
 *
 * <p>When a gateway dies while it runs a job ({@code kill -9}), its heartbeat stops; after
 * {@link Settings#deadAfter()} a surviving gateway finds the execution dead and revives it, once (the revival is an
 * update guarded by the execution's version, so of two gateways that find it at the same moment one wins), marked
 * in its data as dead with the time it was scheduled for. The gateway that picks the revived execution calls
 * {@link Handler#onDead} instead of {@code onDue}: never while the dead run's execution was still heart-beating, and
 * never twice at once. On SQLite, where one gateway process owns the file, the executions still picked when that
 * gateway starts are all a dead process's, and are taken for dead at once rather than after the timeout.
 *
 * <p>SQLite needs {@link SqliteSchedulerDialect} (db-scheduler 16.7.1 does not know it) and polls with
 * fetch-and-lock-on-execute, since it has no {@code SKIP LOCKED}; PostgreSQL uses lock-and-fetch. Instants are
 * truncated to the millisecond, as everywhere in the store, so the time a handler is given is the one scheduled.
 */
public final class DueRuns implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DueRuns.class);

    /** db-scheduler's name for the one task: running a job. */
    static final String TASK = "carapace-job";
    /** Execution data of an execution at its scheduled time: nothing to remember. */
    private static final String DUE = "";

    /**
     * What a gateway does with a job that is due. Both methods run on one of the scheduler's threads while the
     * execution is picked (and heart-beaten) by this gateway, and may block for the length of the run.
     */
    public interface Handler {

        /**
         * The job is due. Returns when it is due next, or null for never (its execution is removed). If it throws,
         * it is called again for the same {@code scheduledFor} after {@link Settings#retryAfterFailure()}.
         *
         * @param scheduledFor the time the job was scheduled for (not when it was picked)
         */
        Instant onDue(String jobId, Instant scheduledFor);

        /**
         * The gateway running the job for {@code scheduledFor} stopped heart-beating (it died) before it finished.
         * Called on one surviving gateway, once for that execution (again only if this call itself dies or throws),
         * never while {@code onDue} runs for it elsewhere with a live heartbeat. Also called when the dead gateway
         * finished the run but died (or lost the database) before it could record the next time. Returns when the
         * job is due next, or null for never.
         */
        Instant onDead(String jobId, Instant scheduledFor);
    }

    /**
     * How the scheduler runs.
     *
     * @param pollingInterval   how often the table is read for due executions: the lateness of a due run is up to
     *                          this (a run scheduled by this gateway for now or earlier is looked for at once)
     * @param heartbeatInterval how often a gateway tells it is still running its picked executions
     * @param threads           how many jobs one gateway runs at once
     * @param missedHeartbeats  heartbeats missed before an execution is dead (at least 4, db-scheduler's minimum)
     * @param shutdownMaxWait   how long {@link #stop} waits for running executions before interrupting them
     * @param retryAfterFailure how long after a handler threw it is called again
     */
    public record Settings(Duration pollingInterval, Duration heartbeatInterval, int threads, int missedHeartbeats,
                           Duration shutdownMaxWait, Duration retryAfterFailure) {
        public Settings {
            Objects.requireNonNull(pollingInterval, "pollingInterval");
            Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
            Objects.requireNonNull(shutdownMaxWait, "shutdownMaxWait");
            Objects.requireNonNull(retryAfterFailure, "retryAfterFailure");
            if (threads < 1) throw new IllegalArgumentException("threads must be at least 1");
            if (missedHeartbeats < 4) throw new IllegalArgumentException("missedHeartbeats must be at least 4");
        }

        /** With six missed heartbeats, 30 s to stop, and a minute before a failed handler is called again. */
        public Settings(Duration pollingInterval, Duration heartbeatInterval, int threads) {
            this(pollingInterval, heartbeatInterval, threads, 6, Duration.ofSeconds(30), Duration.ofMinutes(1));
        }

        /**
         * For a gateway: polls every second (a run starts at most a second late); heartbeats every 10 s, so a dead
         * gateway's run is taken over after 60 s (the same minute {@code Sessions} waits for an agent run's owner),
         * which a live gateway's stalls (GC, a slow database) never come near; 10 jobs at once per gateway.
         */
        public static Settings production() {
            return new Settings(Duration.ofSeconds(1), Duration.ofSeconds(10), 10);
        }

        /** For tests: polls every 100 ms, heartbeats every 250 ms, dead after 1.5 s, stops within 5 s. */
        public static Settings fast() {
            return new Settings(Duration.ofMillis(100), Duration.ofMillis(250), 10, 6, Duration.ofSeconds(5),
                    Duration.ofMillis(500));
        }

        /** How long an execution's heartbeat may be silent before another gateway takes it for dead. */
        public Duration deadAfter() { return heartbeatInterval.multipliedBy(missedHeartbeats); }
    }

    private final Store store;
    private final String gatewayName;
    private final Settings settings;
    private final JdbcCustomization dialect;
    /** Schedules, moves and cancels executions; works before {@link #start} and after {@link #stop}. */
    private final SchedulerClient client;
    private final CustomTask<String> clientTask;
    /** The running scheduler; null before start and after stop. Guarded by this. */
    private Scheduler scheduler;
    private boolean started;
    private boolean stopping;

    /**
     * @param gatewayName this gateway's name as the table records who picked an execution (up to 50 characters are
     *                    kept); unique among the gateways sharing the database
     */
    public DueRuns(Store store, String gatewayName, Settings settings) {
        this.store = Objects.requireNonNull(store, "store");
        this.gatewayName = Objects.requireNonNull(gatewayName, "gatewayName");
        this.settings = Objects.requireNonNull(settings, "settings");
        // UTC calendars for PostgreSQL too: the columns keep the zone, and the driver's default zone plays no part.
        this.dialect = store.postgres() ? new PostgreSqlJdbcCustomization(false, true) : new SqliteSchedulerDialect();
        this.clientTask = task(null);
        this.client = SchedulerClient.Builder.create(store.dataSource(), clientTask)
                .serializer(TEXT).jdbcCustomization(dialect).build();
    }

    /**
     * Starts picking due executions for {@code handler}. Once per instance.
     *
     * @throws IllegalStateException if it was started before
     */
    public synchronized void start(Handler handler) {
        Objects.requireNonNull(handler, "handler");
        if (started) throw new IllegalStateException("DueRuns is started once");
        started = true;
        if (!store.postgres() && store.ownsSqliteFile()) {
            // The gateway owning the SQLite file is its one writer process: whatever is still picked is a dead
            // process's. A heartbeat of 0 lets db-scheduler's first look for dead executions (at start) find it.
            int stale = store.write("release job executions of a dead process", h -> h.createUpdate(
                            "UPDATE scheduled_tasks SET last_heartbeat = 0 WHERE task_name = :task AND picked = 1")
                    .bind("task", TASK).execute());
            if (stale > 0) log.info("{} job execution(s) were picked by a process that is gone", stale);
        }
        SchedulerBuilder builder = Scheduler.create(store.dataSource(), task(handler))
                .schedulerName(new SchedulerName.Fixed(gatewayName))
                .threads(settings.threads())
                .pollingInterval(settings.pollingInterval())
                .heartbeatInterval(settings.heartbeatInterval())
                .missedHeartbeatsLimit(settings.missedHeartbeats())
                .shutdownMaxWait(settings.shutdownMaxWait())
                .serializer(TEXT)
                .jdbcCustomization(dialect)
                .enableImmediateExecution();
        builder = store.postgres() ? builder.pollUsingLockAndFetch(0.5, 1.0) : builder.pollUsingFetchAndLockOnExecute(0.5, 3.0);
        Scheduler s = builder.build();
        s.start();
        scheduler = s;
    }

    /**
     * Stops picking, and lets the running executions finish: it waits up to {@link Settings#shutdownMaxWait()},
     * then interrupts them and waits as long again (so at most twice that in all). An execution whose handler
     * still has not returned stays picked with no heartbeat, and is handed to {@link Handler#onDead} by another
     * gateway after {@link Settings#deadAfter()} (on SQLite, by this gateway's next start): a handler should end
     * its run when interrupted or when it sees {@link #stopping()}. Idempotent.
     */
    public void stop() {
        Scheduler s;
        synchronized (this) {
            stopping = true;
            s = scheduler;
            scheduler = null;
        }
        if (s != null) s.stop();
    }

    /** True once {@link #stop} was called: a long run should wind down. */
    public synchronized boolean stopping() { return stopping; }

    @Override
    public void close() { stop(); }

    /**
     * Makes the job due at {@code at}: creates its execution, or moves the one it has. Returns false, changing
     * nothing, when its execution is running now (on any gateway) or a dead gateway's run of it is waiting for
     * {@link Handler#onDead}: the time that handler returns is the next one then.
     */
    public boolean schedule(String jobId, Instant at) {
        Instant time = at.truncatedTo(ChronoUnit.MILLIS);
        TaskInstance<String> instance = clientTask.instance(jobId, DUE);
        return retried("schedule job", () -> {
            if (client.scheduleIfNotExists(instance, time)) return Outcome.DONE;
            Optional<ScheduledExecution<Object>> existing = client.getScheduledExecution(instance);
            if (existing.isEmpty()) return Outcome.AGAIN;   // it ran and was removed meanwhile
            if (busy(existing.get())) return Outcome.REFUSED;
            client.reschedule(instance, time, DUE);
            return Outcome.DONE;
        }, time);
    }

    /**
     * Makes the job due at {@code at} unless it has an execution already, which is left as it is (for a gateway
     * starting with the jobs of its config: a job that has one keeps its time). Returns true when it created one.
     */
    public boolean scheduleIfAbsent(String jobId, Instant at) {
        Instant time = at.truncatedTo(ChronoUnit.MILLIS);
        TaskInstance<String> instance = clientTask.instance(jobId, DUE);
        return retried("schedule job", () -> client.scheduleIfNotExists(instance, time) ? Outcome.DONE : Outcome.REFUSED,
                time);
    }

    /**
     * Removes the job's execution, so it is not due any more. Returns true when it has none now, false, changing
     * nothing, when its execution is running or waiting for {@link Handler#onDead} (return null from the handler
     * to end it then).
     */
    public boolean cancel(String jobId) {
        TaskInstance<String> instance = clientTask.instance(jobId, DUE);
        return retried("cancel job", () -> {
            Optional<ScheduledExecution<Object>> existing = client.getScheduledExecution(instance);
            if (existing.isEmpty()) return Outcome.DONE;
            if (busy(existing.get())) return Outcome.REFUSED;
            client.cancel(instance);
            return Outcome.DONE;
        }, null);
    }

    /** When the job's execution is due (for a running one: the time it was picked for); empty when it has none. */
    public Optional<Instant> dueAt(String jobId) {
        try {
            return client.getScheduledExecution(clientTask.instance(jobId, DUE)).map(ScheduledExecution::getExecutionTime);
        } catch (RuntimeException e) {
            throw StoreException.of("find job execution", e);
        }
    }

    /**
     * Every job that has an execution, with the time it is due (or was picked for), in one read: for a gateway
     * starting with many jobs, to schedule only those that have none.
     */
    public Map<String, Instant> dueTimes() {
        Map<String, Instant> due = new HashMap<>();
        try {
            client.fetchScheduledExecutionsForTask(TASK, String.class, ScheduledExecutionsFilter.all(),
                    e -> due.put(e.getTaskInstance().getId(), e.getExecutionTime()));
        } catch (RuntimeException e) {
            throw StoreException.of("list job executions", e);
        }
        return due;
    }

    private static boolean busy(ScheduledExecution<Object> e) {
        return e.isPicked() || Mark.of(e.getData() instanceof String data ? data : DUE).dead();
    }

    private enum Outcome { DONE, REFUSED, AGAIN }

    private interface Attempt {
        Outcome run();
    }

    /**
     * Runs {@code attempt} until it neither raced another gateway nor found the execution changed under it (each
     * of db-scheduler's writes is guarded by the execution's version). Hints this gateway's scheduler when a job
     * became due now, so it does not wait for the next poll.
     */
    private boolean retried(String operation, Attempt attempt, Instant dueAt) {
        for (int i = 0; i < 10; i++) {
            Outcome outcome;
            try {
                outcome = attempt.run();
            } catch (TaskInstanceNotFoundException | ExecutionException raced) {
                continue;
            } catch (TaskInstanceCurrentlyExecutingException picked) {
                return false;
            } catch (RuntimeException e) {
                throw StoreException.of(operation, e);
            }
            if (outcome == Outcome.AGAIN) continue;
            if (outcome == Outcome.DONE && dueAt != null && !dueAt.isAfter(Instant.now())) wake();
            return outcome == Outcome.DONE;
        }
        throw new StoreException(StoreException.Reason.UNAVAILABLE,
                operation + " failed: the job's execution kept changing under it", null);
    }

    private void wake() {
        Scheduler s;
        synchronized (this) {
            s = scheduler;
        }
        if (s != null) s.triggerCheckForDueExecutions();
    }

    /** The one task; {@code handler} is null for the client, which only schedules. */
    private CustomTask<String> task(Handler handler) {
        return Tasks.custom(TASK, String.class)
                .onDeadExecution(DueRuns::revive)
                .onFailure(this::retryLater)
                .execute((instance, context) -> {
                    Execution execution = context.getExecution();
                    Mark mark = Mark.of(execution);
                    Instant scheduledFor = mark.scheduledFor(execution.executionTime);
                    Instant next = mark.dead()
                            ? handler.onDead(instance.getId(), scheduledFor)
                            : handler.onDue(instance.getId(), scheduledFor);
                    return (CompletionHandler<String>) (complete, ops) -> {
                        if (next == null) {
                            ops.remove();
                        } else {
                            ops.reschedule(complete, next.truncatedTo(ChronoUnit.MILLIS), DUE);
                        }
                    };
                });
    }

    /**
     * A dead execution: make it due now, marked dead with the time it was scheduled for. The update is guarded by
     * the version db-scheduler read, so when two gateways find it at once, one revives it and the other's update
     * changes nothing.
     */
    private static void revive(ExecutionComplete complete, ExecutionOperations<String> ops) {
        Execution execution = complete.getExecution();
        Instant scheduledFor = Mark.of(execution).scheduledFor(execution.executionTime);
        try {
            ops.reschedule(complete, Instant.now().truncatedTo(ChronoUnit.MILLIS), Mark.dead(scheduledFor));
            log.warn("job {}: the gateway {} stopped heart-beating while it ran the run scheduled for {}",
                    execution.taskInstance.getId(), execution.pickedBy, scheduledFor);
        } catch (ExecutionException raced) {
            log.debug("job {}: another gateway revived its dead execution first", execution.taskInstance.getId());
        }
    }

    /** A handler threw: call it again later for the same scheduled time (and as dead again, if it was). */
    private void retryLater(ExecutionComplete complete, ExecutionOperations<String> ops) {
        Execution execution = complete.getExecution();
        Mark was = Mark.of(execution);
        Instant scheduledFor = was.scheduledFor(execution.executionTime);
        String data = was.dead() ? Mark.dead(scheduledFor) : Mark.due(scheduledFor);
        ops.reschedule(complete, Instant.now().plus(settings.retryAfterFailure()).truncatedTo(ChronoUnit.MILLIS), data);
    }

    /**
     * What an execution's data says: nothing ({@code ""}: due at its execution time), {@code due:<ms>} (due, for
     * that scheduled time, after a handler failed) or {@code dead:<ms>} (its gateway died running that time).
     */
    private record Mark(boolean dead, Instant scheduledFor) {
        static final String DEAD = "dead:";
        static final String RETRY = "due:";

        static Mark of(String data) {
            if (data == null || data.isEmpty()) return new Mark(false, null);
            if (data.startsWith(DEAD)) return new Mark(true, Instant.ofEpochMilli(Long.parseLong(data.substring(DEAD.length()))));
            if (data.startsWith(RETRY)) return new Mark(false, Instant.ofEpochMilli(Long.parseLong(data.substring(RETRY.length()))));
            throw new IllegalStateException("unknown job execution data");
        }

        static Mark of(Execution execution) {
            return of(execution.taskInstance.getData() instanceof String data ? data : DUE);
        }

        static String dead(Instant scheduledFor) { return DEAD + scheduledFor.toEpochMilli(); }

        static String due(Instant scheduledFor) { return RETRY + scheduledFor.toEpochMilli(); }

        Instant scheduledFor(Instant executionTime) { return scheduledFor != null ? scheduledFor : executionTime; }
    }

    /** Execution data is short text (a {@link Mark}), stored as its UTF-8 bytes rather than a serialized object. */
    private static final Serializer TEXT = new Serializer() {
        @Override
        public byte[] serialize(Object data) {
            return data == null ? null : data.toString().getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public <T> T deserialize(Class<T> clazz, byte[] serializedData) {
            return clazz.cast(serializedData == null ? DUE : new String(serializedData, StandardCharsets.UTF_8));
        }
    };
}
