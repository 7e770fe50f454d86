package dev.carapace.store;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** db-scheduler on the embedded SQLite store: due runs fire once, on time, where they were moved, not when cancelled. */
class DueRunsSqliteTest {

    /** One call of a handler: which job, for which time, when, and on which gateway. */
    record Fired(String job, Instant scheduledFor, Instant at, String gateway, boolean dead) {}

    @TempDir Path dir;
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
    }

    private Store store() {
        Store s = Store.open("jdbc:sqlite:" + dir.resolve("due.db"), null, null, 4);
        open.add(s);
        return s;
    }

    private DueRuns dueRuns(Store store, String name) {
        DueRuns d = new DueRuns(store, name, DueRuns.Settings.fast());
        open.add(d);
        return d;
    }

    /** Records every call; answers with {@code next}. */
    static DueRuns.Handler recording(List<Fired> fired, String gateway, java.util.function.BiFunction<String, Instant, Instant> next) {
        return new DueRuns.Handler() {
            @Override
            public Instant onDue(String jobId, Instant scheduledFor) {
                fired.add(new Fired(jobId, scheduledFor, Instant.now(), gateway, false));
                return next.apply(jobId, scheduledFor);
            }

            @Override
            public Instant onDead(String jobId, Instant scheduledFor) {
                fired.add(new Fired(jobId, scheduledFor, Instant.now(), gateway, true));
                return null;
            }
        };
    }

    private static Instant soon(long millis) {
        return Instant.now().plusMillis(millis).truncatedTo(ChronoUnit.MILLIS);
    }

    @Test
    void aDueRunFiresOnceAtAboutItsTime() throws Exception {
        DueRuns due = dueRuns(store(), "gw");
        List<Fired> fired = new CopyOnWriteArrayList<>();
        due.start(recording(fired, "gw", (j, t) -> null));
        Instant at = soon(700);
        assertThat(due.schedule("once", at)).isTrue();
        assertThat(due.dueAt("once")).contains(at);

        await().atMost(Duration.ofSeconds(5)).until(() -> !fired.isEmpty());
        Fired f = fired.get(0);
        assertThat(f.job()).isEqualTo("once");
        assertThat(f.scheduledFor()).isEqualTo(at);
        assertThat(f.dead()).isFalse();
        assertThat(Duration.between(at, f.at())).as("lateness").isBetween(Duration.ZERO, Duration.ofMillis(900));
        await().atMost(Duration.ofSeconds(2)).until(() -> due.dueAt("once").isEmpty());
        Thread.sleep(500);
        assertThat(fired).hasSize(1);
    }

    @Test
    void schedulingAgainMovesTheRunAndCancelRemovesIt() throws Exception {
        DueRuns due = dueRuns(store(), "gw");
        List<Fired> fired = new CopyOnWriteArrayList<>();
        due.start(recording(fired, "gw", (j, t) -> null));
        assertThat(due.schedule("moved", soon(60_000))).isTrue();
        Instant earlier = soon(400);
        assertThat(due.schedule("moved", earlier)).as("moved while not running").isTrue();
        assertThat(due.dueAt("moved")).contains(earlier);
        assertThat(due.schedule("cancelled", soon(400))).isTrue();
        assertThat(due.cancel("cancelled")).isTrue();
        assertThat(due.dueAt("cancelled")).isEmpty();
        assertThat(due.cancel("never-scheduled")).as("nothing to cancel is the state asked for").isTrue();
        Instant kept = soon(60_000);
        assertThat(due.schedule("kept", kept)).isTrue();
        assertThat(due.scheduleIfAbsent("kept", soon(100))).as("it has an execution already").isFalse();
        assertThat(due.dueAt("kept")).contains(kept);
        Instant fresh = soon(50_000);
        assertThat(due.scheduleIfAbsent("fresh", fresh)).isTrue();
        assertThat(due.dueAt("fresh")).contains(fresh);
        assertThat(due.dueTimes()).isEqualTo(Map.of("moved", earlier, "kept", kept, "fresh", fresh));

        await().atMost(Duration.ofSeconds(5)).until(() -> !fired.isEmpty());
        Thread.sleep(800);
        assertThat(fired).extracting(Fired::job, Fired::scheduledFor).containsExactly(org.assertj.core.groups.Tuple.tuple("moved", earlier));
    }

    @Test
    void theTimeOnDueReturnsIsTheNextRun() throws Exception {
        DueRuns due = dueRuns(store(), "gw");
        List<Fired> fired = new CopyOnWriteArrayList<>();
        Instant first = soon(300);
        Instant end = first.plusSeconds(4);
        // every second, 4 times: the fifth time returned is past the end and ends it
        due.start(recording(fired, "gw", (j, t) -> t.plusSeconds(1).isBefore(end) ? t.plusSeconds(1) : null));
        due.schedule("every-second", first);
        await().atMost(Duration.ofSeconds(8)).until(() -> due.dueAt("every-second").isEmpty());
        assertThat(fired).extracting(Fired::scheduledFor)
                .containsExactly(first, first.plusSeconds(1), first.plusSeconds(2), first.plusSeconds(3));
        for (Fired f : fired) {
            assertThat(Duration.between(f.scheduledFor(), f.at())).as("lateness").isBetween(Duration.ZERO, Duration.ofMillis(900));
        }
    }

    @Test
    void stopLetsTheRunningRunFinishAndKeepsTheTimeItReturned() throws Exception {
        DueRuns due = dueRuns(store(), "gw");
        java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(1);
        AtomicInteger finished = new AtomicInteger();
        Instant next = soon(3_600_000);
        List<Boolean> sawStopping = new CopyOnWriteArrayList<>();
        due.start(new DueRuns.Handler() {
            @Override
            public Instant onDue(String jobId, Instant scheduledFor) {
                running.countDown();
                try {
                    Thread.sleep(700);
                } catch (InterruptedException e) {
                    throw new IllegalStateException("interrupted: stop did not wait");
                }
                sawStopping.add(due.stopping());
                finished.incrementAndGet();
                return next;
            }

            @Override
            public Instant onDead(String jobId, Instant scheduledFor) { return null; }
        });
        due.schedule("long", soon(0));
        assertThat(running.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(due.stopping()).isFalse();
        due.stop();
        assertThat(finished.get()).as("stop returned after the run").isEqualTo(1);
        assertThat(sawStopping).containsExactly(true);
        assertThat(due.dueAt("long")).as("its next time recorded, not left picked").contains(next);
        assertThat(due.schedule("long", soon(1000))).as("and it can be moved: nobody runs it").isTrue();
    }

    @Test
    void aHandlerThatThrowsIsCalledAgainForTheSameTime() {
        DueRuns due = dueRuns(store(), "gw");
        List<Fired> fired = new CopyOnWriteArrayList<>();
        AtomicInteger calls = new AtomicInteger();
        due.start(recording(fired, "gw", (j, t) -> {
            if (calls.incrementAndGet() == 1) throw new IllegalStateException("store down for a moment");
            return null;
        }));
        Instant at = soon(200);
        due.schedule("flaky", at);
        await().atMost(Duration.ofSeconds(5)).until(() -> fired.size() == 2);
        assertThat(fired).extracting(Fired::scheduledFor).containsExactly(at, at);
        assertThat(Duration.between(fired.get(0).at(), fired.get(1).at())).isGreaterThanOrEqualTo(Duration.ofMillis(400));
        await().atMost(Duration.ofSeconds(2)).until(() -> due.dueAt("flaky").isEmpty());
    }

    /**
     * Two schedulers on one SQLite file (two stores, as two processes would be), 100 jobs due at the same instant:
     * each (job, time) is handled once, and both schedulers compete for them.
     */
    @Test
    void twoSchedulersOnOneFileStartEachDueRunOnce() throws Exception {
        Store a = store();
        Store b = store();
        DueRuns first = dueRuns(a, "gw-a");
        DueRuns second = dueRuns(b, "gw-b");
        Instant at = soon(1500);
        for (int i = 0; i < 100; i++) first.schedule("job-" + i, at);
        List<Fired> fired = new CopyOnWriteArrayList<>();
        java.util.function.BiFunction<String, Instant, Instant> slowly = (j, t) -> {
            try {
                // 100 runs take one scheduler's 10 threads 400 ms: several polls of the other, which competes
                Thread.sleep(40);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        };
        first.start(recording(fired, "gw-a", slowly));
        second.start(recording(fired, "gw-b", slowly));

        await().atMost(Duration.ofSeconds(20)).until(() -> fired.size() >= 100);
        Thread.sleep(700);
        Map<String, Integer> starts = new ConcurrentHashMap<>();
        for (Fired f : fired) {
            assertThat(f.scheduledFor()).isEqualTo(at);
            assertThat(f.dead()).isFalse();
            starts.merge(f.job(), 1, Integer::sum);
        }
        assertThat(starts).hasSize(100);
        assertThat(starts.values()).containsOnly(1);
        assertThat(fired).extracting(Fired::gateway).contains("gw-a", "gw-b");
        for (int i = 0; i < 100; i++) assertThat(first.dueAt("job-" + i)).isEmpty();
    }

    /** The one gateway of a SQLite file, killed in the middle of a run: says when it runs, then blocks. */
    public static final class Child {
        public static void main(String[] args) {
            ChildProcesses.runAJobAndBlock(Store.open("jdbc:sqlite:" + args[0], null, null, 4), "gateway",
                    DueRuns.Settings.production());
        }
    }

    /**
     * SQLite has one gateway process per file: when it restarts after a {@code kill -9}, the run the dead process
     * had picked is handed to {@code onDead} at once, not after the heartbeat timeout (a minute in production).
     */
    @Test
    void aRestartedSqliteGatewayHandsTheKilledProcesssRunToOnDeadAtOnce() throws Exception {
        Path db = dir.resolve("due.db");
        Instant at = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        try (Store before = Store.open("jdbc:sqlite:" + db, null, null, 2)) {
            new DueRuns(before, "cli", DueRuns.Settings.production()).schedule("nightly", at);
        }
        Process child = ChildProcesses.start(Child.class, db.toString());
        try {
            assertThat(ChildProcesses.awaitLine(child, "RUNNING ")).isEqualTo("RUNNING nightly " + at.toEpochMilli());
        } finally {
            ChildProcesses.kill(child);
        }

        Store after = store();
        DueRuns restarted = dueRuns(after, "gateway-restarted");
        assertThat(restarted.dueAt("nightly")).as("still picked by the dead process").contains(at);
        List<Fired> fired = new CopyOnWriteArrayList<>();
        Instant start = Instant.now();
        restarted.start(recording(fired, "gateway-restarted", (j, t) -> null));
        await().atMost(Duration.ofSeconds(10)).until(() -> !fired.isEmpty());
        assertThat(Duration.between(start, fired.get(0).at())).as("not the minute of the heartbeat timeout")
                .isLessThan(Duration.ofSeconds(5));
        Thread.sleep(500);
        assertThat(fired).containsExactly(new Fired("nightly", at, fired.get(0).at(), "gateway-restarted", true));
        assertThat(restarted.dueAt("nightly")).isEmpty();
    }
}
