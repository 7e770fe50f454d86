package dev.carapace.server.adapter;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.agent.AgentSpec;
import dev.carapace.model.ApiException;
import dev.carapace.schedule.Job;
import dev.carapace.schedule.JobRun;
import dev.carapace.schedule.JobSpec;
import dev.carapace.schedule.JobSpecReader;
import dev.carapace.schedule.JobState;
import dev.carapace.schedule.JobStore;
import dev.carapace.store.Jobs;
import dev.carapace.store.StoreException;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The schedule's {@link JobStore} over the store's job tables: a job's definition is kept as its JSON. */
public final class StoreJobs implements JobStore {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Jobs jobs;
    private final Clock clock;

    public StoreJobs(Jobs jobs, Clock clock) {
        this.jobs = jobs;
        this.clock = clock;
    }

    @Override
    public void insert(Job job) {
        try {
            jobs.insert(row(job));
        } catch (StoreException e) {
            if (e.reason() == StoreException.Reason.DUPLICATE) {
                throw ApiException.invalid("id", "id: a job '" + job.id() + "' exists already; remove it first or pick another id");
            }
            throw e;
        }
    }

    @Override
    public Optional<Job> get(String id) { return jobs.get(id).map(StoreJobs::job); }

    @Override
    public List<Job> list() { return jobs.list().stream().map(StoreJobs::job).toList(); }

    @Override
    public List<Job> listBySource(String source) { return jobs.listBySource(source).stream().map(StoreJobs::job).toList(); }

    @Override
    public boolean replace(Job expected, Job job) { return jobs.replace(row(expected), row(job)); }

    @Override
    public boolean delete(String id) { return jobs.delete(id); }

    @Override
    public long startRun(String jobId, Instant scheduledFor, Instant startedAt, String gateway, String sessionKey) {
        try {
            return jobs.startRun(jobId, scheduledFor, startedAt, gateway, sessionKey).runNo();
        } catch (StoreException e) {
            if (e.reason() == StoreException.Reason.CONSTRAINT) return 0;   // removed since it was read
            throw e;
        }
    }

    @Override
    public void recordMissed(String jobId, Instant scheduledFor, String reason) {
        jobs.recordMissed(jobId, scheduledFor, reason, clock.instant());
    }

    @Override
    public void runAgent(String jobId, long runNo, String agentRunId) {
        jobs.runAgent(jobId, Math.toIntExact(runNo), agentRunId);
    }

    @Override
    public void endRun(String jobId, long runNo, Instant endedAt, String status, String reason, long tokens,
                       long costNanos, String result, String agentRunId) {
        jobs.endRun(jobId, Math.toIntExact(runNo), status, reason, tokens, costNanos, result, agentRunId, endedAt);
    }

    @Override
    public List<JobRun> history(String jobId, int limit) {
        return jobs.history(jobId, limit).stream().map(r -> new JobRun(r.jobId(), r.runNo(), r.scheduledFor(),
                r.startedAt(), r.endedAt(), r.status(), r.reason(), r.agentRunId(), r.sessionKey(), r.gateway(),
                r.tokens(), r.costNanos(), r.result())).toList();
    }

    private Jobs.JobRow row(Job j) {
        String spec;
        try {
            spec = JSON.writeValueAsString(JobSpecReader.write(j.spec()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return new Jobs.JobRow(j.id(), j.spec().owner().user(), j.spec().owner().team(), j.spec().agent(), spec,
                j.state().label(), j.source(), j.createdBy(), j.createdAt(), clock.instant(), j.consecutiveFailures(),
                j.pausedReason(), j.nextDueAt(), j.lastRunAt());
    }

    private static Job job(Jobs.JobRow r) {
        Map<String, Object> definition;
        try {
            definition = JSON.readValue(r.spec(), new TypeReference<>() {});
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("job " + r.id() + ": its stored definition is not JSON", e);
        }
        JobSpec spec = JobSpecReader.read(definition, null, new AgentSpec.Owner(r.ownerUser(), r.ownerTeam()));
        return new Job(spec, JobState.of(r.state()), r.source(), r.createdBy(), r.createdAt(), r.consecutiveFailures(),
                r.pausedReason(), r.nextDueAt(), r.lastRunAt());
    }
}
