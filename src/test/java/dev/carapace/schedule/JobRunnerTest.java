package dev.carapace.schedule;

import dev.carapace.identity.Principal;
import dev.carapace.schedule.JobFakes.FakeClock;
import dev.carapace.schedule.JobFakes.MemoryBudgets;
import dev.carapace.schedule.JobFakes.MemoryDueQueue;
import dev.carapace.schedule.JobFakes.MemoryJobStore;
import dev.carapace.schedule.JobFakes.ScriptedWebhooks;
import dev.carapace.channel.webhook.RetryTiming;
import dev.carapace.channel.webhook.WebhookDeliveries;
import dev.carapace.channel.webhook.WebhookPoster;
import dev.carapace.model.ApiException;
import dev.carapace.server.adapter.QueuedResultDelivery;
import dev.carapace.server.adapter.StoreWebhookDeliveries;
import dev.carapace.store.Store;
import dev.carapace.testing.SignedWebhookReceiver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link JobRunner} with webhook jobs (no model) over in-memory fakes and a fake clock: what a due time stands for
 * after downtime per missed-run policy, back-off and pausing, one-shot jobs ending, a dead gateway's run, delivery,
 * and the fence refusing. The agent-turn path is {@code JobsEndToEndTest}'s, against a real gateway.
 */
class JobRunnerTest {

    static final Instant NOW = Instant.parse("2026-12-05T10:00:30Z");
    static final Principal ALICE = JobServiceTest.ALICE;
    static final String HOOK = "https://hooks.example.com/ping";
    static final String INBOX = "https://results.example.com/in";

    final FakeClock clock = new FakeClock(NOW);
    final MemoryJobStore store = new MemoryJobStore(clock);
    final MemoryDueQueue due = new MemoryDueQueue();
    final JobEvents events = new JobEvents();
    final List<JobEvent> seen = JobFakes.recording(events);
    final ScriptedWebhooks webhooks = new ScriptedWebhooks();
    final JobService service = serviceOver(store);
    final JobRunner runner = runnerOver(store);

    /** A webhook job, hourly from 10:00 (first due 11:00); {@code extra} adds fields. */
    Job hourly(String id, Object... extra) {
        return webhookJob(id, Map.of("every", "1h", "anchor", "2026-12-05T10:00:00Z"), extra);
    }

    /** A webhook job on {@code schedule}, added by alice; {@code extra} adds fields. */
    Job webhookJob(String id, Map<String, ?> schedule, Object... extra) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("webhook", Map.of("url", HOOK));
        m.put("schedule", schedule);
        for (int i = 0; i < extra.length; i += 2) m.put((String) extra[i], extra[i + 1]);
        return service.add(m, ALICE, "api");
    }

    List<JobRun> runs(String id) { return store.runs(id); }

    /** The jobs' service over {@code jobs} (a store a test makes race), as this class's own is over {@link #store}. */
    JobService serviceOver(JobStore jobs) {
        return new JobService(jobs, due, JobServiceTest.agents(), new MemoryBudgets(), events, clock,
                Duration.ofMinutes(1), JobServiceTest.USERS::contains);
    }

    /** A runner over {@code jobs}, as {@link #runner} is over {@link #store}. */
    JobRunner runnerOver(JobStore jobs) {
        return new JobRunner(jobs, null, webhooks, webhooks.asResultDelivery(), events,
                (model, usage) -> 0, owner -> ALICE, Backoff.DEFAULT, clock, "gw-test");
    }

    static Instant t(String hhmm) { return Instant.parse("2026-12-05T" + hhmm + ":00Z"); }

    @Test
    void anOnTimeRunSucceedsIsRecordedAndAnnouncedAndTheNextFireTimeIsReturned() {
        Job j = hourly("ping");
        clock.set(t("11:00").plusMillis(40));
        Instant next = runner.onDue("ping", j.nextDueAt());

        assertThat(next).isEqualTo(t("12:00"));
        assertThat(runs("ping")).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo("succeeded");
            assertThat(r.scheduledFor()).isEqualTo(t("11:00"));
            assertThat(r.gateway()).isEqualTo("gw-test");
            assertThat(r.result()).startsWith("HTTP 200");
        });
        assertThat(webhooks.to(HOOK)).singleElement().satisfies(p -> {
            assertThat(p.caller()).as("a job without an agent goes out under its own name").isEqualTo("job:ping");
            assertThat(p.body()).contains("\"job\":\"ping\"", "\"scheduled_for\":\"2026-12-05T11:00:00Z\"");
        });
        assertThat(seen).extracting(JobEvent::type).containsExactly("job_started", "job_finished");
        assertThat(((JobEvent.Started) seen.get(0)).latenessMillis()).isEqualTo(40);
        assertThat(store.get("ping").orElseThrow().nextDueAt()).isEqualTo(t("12:00"));
        assertThat(store.get("ping").orElseThrow().lastRunAt()).isEqualTo(clock.instant());
    }

    @Test
    void runOnceAfterDowntimeRunsTheLatestAndRecordsEachOtherAsMissedWithItsReason() {
        hourly("ping");   // missed defaults to run_once
        clock.set(t("14:30"));
        assertThat(runner.onDue("ping", t("11:00"))).isEqualTo(t("15:00"));

        List<JobRun> r = runs("ping");
        assertThat(r).filteredOn(x -> x.status().equals("missed")).extracting(JobRun::scheduledFor)
                .containsExactly(t("11:00"), t("12:00"), t("13:00"));
        assertThat(r).filteredOn(x -> x.status().equals("missed"))
                .allSatisfy(x -> assertThat(x.reason()).contains("no gateway ran it", "missed: run_once"));
        assertThat(r).filteredOn(x -> x.status().equals("succeeded")).extracting(JobRun::scheduledFor)
                .containsExactly(t("14:00"));
        assertThat(webhooks.to(HOOK)).hasSize(1);
        assertThat(seen).filteredOn(e -> e instanceof JobEvent.Missed).hasSize(3);
    }

    @Test
    void runAllAfterDowntimeRunsEachUpToItsBoundOldestFirstAndTheRestAreMissed() {
        hourly("ping", "missed", "run_all", "max_run_all", 2);
        clock.set(t("14:30"));
        assertThat(runner.onDue("ping", t("11:00"))).isEqualTo(t("15:00"));

        List<JobRun> r = runs("ping");
        assertThat(r).filteredOn(x -> x.status().equals("succeeded")).extracting(JobRun::scheduledFor)
                .containsExactly(t("11:00"), t("12:00"));
        assertThat(r).filteredOn(x -> x.status().equals("missed")).extracting(JobRun::scheduledFor)
                .containsExactly(t("13:00"), t("14:00"));
        assertThat(r).filteredOn(x -> x.status().equals("missed"))
                .allSatisfy(x -> assertThat(x.reason()).contains("missed: run_all"));
        assertThat(webhooks.to(HOOK)).hasSize(2);
    }

    @Test
    void skipAfterDowntimeRunsNoneRecordsAllAsMissedAndWaitsForTheNextFireTime() {
        hourly("ping", "missed", "skip");
        clock.set(t("14:30"));
        assertThat(runner.onDue("ping", t("11:00"))).isEqualTo(t("15:00"));

        assertThat(runs("ping")).extracting(JobRun::status).containsOnly("missed");
        assertThat(runs("ping")).extracting(JobRun::scheduledFor).containsExactly(t("11:00"), t("12:00"), t("13:00"), t("14:00"));
        assertThat(runs("ping")).allSatisfy(x -> assertThat(x.reason()).contains("missed: skip"));
        assertThat(webhooks.posts).isEmpty();
        assertThat(store.get("ping").orElseThrow().nextDueAt()).isEqualTo(t("15:00"));
    }

    @Test
    void aLongDowntimeListsTheFirstMissedTimesAndCountsTheRestOnTheLast() {
        hourly("ping", "missed", "skip");
        clock.set(t("11:00").plus(Duration.ofDays(30)));   // 720 fire times
        runner.onDue("ping", t("11:00"));
        List<JobRun> r = runs("ping");
        assertThat(r).hasSize(MissedRuns.MISSED_KEPT + 1);
        assertThat(r.getLast().reason()).startsWith((721 - MissedRuns.MISSED_KEPT) + " further fire times after");
    }

    @Test
    void failuresBackOffThenPauseTheJobAfterMaxFailuresWithAJobPausedEvent() {
        Job j = hourly("ping", "max_failures", 3);
        webhooks.status = 500;
        clock.set(t("11:00"));
        Instant next = runner.onDue("ping", j.nextDueAt());
        assertThat(next).as("first failure: 30 s").isEqualTo(clock.instant().plusSeconds(30));
        assertThat(store.get("ping").orElseThrow().consecutiveFailures()).isEqualTo(1);

        clock.set(next);
        next = runner.onDue("ping", next);
        assertThat(next).as("second failure: 60 s").isEqualTo(clock.instant().plusSeconds(60));

        clock.set(next);
        assertThat(runner.onDue("ping", next)).as("third: paused, no next time").isNull();
        Job paused = store.get("ping").orElseThrow();
        assertThat(paused.state()).isEqualTo(JobState.PAUSED);
        assertThat(paused.pausedReason()).contains("paused after 3 failed runs in a row", "the webhook answered 500");
        assertThat(runs("ping")).extracting(JobRun::status).containsExactly("failed", "failed", "failed");
        assertThat(runs("ping")).allSatisfy(r -> assertThat(r.reason()).isEqualTo("the webhook answered 500"));
        assertThat(seen).filteredOn(e -> e instanceof JobEvent.Paused).singleElement()
                .satisfies(e -> assertThat(((JobEvent.Paused) e).reason()).contains("3 failed runs"));

        assertThat(runner.onDue("ping", clock.instant())).as("a paused job does not run").isNull();
        assertThat(runs("ping")).hasSize(3);
    }

    /**
     * Regression: a job removed between its runner's read and the start of its run (a delete racing a run-now) failed
     * the scheduler's task with a stack trace in the log, and the task was retried; the run now ends quietly.
     */
    @Test
    void aJobRemovedAsItsRunStartsRunsNothingAndFailsNothing() {
        MemoryJobStore racing = new MemoryJobStore(clock) {
            @Override
            public synchronized long startRun(String jobId, Instant scheduledFor, Instant startedAt, String gateway, String sessionKey) {
                delete(jobId);   // the owner's delete lands first
                return super.startRun(jobId, scheduledFor, startedAt, gateway, sessionKey);
            }
        };
        JobService service = serviceOver(racing);
        JobRunner runner = runnerOver(racing);
        Job j = service.add(new LinkedHashMap<>(Map.of("id", "ping", "webhook", Map.of("url", HOOK),
                "schedule", Map.of("every", "1h", "anchor", "2026-12-05T10:00:00Z"))), ALICE, "api");
        clock.set(t("11:00"));

        assertThat(runner.onDue("ping", j.nextDueAt())).as("no next time").isNull();
        assertThat(webhooks.posts).as("nothing ran").isEmpty();
        assertThat(racing.get("ping")).isEmpty();
    }

    /**
     * Regression: a run's end read the job, then wrote it back with its failure count and last run time; a pause
     * that landed between the read and the write was undone, and the job kept running on its schedule. Each write
     * now stands only over the job as it read it, and is made again over what came first.
     */
    @Test
    void aPauseThatLandsBetweenARunsReadAndItsWriteStands() {
        AtomicBoolean pauseOnWrite = new AtomicBoolean(true);
        JobService[] pauser = new JobService[1];
        MemoryJobStore racing = new MemoryJobStore(clock) {
            @Override
            public boolean replace(Job expected, Job job) {
                // as the run's end writes what it read, the owner's pause comes in
                if (job.lastRunAt() != null && pauseOnWrite.getAndSet(false)) pauser[0].pause(job.id(), ALICE);
                return super.replace(expected, job);
            }
        };
        pauser[0] = serviceOver(racing);
        JobRunner runner = runnerOver(racing);
        Job j = pauser[0].add(new LinkedHashMap<>(Map.of("id", "ping", "webhook", Map.of("url", HOOK),
                "schedule", Map.of("every", "1h", "anchor", "2026-12-05T10:00:00Z"))), ALICE, "api");
        webhooks.status = 500;
        clock.set(t("11:00"));

        Instant next = runner.onDue("ping", j.nextDueAt());

        assertThat(pauseOnWrite).as("the pause came in").isFalse();
        assertThat(next).as("a paused job has no next time").isNull();
        Job stored = racing.get("ping").orElseThrow();
        assertThat(stored.state()).isEqualTo(JobState.PAUSED);
        assertThat(stored.pausedReason()).isEqualTo("paused by alice");
        assertThat(stored.consecutiveFailures()).as("the run's own write still made, over the pause").isEqualTo(1);
        assertThat(stored.lastRunAt()).isEqualTo(t("11:00"));
    }

    /**
     * Regression: a job paused by its failing run and resumed at that moment (the resume clears its failures) was
     * retried at once, as a backoff of zero failures; resuming means its next fire time, as the API says.
     */
    @Test
    void aJobResumedJustAsItsFailingRunPausedItIsNotRetriedAtOnce() {
        AtomicBoolean resumeOnRead = new AtomicBoolean(true);
        JobService[] resumer = new JobService[1];
        MemoryJobStore racing = new MemoryJobStore(clock) {
            @Override
            public synchronized Optional<Job> get(String id) {
                Optional<Job> j = super.get(id);
                if (j.isPresent() && j.get().state() == JobState.PAUSED && resumeOnRead.getAndSet(false)) {
                    resumer[0].resume(id, ALICE);   // as the runner looks at the job again after its run
                    return super.get(id);
                }
                return j;
            }
        };
        resumer[0] = serviceOver(racing);
        JobRunner runner = runnerOver(racing);
        Map<String, Object> m = new LinkedHashMap<>(Map.of("id", "ping", "webhook", Map.of("url", HOOK),
                "schedule", Map.of("every", "1h", "anchor", "2026-12-05T10:00:00Z"), "max_failures", 1));
        Job j = resumer[0].add(m, ALICE, "api");
        webhooks.status = 500;
        clock.set(t("11:00"));

        Instant next = runner.onDue("ping", j.nextDueAt());

        assertThat(resumeOnRead).as("the resume happened").isFalse();
        assertThat(next).as("its next fire time, not a retry now").isEqualTo(t("12:00"));
        assertThat(racing.get("ping").orElseThrow().state()).isEqualTo(JobState.ACTIVE);
    }

    @Test
    void aSuccessAfterFailuresResetsTheCountAndTheScheduleGoesOn() {
        Job j = hourly("ping");
        webhooks.status = 503;
        clock.set(t("11:00"));
        Instant retry = runner.onDue("ping", j.nextDueAt());
        webhooks.status = 204;
        clock.set(retry);
        assertThat(runner.onDue("ping", retry)).isEqualTo(t("12:00"));
        assertThat(store.get("ping").orElseThrow().consecutiveFailures()).isZero();
    }

    @Test
    void anAtJobRunsOnceAndEnds() {
        Job j = webhookJob("reminder", Map.of("at", "3d"));
        clock.set(j.nextDueAt());
        assertThat(runner.onDue("reminder", j.nextDueAt())).isNull();
        assertThat(store.get("reminder").orElseThrow().state()).isEqualTo(JobState.ENDED);
        assertThat(runs("reminder")).extracting(JobRun::status).containsExactly("succeeded");
    }

    @Test
    void anAtJobPickedUpAfterDowntimeStillRunsOnceUnderRunOnceAndIsMissedUnderSkip() {
        for (String policy : List.of("run_once", "skip")) {
            webhookJob("at-" + policy, Map.of("at", "2026-12-05T12:00:00Z"), "missed", policy);
        }
        clock.set(t("18:00"));
        assertThat(runner.onDue("at-run_once", t("12:00"))).isNull();
        assertThat(runner.onDue("at-skip", t("12:00"))).isNull();
        assertThat(runs("at-run_once")).extracting(JobRun::status).containsExactly("succeeded");
        assertThat(runs("at-skip")).extracting(JobRun::status).containsExactly("missed");
        assertThat(store.get("at-skip").orElseThrow().state()).isEqualTo(JobState.ENDED);
    }

    @Test
    void onDeadMarksTheRunningRunInterruptedAndRetriesAtOnceWhenTheJobSaysSo() {
        Job j = hourly("ping");
        clock.set(t("11:00"));
        long runNo = store.startRun("ping", j.nextDueAt(), clock.instant(), "gw-dead", null);
        clock.set(t("11:01"));

        assertThat(runner.onDead("ping", t("11:00"))).as("retry_interrupted defaults to true").isEqualTo(clock.instant());
        JobRun r = runs("ping").get((int) runNo - 1);
        assertThat(r.status()).isEqualTo("interrupted");
        assertThat(r.reason()).contains("gw-dead", "stopped");
        assertThat(seen).filteredOn(e -> e instanceof JobEvent.Finished f && f.status().equals("interrupted")).hasSize(1);
    }

    @Test
    void onDeadWithoutRetryWaitsForTheNextFireTime() {
        Job j = hourly("ping", "retry_interrupted", false);
        clock.set(t("11:00"));
        store.startRun("ping", j.nextDueAt(), clock.instant(), "gw-dead", null);
        clock.set(t("11:01"));
        assertThat(runner.onDead("ping", t("11:00"))).isEqualTo(t("12:00"));
        assertThat(runs("ping")).extracting(JobRun::status).containsExactly("interrupted");
        assertThat(webhooks.posts).as("nothing ran again").isEmpty();
    }

    /**
     * Regression: a job whose owner had every key revoked still called its webhook, and its failed runs still posted
     * to its deliver_to address. Now the run calls nothing, tells no one, and pauses the job at once.
     */
    @Test
    void aRevokedOwnersJobCallsNoWebhookDeliversNothingAndPausesAtOnce() {
        JobRunner revoked = new JobRunner(store, null, webhooks, webhooks.asResultDelivery(), events, (model, usage) -> 0,
                owner -> {
                    throw new ApiException(ApiException.Kind.PERMISSION, "its owner, user 'alice', has had every API key revoked",
                            "owner", JobRunner.OWNER_REVOKED, null, false);
                }, Backoff.DEFAULT, clock, "gw-test");
        Job j = hourly("ping", "deliver_to", INBOX);
        clock.set(t("11:00"));
        revoked.onDue("ping", j.nextDueAt());

        assertThat(webhooks.to(HOOK)).as("the job's own webhook").isEmpty();
        assertThat(webhooks.to(INBOX)).as("its deliver_to").isEmpty();
        JobRun r = runs("ping").get(0);
        assertThat(r.status()).isEqualTo("failed");
        assertThat(r.reason()).contains("every API key revoked");
        Job after = store.jobs.get("ping");
        assertThat(after.state()).as("paused at the first such run, not after max_failures").isEqualTo(JobState.PAUSED);
        assertThat(after.pausedReason()).contains("every API key revoked");
    }

    @Test
    void eachRunsResultIsDeliveredWhereTheJobSays() {
        Job j = hourly("ping", "deliver_to", INBOX);
        clock.set(t("11:00"));
        runner.onDue("ping", j.nextDueAt());
        assertThat(webhooks.to(INBOX)).singleElement().satisfies(p -> {
            assertThat(p.caller()).isEqualTo("job:ping");
            assertThat(p.body()).contains("\"status\":\"succeeded\"", "\"run\":1", "\"result\":\"HTTP 200");
        });
    }

    @Test
    void aResultGoesThroughTheDurableDeliveriesSignedAndTriedAgainAfterA503(@TempDir Path dir) throws Exception {
        String key = "whsec_" + java.util.Base64.getEncoder().encodeToString("results-key-0123".getBytes());
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        WebhookPoster direct = (caller, uri, headers, body, timeout) -> {
            java.net.http.HttpRequest.Builder b = java.net.http.HttpRequest.newBuilder(uri).timeout(timeout)
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body));
            headers.forEach(b::header);
            java.net.http.HttpResponse<Void> r = http.send(b.build(), java.net.http.HttpResponse.BodyHandlers.discarding());
            return new WebhookPoster.Response(r.statusCode(), r.headers().firstValue("retry-after").orElse(null));
        };
        try (SignedWebhookReceiver receiver = new SignedWebhookReceiver();
             Store db = Store.open("jdbc:sqlite:" + dir.resolve("carapace.db"), null, null, 2);
             WebhookDeliveries deliveries = new WebhookDeliveries(new StoreWebhookDeliveries(db.webhookDeliveries()),
                     direct, new dev.carapace.channel.Secrets() {
                         @Override
                         public String value(String name) { return key; }

                         @Override
                         public boolean has(String name) { return true; }
                     }, java.time.Clock.systemUTC(), "gw-test", new WebhookDeliveries.Tuning(
                     new RetryTiming(Duration.ofMillis(10), Duration.ofSeconds(1)), Duration.ofSeconds(5),
                     Duration.ofMillis(200), 2))) {
            JobRunner delivering = new JobRunner(store, null, webhooks,
                    new QueuedResultDelivery(deliveries, List.of("results"), 3), events, (model, usage) -> 0,
                    owner -> ALICE, Backoff.DEFAULT, clock, "gw-test");
            receiver.answer(503, null);
            deliveries.start();
            Job j = hourly("ping", "deliver_to", receiver.url());
            clock.set(t("11:00"));
            delivering.onDue("ping", j.nextDueAt());
            List<SignedWebhookReceiver.Received> got = receiver.await(2);
            assertThat(got).extracting(SignedWebhookReceiver.Received::answered).containsExactly(503, 200);
            assertThat(got.get(0).id()).isEqualTo(got.get(1).id());
            assertThat(got).allMatch(r -> SignedWebhookReceiver.verifies(r, key));
            assertThat(got.get(1).body()).contains("\"job\":\"ping\"", "\"run\":1", "\"status\":\"succeeded\"");
            assertThat(runs("ping")).extracting(JobRun::status).containsExactly("succeeded");
        }
    }

    @Test
    void aWebhookTheFenceRefusesFailsWithTheFencesReason() {
        Job j = hourly("ping");
        webhooks.refusal = "network rule 'default' denies hooks.example.com:443; add it to network_policies";
        clock.set(t("11:00"));
        runner.onDue("ping", j.nextDueAt());
        assertThat(runs("ping")).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo("failed");
            assertThat(r.reason()).isEqualTo("the egress policy refused the webhook: " + webhooks.refusal);
        });
        assertThat(seen).filteredOn(e -> e instanceof JobEvent.Finished).singleElement()
                .satisfies(e -> assertThat(((JobEvent.Finished) e).reason()).contains("network rule 'default'"));
    }

    @Test
    void aJobRemovedMeanwhileDoesNotRun() {
        Job j = hourly("ping");
        service.remove("ping", ALICE);
        clock.set(t("11:00"));
        assertThat(runner.onDue("ping", j.nextDueAt())).isNull();
        assertThat(webhooks.posts).isEmpty();
    }

    @Test
    void pauseDuringARunIsKeptWhenTheRunEnds() {
        Job j = hourly("ping");
        clock.set(t("11:00"));
        webhooks.during = () -> service.pause("ping", ALICE);
        assertThat(runner.onDue("ping", j.nextDueAt())).as("paused: no next time").isNull();
        Job after = store.get("ping").orElseThrow();
        assertThat(after.state()).isEqualTo(JobState.PAUSED);
        assertThat(after.pausedReason()).isEqualTo("paused by alice");
        assertThat(after.lastRunAt()).as("the run is still noted").isEqualTo(t("11:00"));
        assertThat(runs("ping")).extracting(JobRun::status).containsExactly("succeeded");
    }

    @Test
    void removeDuringARunLeavesNoNextTime() {
        Job j = hourly("ping");
        clock.set(t("11:00"));
        webhooks.during = () -> service.remove("ping", ALICE);
        assertThat(runner.onDue("ping", j.nextDueAt())).isNull();
        assertThat(store.get("ping")).isEmpty();
    }

    @Test
    void onDeadRecordsTheFireTimesThatPassedWhileNobodyNoticedAsMissed() {
        for (boolean retry : List.of(true, false)) {
            String id = "ping-" + retry;
            Job j = hourly(id, "retry_interrupted", retry);
            clock.set(t("11:00"));
            store.startRun(id, j.nextDueAt(), clock.instant(), "gw-dead", null);
        }
        clock.set(t("13:30"));   // the survivors were down too, and took it for dead only now
        assertThat(runner.onDead("ping-true", t("11:00"))).isEqualTo(clock.instant());
        assertThat(runs("ping-true")).extracting(JobRun::status).containsExactly("interrupted", "missed", "missed");
        assertThat(runs("ping-true")).filteredOn(r -> r.status().equals("missed")).extracting(JobRun::scheduledFor)
                .containsExactly(t("12:00"), t("13:00"));

        Instant next = runner.onDead("ping-false", t("11:00"));
        assertThat(runs("ping-false")).extracting(JobRun::status).containsExactly("interrupted");
        assertThat(next).as("the first fire time after the dead run, handled as late by onDue").isEqualTo(t("12:00"));
        assertThat(runner.onDue("ping-false", next)).isEqualTo(t("14:00"));
        assertThat(runs("ping-false")).extracting(JobRun::status).containsExactly("interrupted", "missed", "succeeded");
    }

    @Test
    void aDowntimeShorterThanTheGraceButLongerThanTheIntervalStillAppliesTheMissedRunPolicy() {
        for (String policy : List.of("run_once", "run_all", "skip")) {
            webhookJob(policy, Map.of("every", "1m", "anchor", "2026-12-05T10:00:00Z"), "missed", policy);
        }
        clock.set(t("10:02").plusSeconds(30));   // down 90 s: 10:01 and 10:02 passed, under the 2-minute grace
        for (String policy : List.of("run_once", "run_all", "skip")) {
            assertThat(runner.onDue(policy, t("10:01"))).as(policy).isEqualTo(t("10:03"));
        }
        assertThat(runs("run_once")).extracting(JobRun::status, JobRun::scheduledFor).containsExactly(
                org.assertj.core.groups.Tuple.tuple("missed", t("10:01")), org.assertj.core.groups.Tuple.tuple("succeeded", t("10:02")));
        assertThat(runs("run_all")).extracting(JobRun::status, JobRun::scheduledFor).containsExactly(
                org.assertj.core.groups.Tuple.tuple("succeeded", t("10:01")), org.assertj.core.groups.Tuple.tuple("succeeded", t("10:02")));
        assertThat(runs("skip")).extracting(JobRun::status, JobRun::scheduledFor).containsExactly(
                org.assertj.core.groups.Tuple.tuple("missed", t("10:01")), org.assertj.core.groups.Tuple.tuple("missed", t("10:02")));
    }

    @Test
    void aRunNowJustBeforeAFireTimeIsNotSkippedForIt() {
        Job j = hourly("ping", "missed", "skip");
        clock.set(t("10:59").plusSeconds(59));
        service.runNow("ping", ALICE);
        Instant asked = clock.instant();
        clock.advance(Duration.ofSeconds(3));   // picked after 11:00 had come
        runner.onDue("ping", asked);
        assertThat(runs("ping")).filteredOn(r -> r.status().equals("succeeded")).extracting(JobRun::scheduledFor)
                .containsExactly(asked);
    }

    @Test
    void aFireTimeFinerThanAMillisecondIsNotRecordedAsMissedBehindItsOwnRun() {
        webhookJob("precise", Map.of("at", "2026-12-05T11:00:00.000123456Z"));
        clock.set(t("11:00").plusMillis(30));
        // the due queue hands back the time it kept: milliseconds
        assertThat(runner.onDue("precise", t("11:00"))).isNull();
        assertThat(runs("precise")).extracting(JobRun::status).containsExactly("succeeded");
        assertThat(runs("precise").getFirst().scheduledFor()).isEqualTo(Instant.parse("2026-12-05T11:00:00.000123456Z"));
    }

    @Test
    void aRelativeAtIsKeptToTheMillisecond() {
        clock.set(NOW.plusNanos(123_456_789));
        assertThat(webhookJob("soon", Map.of("at", "1s")).nextDueAt()).isEqualTo(NOW.plusSeconds(1).plusMillis(123));
    }

    @Test
    void anAtJobWhoseRunDiedWithoutRetryEndsRatherThanStayingActiveForever() {
        webhookJob("once", Map.of("at", "2026-12-05T11:00:00Z"), "retry_interrupted", false);
        clock.set(t("11:00"));
        store.startRun("once", t("11:00"), clock.instant(), "gw-dead", null);
        clock.set(t("11:01"));
        assertThat(runner.onDead("once", t("11:00"))).isNull();
        Job after = store.get("once").orElseThrow();
        assertThat(after.state()).isEqualTo(JobState.ENDED);
        assertThat(after.nextDueAt()).isNull();
    }

    @Test
    void aRetriedDeadRunShowsItsRetryAsTheJobsNextDueTime() {
        Job j = hourly("ping");
        clock.set(t("11:00"));
        store.startRun("ping", j.nextDueAt(), clock.instant(), "gw-dead", null);
        clock.set(t("11:00").plusSeconds(20));
        runner.onDead("ping", t("11:00"));
        assertThat(store.get("ping").orElseThrow().nextDueAt()).isEqualTo(clock.instant());
    }
}
