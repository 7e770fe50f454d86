package dev.carapace.store;

import dev.carapace.store.DueRunsSqliteTest.Fired;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Several gateways (each its own store and pool, as separate processes would have) on one real PostgreSQL: every
 * due run starts once, none is lost; and when a gateway is killed ({@code kill -9}) in the middle of a run, one
 * survivor hears of it once, after the heartbeat timeout, and never runs that time again meanwhile.
 */
class DueRunsPostgresTest {

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
    }

    private Store store(String url) {
        Store s = Store.open(url, TestPostgres.USER, "", 6);
        open.add(s);
        return s;
    }

    @ParameterizedTest(name = "{0} gateways")
    @ValueSource(ints = {2, 3})
    void eachDueRunStartsOnceAcrossGateways(int gateways) throws Exception {
        String url = TestPostgres.get().createDatabase();
        List<DueRuns> dues = new ArrayList<>();
        for (int g = 0; g < gateways; g++) {
            DueRuns d = new DueRuns(store(url), "gw-" + g, DueRuns.Settings.fast());
            open.add(d);
            dues.add(d);
        }
        Instant at = Instant.now().plusMillis(1500).truncatedTo(ChronoUnit.MILLIS);
        Instant recurringEnd = at.plusSeconds(5);
        for (int i = 0; i < 200; i++) dues.get(i % gateways).schedule("once-" + i, at);
        for (int i = 0; i < 20; i++) dues.get(i % gateways).schedule("every-" + i, at);

        List<Fired> fired = new CopyOnWriteArrayList<>();
        BiFunction<String, Instant, Instant> next = (job, t) -> {
            try {
                Thread.sleep(20);   // a run takes a while: the other gateways poll meanwhile
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (job.startsWith("once-")) return null;
            Instant following = t.plusSeconds(1);
            return following.isBefore(recurringEnd) ? following : null;
        };
        for (int g = 0; g < gateways; g++) dues.get(g).start(DueRunsSqliteTest.recording(fired, "gw-" + g, next));

        await().atMost(Duration.ofSeconds(20)).until(() -> {
            for (int i = 0; i < 20; i++) if (dues.get(0).dueAt("every-" + i).isPresent()) return false;
            for (int i = 0; i < 200; i++) if (dues.get(0).dueAt("once-" + i).isPresent()) return false;
            return true;
        });
        Thread.sleep(500);   // anything started twice would show by now

        Map<String, Integer> starts = new HashMap<>();
        Map<String, TreeSet<Instant>> times = new HashMap<>();
        for (Fired f : fired) {
            assertThat(f.dead()).as("no live execution is taken for dead").isFalse();
            starts.merge(f.job() + "@" + f.scheduledFor(), 1, Integer::sum);
            times.computeIfAbsent(f.job(), j -> new TreeSet<>()).add(f.scheduledFor());
        }
        assertThat(starts.entrySet()).allSatisfy(e -> assertThat(e.getValue()).as(e.getKey()).isEqualTo(1));
        for (int i = 0; i < 200; i++) assertThat(times.get("once-" + i)).as("once-" + i).containsExactly(at);
        for (int i = 0; i < 20; i++) {
            assertThat(times.get("every-" + i)).as("every-" + i + ": each second once, none lost")
                    .containsExactly(at, at.plusSeconds(1), at.plusSeconds(2), at.plusSeconds(3), at.plusSeconds(4));
        }
        assertThat(fired).hasSize(200 + 20 * 5);
        for (int g = 0; g < gateways; g++) {
            assertThat(fired).as("gateway %d took part", g).extracting(Fired::gateway).contains("gw-" + g);
        }
    }

    /** The gateway that is killed: runs the scheduler until it picks the job, says so, and blocks in the run. */
    public static final class Child {
        public static void main(String[] args) {
            ChildProcesses.runAJobAndBlock(Store.open(args[0], TestPostgres.USER, "", 4), "doomed", crashSettings());
        }
    }

    /** A heartbeat every 250 ms; dead after 8 missed (2 s): far from what a busy test machine stalls. */
    static DueRuns.Settings crashSettings() {
        return new DueRuns.Settings(Duration.ofMillis(100), Duration.ofMillis(250), 4, 8, Duration.ofSeconds(2),
                Duration.ofMillis(500));
    }

    @Test
    void aKilledGatewaysRunIsHandedToOneSurvivorOnceAfterTheHeartbeatTimeout() throws Exception {
        String url = TestPostgres.get().createDatabase();
        Store survivorStore = store(url);   // migrates the schema before the child opens it
        Instant at = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        DueRuns scheduling = new DueRuns(survivorStore, "client", crashSettings());
        scheduling.schedule("nightly", at);

        Process child = ChildProcesses.start(Child.class, url);
        List<Fired> fired = new CopyOnWriteArrayList<>();
        try {
            assertThat(ChildProcesses.awaitLine(child, "RUNNING ")).isEqualTo("RUNNING nightly " + at.toEpochMilli());

            // Two survivors, started while the child runs the job and heart-beats it.
            for (String name : List.of("survivor-1", "survivor-2")) {
                DueRuns survivor = new DueRuns(store(url), name, crashSettings());
                open.add(survivor);
                survivor.start(DueRunsSqliteTest.recording(fired, name, (j, t) -> null));
            }
            Thread.sleep(crashSettings().deadAfter().plusMillis(1000).toMillis());
            assertThat(fired).as("nothing runs what a live gateway runs").isEmpty();
            assertThat(scheduling.schedule("nightly", Instant.now())).as("a running execution is not moved").isFalse();
            assertThat(scheduling.cancel("nightly")).as("nor cancelled").isFalse();
        } finally {
            ChildProcesses.kill(child);
        }
        Instant killed = Instant.now();

        await().atMost(Duration.ofSeconds(15)).until(() -> !fired.isEmpty());
        Thread.sleep(1500);   // a second call, had there been one, would show by now
        assertThat(fired).hasSize(1);
        Fired dead = fired.get(0);
        assertThat(dead.dead()).as("onDead, not onDue").isTrue();
        assertThat(dead.job()).isEqualTo("nightly");
        assertThat(dead.scheduledFor()).as("the time the dead gateway was running").isEqualTo(at);
        assertThat(Duration.between(killed, dead.at())).as("after the heartbeat timeout, not long after")
                .isBetween(crashSettings().deadAfter().minus(crashSettings().heartbeatInterval()), Duration.ofSeconds(10));
        assertThat(scheduling.dueAt("nightly")).as("onDead returned null: no next run").isEmpty();
    }
}
