package dev.carapace.store;

import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Scheduled jobs and the history of their runs (issue 16). A job's definition is its {@code spec}, JSON this class
 * stores and never reads; what is due when is {@link DueRuns}'s. Every method that changes something commits before
 * it returns.
 *
 * <p>Run numbers count from 1 per job, missed runs included. The next one is taken by the same statement that
 * counts it up in the job's row, so two gateways starting runs of one job at once never get the same number.
 */
public final class Jobs {

    /** Job states. */
    public static final List<String> STATES = List.of("active", "paused", "ended");
    /** Where a job was defined. */
    public static final List<String> SOURCES = List.of("config", "api", "agent");
    /** Run statuses; {@code running} is the one that is not final. */
    public static final List<String> RUN_STATUSES = List.of("running", "succeeded", "failed", "limit_exceeded",
            "interrupted", "missed", "budget_exhausted", "timed_out");
    /** In a session key pattern given to {@link #startRun}, replaced by the run's number. */
    public static final String RUN_PLACEHOLDER = "{run}";

    /**
     * A job. Its owner is a user or a team (the one who pays); {@code agent} is null for a job that calls no model.
     *
     * @param spec the job's definition as JSON, not interpreted by the store
     */
    public record JobRow(String id, String ownerUser, String ownerTeam, String agent, String spec, String state,
                         String source, String createdBy, Instant createdAt, Instant updatedAt,
                         int consecutiveFailures, String pausedReason, Instant nextDueAt, Instant lastRunAt) {
        public JobRow {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(spec, "spec");
            Objects.requireNonNull(state, "state");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(createdAt, "createdAt");
            Objects.requireNonNull(updatedAt, "updatedAt");
        }
    }

    /**
     * One run of a job, or one it missed ({@code startedAt} null, status {@code missed}).
     *
     * @param result what the run produced, clipped by the caller
     */
    public record JobRunRow(String jobId, int runNo, Instant scheduledFor, Instant startedAt, Instant endedAt,
                            String status, String reason, String agentRunId, String sessionKey, String gateway,
                            long tokens, long costNanos, String result) {
        public JobRunRow {
            Objects.requireNonNull(jobId, "jobId");
            Objects.requireNonNull(scheduledFor, "scheduledFor");
            Objects.requireNonNull(status, "status");
        }
    }

    private static final String JOB_COLUMNS = "id, owner_user, owner_team, agent, spec, state, source, created_by, "
            + "created_at, updated_at, consecutive_failures, paused_reason, next_due_at, last_run_at";
    private static final String RUN_COLUMNS = "job_id, run_no, scheduled_for, started_at, ended_at, status, reason, "
            + "agent_run_id, session_key, gateway, tokens, cost_nanos, result";

    private static final RowMapper<JobRow> JOB = (rs, ctx) -> new JobRow(rs.getString("id"), rs.getString("owner_user"),
            rs.getString("owner_team"), rs.getString("agent"), rs.getString("spec"), rs.getString("state"),
            rs.getString("source"), rs.getString("created_by"), Instant.ofEpochMilli(rs.getLong("created_at")),
            Instant.ofEpochMilli(rs.getLong("updated_at")), rs.getInt("consecutive_failures"),
            rs.getString("paused_reason"), Times.nullableInstant(rs, "next_due_at"),
            Times.nullableInstant(rs, "last_run_at"));

    private static final RowMapper<JobRunRow> RUN = (rs, ctx) -> new JobRunRow(rs.getString("job_id"), rs.getInt("run_no"),
            Instant.ofEpochMilli(rs.getLong("scheduled_for")), Times.nullableInstant(rs, "started_at"),
            Times.nullableInstant(rs, "ended_at"), rs.getString("status"), rs.getString("reason"),
            rs.getString("agent_run_id"), rs.getString("session_key"), rs.getString("gateway"), rs.getLong("tokens"),
            rs.getLong("cost_nanos"), rs.getString("result"));

    private final Store store;

    Jobs(Store store) { this.store = store; }

    /**
     * Stores a new job.
     *
     * @throws StoreException with {@link StoreException.Reason#DUPLICATE} when a job with this id exists; nothing is
     *                        changed then
     */
    public void insert(JobRow job) {
        int rows = store.write("insert job", h -> h.createUpdate("INSERT INTO jobs (" + JOB_COLUMNS + ") VALUES (:id, "
                        + ":ownerUser, :ownerTeam, :agent, :spec, :state, :source, :createdBy, :createdAt, :updatedAt, "
                        + ":failures, :pausedReason, :nextDueAt, :lastRunAt) ON CONFLICT (id) DO NOTHING")
                .bind("id", job.id()).bind("ownerUser", job.ownerUser()).bind("ownerTeam", job.ownerTeam())
                .bind("agent", job.agent()).bind("spec", job.spec()).bind("state", job.state())
                .bind("source", job.source()).bind("createdBy", job.createdBy())
                .bind("createdAt", job.createdAt().toEpochMilli()).bind("updatedAt", job.updatedAt().toEpochMilli())
                .bind("failures", job.consecutiveFailures()).bind("pausedReason", job.pausedReason())
                .bind("nextDueAt", Times.nullableMillis(job.nextDueAt()))
                .bind("lastRunAt", Times.nullableMillis(job.lastRunAt()))
                .execute());
        if (rows == 0) {
            throw new StoreException(StoreException.Reason.DUPLICATE,
                    "insert job failed: a job with this id already exists", null);
        }
    }

    public Optional<JobRow> get(String id) {
        return store.read("find job", h -> h.createQuery("SELECT " + JOB_COLUMNS + " FROM jobs WHERE id = :id")
                .bind("id", id).map(JOB).findOne());
    }

    /** Every job, by id. */
    public List<JobRow> list() {
        return store.read("list jobs", h -> h.createQuery("SELECT " + JOB_COLUMNS + " FROM jobs ORDER BY id")
                .map(JOB).list());
    }

    /** The jobs a user owns (not those of the user's teams), by id. */
    public List<JobRow> listByOwnerUser(String user) {
        return store.read("list jobs of a user", h -> h.createQuery("SELECT " + JOB_COLUMNS + " FROM jobs "
                        + "WHERE owner_user = :owner ORDER BY id")
                .bind("owner", user).map(JOB).list());
    }

    /** The jobs defined where {@code source} says ({@code config}, {@code api} or {@code agent}), by id. */
    public List<JobRow> listBySource(String source) {
        return store.read("list jobs by source", h -> h.createQuery("SELECT " + JOB_COLUMNS + " FROM jobs "
                        + "WHERE source = :source ORDER BY id")
                .bind("source", source).map(JOB).list());
    }

    /** The jobs a team owns, by id. */
    public List<JobRow> listByOwnerTeam(String team) {
        return store.read("list jobs of a team", h -> h.createQuery("SELECT " + JOB_COLUMNS + " FROM jobs "
                        + "WHERE owner_team = :owner ORDER BY id")
                .bind("owner", team).map(JOB).list());
    }

    /**
     * Writes what may change of a job (its state, paused reason, consecutive failures, next due and last run times,
     * spec, and {@code updatedAt}; its id, owner, agent, source and creation stay as they were), only if it still
     * stands as {@code expected} says: the same state, paused reason, consecutive failures, next due and last run
     * times (its definition is not compared: only a config's reload changes it). False, changing nothing, when
     * another write came first or the job is gone: the caller reads it again and decides afresh. Writing over
     * whatever was there, a run's end wrote back the state it had read, undoing a pause that came in between.
     */
    public boolean replace(JobRow expected, JobRow job) {
        return store.write("update job", h -> h.createUpdate("UPDATE jobs SET state = :state, "
                        + "paused_reason = :pausedReason, consecutive_failures = :failures, next_due_at = :nextDueAt, "
                        + "last_run_at = :lastRunAt, spec = :spec, updated_at = :updatedAt WHERE id = :id "
                        + "AND state = :wasState AND consecutive_failures = :wasFailures "
                        + "AND paused_reason IS NOT DISTINCT FROM CAST(:wasPausedReason AS TEXT) "
                        + "AND next_due_at IS NOT DISTINCT FROM CAST(:wasNextDueAt AS BIGINT) "
                        + "AND last_run_at IS NOT DISTINCT FROM CAST(:wasLastRunAt AS BIGINT)")
                .bind("state", job.state()).bind("pausedReason", job.pausedReason())
                .bind("failures", job.consecutiveFailures()).bind("nextDueAt", Times.nullableMillis(job.nextDueAt()))
                .bind("lastRunAt", Times.nullableMillis(job.lastRunAt())).bind("spec", job.spec())
                .bind("updatedAt", job.updatedAt().toEpochMilli()).bind("id", job.id())
                .bind("wasState", expected.state()).bind("wasFailures", expected.consecutiveFailures())
                .bind("wasPausedReason", expected.pausedReason())
                .bind("wasNextDueAt", Times.nullableMillis(expected.nextDueAt()))
                .bind("wasLastRunAt", Times.nullableMillis(expected.lastRunAt()))
                .execute()) > 0;
    }

    /** Deletes a job and its runs. Returns false when there was no such job. */
    public boolean delete(String id) {
        return store.write("delete job", h -> {
            h.createUpdate("DELETE FROM job_runs WHERE job_id = :id").bind("id", id).execute();
            return h.createUpdate("DELETE FROM jobs WHERE id = :id").bind("id", id).execute() > 0;
        });
    }

    /** How many jobs there are. */
    public long count() {
        return store.read("count jobs", h -> h.createQuery("SELECT COUNT(*) FROM jobs").mapTo(Long.class).one());
    }

    /**
     * Records the start of a run under the job's next run number.
     *
     * @param sessionKeyPattern the session the run uses, where {@value #RUN_PLACEHOLDER} stands for the run's number
     *                          ({@code job:ID:{run}} for a fresh session per run); null for a run with no session
     * @return the run as recorded, status {@code running}
     * @throws StoreException with {@link StoreException.Reason#CONSTRAINT} when there is no such job
     */
    public JobRunRow startRun(String jobId, Instant scheduledFor, Instant startedAt, String gateway,
                              String sessionKeyPattern) {
        Objects.requireNonNull(startedAt, "startedAt");
        return store.write("start job run", h -> {
            int runNo = nextRunNo(h, jobId, "start job run");
            String session = sessionKeyPattern == null ? null
                    : sessionKeyPattern.replace(RUN_PLACEHOLDER, Integer.toString(runNo));
            JobRunRow run = new JobRunRow(jobId, runNo, scheduledFor, startedAt, null, "running", null, null, session,
                    gateway, 0, 0, null);
            insertRun(h, run);
            return run;
        });
    }

    /**
     * Records a run that did not happen (the gateway was down when it was due, or the job's policy skipped it),
     * under the job's next run number, ended at {@code at}.
     */
    public JobRunRow recordMissed(String jobId, Instant scheduledFor, String reason, Instant at) {
        return store.write("record missed job run", h -> {
            JobRunRow run = new JobRunRow(jobId, nextRunNo(h, jobId, "record missed job run"), scheduledFor, null, at,
                    "missed", reason, null, null, null, 0, 0, null);
            insertRun(h, run);
            return run;
        });
    }

    /** Notes the agent run that carries out a job run, while it is running. Returns false when there is no such run. */
    public boolean attachAgentRun(String jobId, int runNo, String agentRunId) {
        return store.write("attach agent run to job run", h -> h.createUpdate("UPDATE job_runs "
                        + "SET agent_run_id = :agentRun WHERE job_id = :job AND run_no = :no")
                .bind("agentRun", agentRunId).bind("job", jobId).bind("no", runNo).execute()) > 0;
    }

    /**
     * Ends a run that is still running. Returns false, changing nothing, when it had already ended (or never
     * existed): the first final status wins.
     *
     * @param agentRunId the agent run that carried it out; null keeps what {@link #attachAgentRun} noted
     */
    public boolean endRun(String jobId, int runNo, String status, String reason, long tokens, long costNanos,
                          String result, String agentRunId, Instant at) {
        return store.write("end job run", h -> h.createUpdate("UPDATE job_runs SET status = :status, reason = :reason, "
                        + "tokens = :tokens, cost_nanos = :cost, result = :result, "
                        + "agent_run_id = COALESCE(:agentRun, agent_run_id), ended_at = :at "
                        + "WHERE job_id = :job AND run_no = :no AND status = 'running'")
                .bind("status", status).bind("reason", reason).bind("tokens", tokens).bind("cost", costNanos)
                .bind("result", result).bind("agentRun", agentRunId).bind("at", at.toEpochMilli())
                .bind("job", jobId).bind("no", runNo).execute()) > 0;
    }

    /** Notes the agent run of a running run. */
    public void runAgent(String jobId, int runNo, String agentRunId) {
        store.write("note job run's agent run", h -> h.createUpdate("UPDATE job_runs SET agent_run_id = :agentRun "
                        + "WHERE job_id = :job AND run_no = :no AND status = 'running'")
                .bind("agentRun", agentRunId).bind("job", jobId).bind("no", runNo).execute());
    }

    /** Ends a running run as {@code interrupted} (its gateway died). Returns false when it was not running. */
    public boolean markInterrupted(String jobId, int runNo, String reason, Instant at) {
        return endRun(jobId, runNo, "interrupted", reason, 0, 0, null, null, at);
    }

    public Optional<JobRunRow> run(String jobId, int runNo) {
        return store.read("find job run", h -> h.createQuery("SELECT " + RUN_COLUMNS + " FROM job_runs "
                        + "WHERE job_id = :job AND run_no = :no")
                .bind("job", jobId).bind("no", runNo).map(RUN).findOne());
    }

    /** A job's runs that are still running, oldest first: what a dead gateway left behind. */
    public List<JobRunRow> running(String jobId) {
        return store.read("list running job runs", h -> h.createQuery("SELECT " + RUN_COLUMNS + " FROM job_runs "
                        + "WHERE job_id = :job AND status = 'running' ORDER BY run_no")
                .bind("job", jobId).map(RUN).list());
    }

    /** A job's last {@code limit} runs, newest first. */
    public List<JobRunRow> history(String jobId, int limit) {
        return store.read("read job history", h -> h.createQuery("SELECT " + RUN_COLUMNS + " FROM job_runs "
                        + "WHERE job_id = :job ORDER BY run_no DESC LIMIT :limit")
                .bind("job", jobId).bind("limit", Math.max(0, limit)).map(RUN).list());
    }

    /** Where a run stands in the order {@link #troubleAfter} lists them: when it ended, then its job and number. */
    public record RunPosition(long endedAtMillis, String jobId, int runNo) {
        public RunPosition {
            Objects.requireNonNull(jobId, "jobId");
        }
    }

    /** Runs that ended other than well (failed, missed, cut off by a limit...), as the partial index says. */
    private static final String TROUBLE = "FROM job_runs r JOIN jobs j ON j.id = r.job_id WHERE j.agent = :agent "
            + "AND r.status NOT IN ('running', 'succeeded') AND r.ended_at <= :until AND (r.ended_at > :t OR "
            + "(r.ended_at = :t AND (r.job_id > :job OR (r.job_id = :job AND r.run_no > :no))))";

    /**
     * The runs of {@code agent}'s jobs that ended other than {@code succeeded} after {@code after} (null: all of
     * them) and at or before {@code until}, in the order they ended, at most {@code limit}: what its heartbeat has not
     * yet been told about. {@code until} should lie far enough back that every run ending by then is committed, so
     * that none is passed over (a run is stamped when it ends, and written a moment later).
     */
    public List<JobRunRow> troubleAfter(String agent, RunPosition after, Instant until, int limit) {
        return store.read("list failed job runs", h -> bindAfter(h.createQuery("SELECT r." + RUN_COLUMNS.replace(", ", ", r.") + " "
                        + TROUBLE
                        + " ORDER BY r.ended_at, r.job_id, r.run_no LIMIT :limit"), agent, after, until)
                .bind("limit", Math.max(0, limit)).map(RUN).list());
    }

    /** How many runs {@link #troubleAfter} has in all, and where the last of them stands (empty when none). */
    public TroubleCount countTroubleAfter(String agent, RunPosition after, Instant until) {
        return store.read("count failed job runs", h -> {
            long count = bindAfter(h.createQuery("SELECT COUNT(*) " + TROUBLE), agent, after, until).mapTo(Long.class).one();
            Optional<RunPosition> last = count == 0 ? Optional.empty() : bindAfter(h.createQuery(
                    "SELECT r.ended_at, r.job_id, r.run_no " + TROUBLE
                            + " ORDER BY r.ended_at DESC, r.job_id DESC, r.run_no DESC LIMIT 1"), agent, after, until)
                    .map((rs, ctx) -> new RunPosition(rs.getLong(1), rs.getString(2), rs.getInt(3))).findOne();
            return new TroubleCount(count, last);
        });
    }

    /** @param last where the newest of them stands */
    public record TroubleCount(long count, Optional<RunPosition> last) {}

    private static org.jdbi.v3.core.statement.Query bindAfter(org.jdbi.v3.core.statement.Query q, String agent,
                                                           RunPosition after, Instant until) {
        return q.bind("agent", agent).bind("until", until.toEpochMilli()).bind("t", after == null ? -1L : after.endedAtMillis())
                .bind("job", after == null ? "" : after.jobId()).bind("no", after == null ? 0 : after.runNo());
    }

    /** Counts up the job's run number and returns it; the row stays locked until the transaction ends. */
    private static int nextRunNo(Handle h, String jobId, String operation) {
        return h.createQuery("UPDATE jobs SET last_run_no = last_run_no + 1 WHERE id = :id RETURNING last_run_no")
                .bind("id", jobId).mapTo(Integer.class).findOne()
                .orElseThrow(() -> new StoreException(StoreException.Reason.CONSTRAINT,
                        operation + " failed: no such job", null));
    }

    private static void insertRun(Handle h, JobRunRow r) {
        h.createUpdate("INSERT INTO job_runs (" + RUN_COLUMNS + ") VALUES (:job, :no, :scheduledFor, :startedAt, "
                        + ":endedAt, :status, :reason, :agentRun, :session, :gateway, :tokens, :cost, :result)")
                .bind("job", r.jobId()).bind("no", r.runNo()).bind("scheduledFor", r.scheduledFor().toEpochMilli())
                .bind("startedAt", Times.nullableMillis(r.startedAt())).bind("endedAt", Times.nullableMillis(r.endedAt()))
                .bind("status", r.status()).bind("reason", r.reason()).bind("agentRun", r.agentRunId())
                .bind("session", r.sessionKey()).bind("gateway", r.gateway()).bind("tokens", r.tokens())
                .bind("cost", r.costNanos()).bind("result", r.result())
                .execute();
    }
}
