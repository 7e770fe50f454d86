package dev.carapace.store;

import dev.carapace.store.Jobs.JobRow;
import dev.carapace.store.Jobs.JobRunRow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The jobs table and its runs, on SQLite and on a real PostgreSQL. */
class JobsTest {

    static final Instant T0 = Instant.parse("2026-12-05T08:00:00Z");

    @TempDir Path dir;

    private Store open(String db) {
        return db.equals("sqlite")
                ? Store.open("jdbc:sqlite:" + dir.resolve("jobs.db"), null, null, 4)
                : Store.open(TestPostgres.get().createDatabase(), TestPostgres.USER, "", 8);
    }

    static JobRow job(String id, String user, String team) {
        return new JobRow(id, user, team, "helper", "{\"kind\":\"every\",\"every\":\"30m\"}", "active", "api", user,
                T0, T0, 0, null, T0.plusSeconds(1800), null);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void jobsAreStoredListedByOwnerUpdatedAndCounted(String db) {
        try (Store store = open(db)) {
            Jobs jobs = store.jobs();
            jobs.insert(job("b", "ann", null));
            jobs.insert(job("a", "ann", null));
            jobs.insert(job("c", null, "platform"));
            assertThat(jobs.count()).isEqualTo(3);
            assertThat(jobs.get("a")).contains(job("a", "ann", null));
            assertThat(jobs.get("zz")).isEmpty();
            assertThat(jobs.list()).extracting(JobRow::id).containsExactly("a", "b", "c");
            assertThat(jobs.listByOwnerUser("ann")).extracting(JobRow::id).containsExactly("a", "b");
            assertThat(jobs.listByOwnerTeam("platform")).extracting(JobRow::id).containsExactly("c");
            assertThat(jobs.listByOwnerUser("bob")).isEmpty();

            JobRow paused = new JobRow("a", "someone-else", "other-team", "other-agent", "{\"kind\":\"at\"}", "paused",
                    "config", "x", T0.plusSeconds(99), T0.plusSeconds(60), 5, "5 failures in a row", null,
                    T0.plusSeconds(30));
            assertThat(jobs.replace(jobs.get("a").orElseThrow(), paused)).isTrue();
            // what may change changed; who owns it, what runs it, where and when it was made did not
            assertThat(jobs.get("a")).contains(new JobRow("a", "ann", null, "helper", "{\"kind\":\"at\"}", "paused",
                    "api", "ann", T0, T0.plusSeconds(60), 5, "5 failures in a row", null, T0.plusSeconds(30)));
            assertThat(jobs.replace(job("missing", "ann", null), job("missing", "ann", null))).isFalse();
            assertThat(jobs.count()).isEqualTo(3);
        }
    }

    /** A write that read the job before another write is refused, so it can read again; nulls compare as equal. */
    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void aReplaceWritesOnlyOverTheJobAsItsCallerReadIt(String db) {
        try (Store store = open(db)) {
            Jobs jobs = store.jobs();
            jobs.insert(job("a", "ann", null));
            JobRow read = jobs.get("a").orElseThrow();
            JobRow paused = new JobRow("a", "ann", null, "helper", read.spec(), "paused", "api", "ann", T0,
                    T0.plusSeconds(5), 0, "paused by ann", null, null);
            assertThat(jobs.replace(read, paused)).isTrue();

            // a run's end that read the job before the pause: refused, nothing written
            JobRow runEnded = new JobRow("a", "ann", null, "helper", read.spec(), "active", "api", "ann", T0,
                    T0.plusSeconds(6), 1, null, read.nextDueAt(), T0.plusSeconds(3));
            assertThat(jobs.replace(read, runEnded)).isFalse();
            assertThat(jobs.get("a").orElseThrow().state()).isEqualTo("paused");
            assertThat(jobs.get("a").orElseThrow().pausedReason()).isEqualTo("paused by ann");

            // read again (its null next and last run times match null), it is written over the pause
            JobRow again = jobs.get("a").orElseThrow();
            JobRow failuresNoted = new JobRow("a", "ann", null, "helper", read.spec(), "paused", "api", "ann", T0,
                    T0.plusSeconds(7), 1, "paused by ann", null, T0.plusSeconds(3));
            assertThat(jobs.replace(again, failuresNoted)).isTrue();
            assertThat(jobs.get("a").orElseThrow().consecutiveFailures()).isEqualTo(1);
            assertThat(jobs.get("a").orElseThrow().lastRunAt()).isEqualTo(T0.plusSeconds(3));

            assertThat(jobs.replace(job("missing", "ann", null), job("missing", "ann", null))).isFalse();
            assertThat(jobs.count()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void aDuplicateIdIsAConflictAndChangesNothing(String db) {
        try (Store store = open(db)) {
            store.jobs().insert(job("daily", "ann", null));
            JobRow other = new JobRow("daily", "mallory", null, "other", "{}", "active", "agent", "mallory", T0, T0, 0,
                    null, null, null);
            assertThatThrownBy(() -> store.jobs().insert(other))
                    .isInstanceOfSatisfying(StoreException.class,
                            e -> assertThat(e.reason()).isEqualTo(StoreException.Reason.DUPLICATE))
                    .hasMessageContaining("already exists")
                    .hasMessageNotContaining("mallory");
            assertThat(store.jobs().get("daily")).contains(job("daily", "ann", null));
            assertThat(store.jobs().count()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void historyIsNewestFirstAndARunEndsOnce(String db) {
        try (Store store = open(db)) {
            Jobs jobs = store.jobs();
            jobs.insert(job("j", "ann", null));
            JobRunRow first = jobs.startRun("j", T0, T0.plusMillis(40), "gw-1", "job:j:" + Jobs.RUN_PLACEHOLDER);
            assertThat(first).isEqualTo(new JobRunRow("j", 1, T0, T0.plusMillis(40), null, "running", null, null,
                    "job:j:1", "gw-1", 0, 0, null));
            assertThat(jobs.attachAgentRun("j", 1, "run-77")).isTrue();
            assertThat(jobs.endRun("j", 1, "succeeded", null, 1234, 56_000, "done", null, T0.plusSeconds(5))).isTrue();
            assertThat(jobs.endRun("j", 1, "failed", "late", 1, 1, "x", "other", T0.plusSeconds(6)))
                    .as("the first final status wins").isFalse();
            JobRunRow missed = jobs.recordMissed("j", T0.plusSeconds(1800), "gateway down", T0.plusSeconds(4000));
            assertThat(missed.runNo()).isEqualTo(2);
            JobRunRow third = jobs.startRun("j", T0.plusSeconds(3600), T0.plusSeconds(4001), "gw-2", "named-session");
            assertThat(jobs.running("j")).containsExactly(third);
            assertThat(jobs.markInterrupted("j", 3, "gateway gw-2 died", T0.plusSeconds(4100))).isTrue();
            assertThat(jobs.markInterrupted("j", 3, "again", T0.plusSeconds(4200))).isFalse();
            assertThat(jobs.running("j")).isEmpty();

            List<JobRunRow> history = jobs.history("j", 10);
            assertThat(history).extracting(JobRunRow::runNo).containsExactly(3, 2, 1);
            assertThat(history.get(0)).isEqualTo(new JobRunRow("j", 3, T0.plusSeconds(3600), T0.plusSeconds(4001),
                    T0.plusSeconds(4100), "interrupted", "gateway gw-2 died", null, "named-session", "gw-2", 0, 0, null));
            assertThat(history.get(1)).isEqualTo(new JobRunRow("j", 2, T0.plusSeconds(1800), null, T0.plusSeconds(4000),
                    "missed", "gateway down", null, null, null, 0, 0, null));
            assertThat(history.get(2)).isEqualTo(new JobRunRow("j", 1, T0, T0.plusMillis(40), T0.plusSeconds(5),
                    "succeeded", null, "run-77", "job:j:1", "gw-1", 1234, 56_000, "done"));
            assertThat(jobs.history("j", 2)).extracting(JobRunRow::runNo).containsExactly(3, 2);
            assertThat(jobs.run("j", 2)).contains(history.get(1));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void deletingAJobDeletesItsRunsAndNoOtherJobs(String db) {
        try (Store store = open(db)) {
            Jobs jobs = store.jobs();
            jobs.insert(job("gone", "ann", null));
            jobs.insert(job("kept", "ann", null));
            jobs.startRun("gone", T0, T0, "gw", null);
            jobs.recordMissed("gone", T0.plusSeconds(60), "skip policy", T0.plusSeconds(61));
            jobs.startRun("kept", T0, T0, "gw", null);
            assertThat(jobs.delete("gone")).isTrue();
            assertThat(jobs.delete("gone")).isFalse();
            assertThat(jobs.get("gone")).isEmpty();
            assertThat(jobs.history("gone", 10)).isEmpty();
            long orphans = store.jdbi().withHandle(h -> h.createQuery("SELECT COUNT(*) FROM job_runs WHERE job_id = 'gone'")
                    .mapTo(Long.class).one());
            assertThat(orphans).isZero();
            assertThat(jobs.history("kept", 10)).hasSize(1);
            // and a job made again under the same id starts its numbering afresh
            jobs.insert(job("gone", "ann", null));
            assertThat(jobs.startRun("gone", T0, T0, "gw", null).runNo()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void aRunOfAJobThatDoesNotExistIsRefused(String db) {
        try (Store store = open(db)) {
            assertThatThrownBy(() -> store.jobs().startRun("nope", T0, T0, "gw", null))
                    .isInstanceOfSatisfying(StoreException.class,
                            e -> assertThat(e.reason()).isEqualTo(StoreException.Reason.CONSTRAINT))
                    .hasMessageContaining("no such job");
            assertThatThrownBy(() -> store.jobs().recordMissed("nope", T0, "down", T0)).isInstanceOf(StoreException.class);
            assertThat(store.jobs().history("nope", 5)).isEmpty();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void concurrentStartsOfOneJobGetDistinctRunNumbers(String db) throws Exception {
        try (Store store = open(db)) {
            store.jobs().insert(job("hot", "ann", null));
            List<Integer> numbers = startConcurrently(List.of(store), "hot", 8, 25);
            assertThat(numbers).hasSize(200).doesNotHaveDuplicates();
            assertThat(Collections.max(numbers)).isEqualTo(200);
            assertThat(store.jobs().history("hot", 1000)).hasSize(200);
        }
    }

    /** Two gateways (each its own pool) on one PostgreSQL start runs of one job at the same moment. */
    @Test
    void twoGatewaysOnPostgresNeverShareARunNumber() throws Exception {
        String url = TestPostgres.get().createDatabase();
        try (Store a = Store.open(url, TestPostgres.USER, "", 8); Store b = Store.open(url, TestPostgres.USER, "", 8)) {
            a.jobs().insert(job("hot", "ann", null));
            List<Integer> numbers = startConcurrently(List.of(a, b), "hot", 8, 30);
            assertThat(numbers).hasSize(480).doesNotHaveDuplicates();
            assertThat(Collections.max(numbers)).isEqualTo(480);
            assertThat(b.jobs().history("hot", 1000)).extracting(JobRunRow::runNo).doesNotHaveDuplicates().hasSize(480);
        }
    }

    /** {@code threadsPerStore} threads per store, each starting {@code each} runs, all released at once. */
    private static List<Integer> startConcurrently(List<Store> stores, String jobId, int threadsPerStore, int each)
            throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(stores.size() * threadsPerStore);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<List<Integer>>> futures = new ArrayList<>();
            for (Store store : stores) {
                for (int t = 0; t < threadsPerStore; t++) {
                    String gateway = "gw-" + t;
                    futures.add(pool.submit(() -> {
                        go.await();
                        List<Integer> mine = new ArrayList<>();
                        for (int i = 0; i < each; i++) {
                            mine.add(store.jobs().startRun(jobId, T0, Instant.now(), gateway, null).runNo());
                        }
                        return mine;
                    }));
                }
            }
            go.countDown();
            List<Integer> all = new ArrayList<>();
            for (Future<List<Integer>> f : futures) all.addAll(f.get());
            return all;
        } finally {
            pool.shutdownNow();
        }
    }
}
