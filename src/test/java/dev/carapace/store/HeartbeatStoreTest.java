package dev.carapace.store;

import dev.carapace.schedule.heartbeat.JobActivity;
import dev.carapace.schedule.heartbeat.ProbeState;
import dev.carapace.server.adapter.StoreHeartbeatStates;
import dev.carapace.server.adapter.StoreJobActivity;
import dev.carapace.store.Jobs.JobRow;
import dev.carapace.testing.MutableClock;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

import static dev.carapace.store.JobsTest.T0;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What heartbeats keep in the store (V15), on SQLite and on a real PostgreSQL: each agent's state, replaced in place
 * and read back equal; and the failed and missed runs of an agent's jobs after a marker, in the order they ended,
 * counted in full when there are more than asked, never another agent's, never a success or a run still running.
 */
class HeartbeatStoreTest {

    @TempDir Path dir;

    private Store open(String db) {
        return db.equals("sqlite")
                ? Store.open("jdbc:sqlite:" + dir.resolve("hb.db"), null, null, 4)
                : Store.open(TestPostgres.get().createDatabase(), TestPostgres.USER, "", 8);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void statesAreKeptPerAgentAndReplaced(String db) {
        try (Store store = open(db)) {
            StoreHeartbeatStates states = new StoreHeartbeatStates(store.heartbeatStates(), Clock.fixed(T0, ZoneOffset.UTC));
            assertThat(states.load("a")).isEqualTo(ProbeState.EMPTY);
            ProbeState first = ProbeState.fromJson("{\"lastBeat\":\"2026-12-05T08:00:00Z\",\"reportedItems\":[\"k1\"],"
                    + "\"jobMarker\":\"m1\"}");
            states.save("a", first);
            assertThat(states.load("a")).isEqualTo(first);
            assertThat(states.load("b")).isEqualTo(ProbeState.EMPTY);
            ProbeState second = ProbeState.fromJson("{\"lastBeat\":\"2026-12-05T08:30:00Z\",\"inboxMarker\":\"i\"}");
            states.save("a", second);
            assertThat(states.load("a")).isEqualTo(second);
            store.heartbeatStates().put("b", "not a state", T0);
            assertThat(states.load("b")).isEqualTo(ProbeState.EMPTY);   // unreadable: start afresh, not fail every beat
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void failedAndMissedRunsOfTheAgentsJobsAfterAMarker(String db) throws Exception {
        try (Store store = open(db)) {
            Jobs jobs = store.jobs();
            jobs.insert(job("j1", "helper"));
            jobs.insert(job("j2", "helper"));
            jobs.insert(job("other", "lab"));
            MutableClock clock = new MutableClock(T0);
            StoreJobActivity activity = new StoreJobActivity(jobs, clock);
            JobActivity.Batch none = activity.since("helper", null, 10);
            assertThat(none.count()).isZero();
            assertThat(none.marker()).isNull();

            end(jobs, "j1", "succeeded", 10);
            end(jobs, "j1", "failed", 20);
            jobs.recordMissed("j2", T0.plusSeconds(25), "no gateway was up", T0.plusSeconds(30));
            end(jobs, "other", "failed", 30);
            jobs.startRun("j2", T0.plusSeconds(35), T0.plusSeconds(35), "g", null);   // still running
            end(jobs, "j2", "budget_exhausted", 40);

            clock.set(T0.plusSeconds(30).plus(StoreJobActivity.SETTLED));   // the run ended at 40 s is not settled yet
            assertThat(activity.since("helper", null, 10).count()).isEqualTo(2);
            clock.set(T0.plusSeconds(40).plus(StoreJobActivity.SETTLED));
            JobActivity.Batch all = activity.since("helper", null, 2);
            assertThat(all.count()).isEqualTo(3);
            assertThat(all.events()).extracting(JobActivity.Event::jobId, JobActivity.Event::outcome)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("j1", JobActivity.Outcome.FAILED),
                            org.assertj.core.groups.Tuple.tuple("j2", JobActivity.Outcome.MISSED));
            assertThat(all.events().get(1).detail()).isEqualTo("missed: no gateway was up");
            // the marker is after the newest of all three: the third was counted in this batch
            JobActivity.Batch after = activity.since("helper", all.marker(), 10);
            assertThat(after.count()).isZero();
            assertThat(after.marker()).isEqualTo(all.marker());

            end(jobs, "j1", "timed_out", 41);
            assertThat(activity.since("helper", all.marker(), 10).count()).isZero();
            clock.set(T0.plusSeconds(41).plus(StoreJobActivity.SETTLED));
            JobActivity.Batch next = activity.since("helper", all.marker(), 10);
            assertThat(next.events()).singleElement().satisfies(e -> {
                assertThat(e.jobId()).isEqualTo("j1");
                assertThat(e.detail()).isEqualTo("timed out: why timed_out");
            });
            assertThat(activity.since("lab", null, 10).count()).isEqualTo(1);
        }
    }

    private static JobRow job(String id, String agent) {
        return new JobRow(id, null, "platform", agent, "{}", "active", "api", "x", T0, T0, 0, null, null, null);
    }

    private static void end(Jobs jobs, String id, String status, int second) {
        Jobs.JobRunRow run = jobs.startRun(id, T0.plusSeconds(second - 5), T0.plusSeconds(second - 5), "g", null);
        jobs.endRun(id, run.runNo(), status, "why " + status, 0, 0, null, null, T0.plusSeconds(second));
    }
}
