package dev.carapace.schedule;

import dev.carapace.model.ApiException;

import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * In-memory stand-ins for what {@link JobService} and {@link JobRunner} reach through their interfaces (the store,
 * the shared due queue, the ledger's budgets, the egress fence) and a clock that moves only when told: the
 * schedule's logic alone, with nothing asleep.
 */
final class JobFakes {

    private JobFakes() {}

    /** A clock a test moves by hand. */
    static final class FakeClock extends Clock {
        private volatile Instant now;

        FakeClock(Instant now) { this.now = now; }

        void advance(Duration d) { now = now.plus(d); }

        void set(Instant t) { now = t; }

        @Override public Instant instant() { return now; }

        @Override public ZoneId getZone() { return ZoneOffset.UTC; }

        @Override public Clock withZone(ZoneId zone) { return this; }
    }

    /** The job tables, as the store keeps them: a job, its runs numbered from 1, missed times as runs too. */
    static class MemoryJobStore implements JobStore {
        final Map<String, Job> jobs = new TreeMap<>();
        final Map<String, List<JobRun>> runs = new HashMap<>();
        private final Clock clock;

        MemoryJobStore(Clock clock) { this.clock = clock; }

        @Override
        public synchronized void insert(Job job) {
            if (jobs.containsKey(job.id())) throw ApiException.invalid("id", "id: a job '" + job.id() + "' exists already");
            jobs.put(job.id(), job);
        }

        @Override public synchronized Optional<Job> get(String id) { return Optional.ofNullable(jobs.get(id)); }

        @Override public synchronized List<Job> list() { return List.copyOf(jobs.values()); }

        @Override
        public synchronized List<Job> listBySource(String source) {
            return jobs.values().stream().filter(j -> j.source().equals(source)).toList();
        }

        @Override
        public synchronized boolean replace(Job expected, Job job) {
            Job stored = jobs.get(job.id());
            if (stored == null || !sameStanding(stored, expected)) return false;
            jobs.put(job.id(), job);
            return true;
        }

        /** What the store compares: all but the definition. */
        private static boolean sameStanding(Job a, Job b) {
            return a.state() == b.state() && Objects.equals(a.pausedReason(), b.pausedReason())
                    && a.consecutiveFailures() == b.consecutiveFailures() && Objects.equals(a.nextDueAt(), b.nextDueAt())
                    && Objects.equals(a.lastRunAt(), b.lastRunAt());
        }

        @Override
        public synchronized boolean delete(String id) {
            runs.remove(id);
            return jobs.remove(id) != null;
        }

        @Override
        public synchronized long startRun(String jobId, Instant scheduledFor, Instant startedAt, String gateway, String sessionKey) {
            if (!jobs.containsKey(jobId)) return 0;
            List<JobRun> r = runs.computeIfAbsent(jobId, k -> new ArrayList<>());
            long no = r.size() + 1;
            r.add(new JobRun(jobId, no, scheduledFor, startedAt, null, "running", null, null, sessionKey, gateway, 0, 0, null));
            return no;
        }

        @Override
        public synchronized void runAgent(String jobId, long runNo, String agentRunId) {
            List<JobRun> r = runs.get(jobId);
            JobRun was = r == null ? null : r.get((int) runNo - 1);
            if (was == null || !was.status().equals("running")) return;
            r.set((int) runNo - 1, new JobRun(jobId, runNo, was.scheduledFor(), was.startedAt(), null, "running", null,
                    agentRunId, was.sessionKey(), was.gateway(), 0, 0, null));
        }

        @Override
        public synchronized void recordMissed(String jobId, Instant scheduledFor, String reason) {
            List<JobRun> r = runs.computeIfAbsent(jobId, k -> new ArrayList<>());
            r.add(new JobRun(jobId, r.size() + 1, scheduledFor, null, clock.instant(), "missed", reason, null, null, null, 0, 0, null));
        }

        @Override
        public synchronized void endRun(String jobId, long runNo, Instant endedAt, String status, String reason, long tokens,
                                        long costNanos, String result, String agentRunId) {
            List<JobRun> r = runs.get(jobId);
            if (r == null) return;
            JobRun was = r.get((int) runNo - 1);
            if (!was.status().equals("running")) return;   // the first final status wins, as in the store
            r.set((int) runNo - 1, new JobRun(jobId, runNo, was.scheduledFor(), was.startedAt(), endedAt, status, reason,
                    agentRunId, was.sessionKey(), was.gateway(), tokens, costNanos, result));
        }

        @Override
        public synchronized List<JobRun> history(String jobId, int limit) {
            return runs.getOrDefault(jobId, List.of()).stream().sorted(Comparator.comparingLong(JobRun::runNo).reversed())
                    .limit(limit).toList();
        }

        /** The job's runs, oldest first. */
        synchronized List<JobRun> runs(String jobId) { return List.copyOf(runs.getOrDefault(jobId, List.of())); }
    }

    /** The due queue: one time per job; {@link #running} stands for a run under way on some gateway. */
    static final class MemoryDueQueue implements DueQueue {
        final Map<String, Instant> due = new HashMap<>();
        final java.util.Set<String> running = new java.util.HashSet<>();

        @Override
        public synchronized boolean schedule(String jobId, Instant at) {
            if (running.contains(jobId)) return false;
            due.put(jobId, at);
            return true;
        }

        @Override
        public synchronized boolean cancel(String jobId) {
            if (running.contains(jobId)) return false;
            due.remove(jobId);
            return true;
        }
    }

    /** The ledger's job budgets; {@link #refuse} makes the next set fail as an invalid amount would. */
    static final class MemoryBudgets implements JobBudgets {
        final Map<String, JobBudget> budgets = new HashMap<>();
        boolean refuse;

        @Override
        public void set(String jobId, JobBudget budget) {
            if (refuse) throw ApiException.invalid("budget.amount", "budget.amount: refused by the ledger");
            budgets.put(jobId, budget);
        }

        @Override public void remove(String jobId) { budgets.remove(jobId); }
    }

    /** A POST as the fence saw it. */
    record Post(String caller, URI uri, String body) {}

    /** The egress fence: records each POST and answers with what the test scripted (a status, or a refusal). */
    static final class ScriptedWebhooks implements Webhooks {
        final List<Post> posts = new CopyOnWriteArrayList<>();
        volatile int status = 200;
        volatile String refusal;
        volatile Runnable during = () -> {};

        @Override
        public Response post(String caller, URI uri, Map<String, String> headers, byte[] body, int maxBytes, Duration timeout)
                throws Refused, IOException {
            posts.add(new Post(caller, uri, body == null ? "" : new String(body, java.nio.charset.StandardCharsets.UTF_8)));
            during.run();
            if (refusal != null) throw new Refused(refusal);
            return new Response(status, "{\"ok\":true}".getBytes(java.nio.charset.StandardCharsets.UTF_8), false);
        }

        List<Post> to(String url) { return posts.stream().filter(p -> p.uri().toString().equals(url)).toList(); }

        /** Results delivered by one POST each through this fence (the durable, retried delivery has its own tests). */
        ResultDelivery asResultDelivery() {
            return (job, caller, to, key, body) -> {
                try {
                    post(caller, to, Map.of("Content-Type", "application/json"), body, 1024, Duration.ofSeconds(30));
                } catch (Refused | IOException e) {
                    throw new IllegalStateException(e.getMessage(), e);
                }
            };
        }
    }

    /** Every event published, in order. */
    static List<JobEvent> recording(JobEvents events) {
        List<JobEvent> seen = new CopyOnWriteArrayList<>();
        events.subscribe(seen::add);
        return seen;
    }
}
