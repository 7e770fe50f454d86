package dev.carapace.server;

import dev.carapace.schedule.JobRun;
import dev.carapace.schedule.JobState;
import dev.carapace.store.ChildProcesses;
import dev.carapace.store.PostgresForTests;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.carapace.server.JobGateways.ALICE;
import static dev.carapace.server.JobGateways.history;
import static dev.carapace.server.JobGateways.job;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Jobs on gateways sharing one real PostgreSQL: each due run starts once across two and three gateways, counted
 * from the history and from the upstream; and a gateway killed with {@code kill -9} while it runs a job leaves a
 * run that a survivor marks interrupted and retries or not, as the job says, never while the dead one could still
 * be running it.
 */
class JobsPostgresTest {

    static final int JOBS = 6;

    @TempDir Path dir;
    final JobUpstream up = new JobUpstream();
    final List<Carapace> gateways = new ArrayList<>();

    @AfterEach
    void stop() {
        gateways.forEach(Carapace::close);
        up.close();
    }

    Carapace start(String yaml, String name) throws Exception {
        Carapace c = JobGateways.start(yaml, Files.createDirectories(dir.resolve(name)));
        gateways.add(c);
        return c;
    }

    @ParameterizedTest(name = "{0} gateways")
    @ValueSource(ints = {2, 3})
    void eachDueRunStartsOnceAcrossGateways(int count) throws Exception {
        // three runs at once per gateway: the six jobs due each second need two gateways, so all of them contend
        String yaml = JobGateways.yaml(up.baseUrl(), JobGateways.workspace(dir), JobGateways.postgres(PostgresForTests.createDatabase()))
                .replace("heartbeat: 250ms}", "heartbeat: 250ms, threads: 3}");
        for (int g = 0; g < count; g++) start(yaml, "gw-" + g);
        Carapace first = gateways.getFirst();
        for (int i = 0; i < JOBS; i++) {
            first.jobs().add(job("pg-" + i, "pg job " + i, Map.of("cron", "* * * * * *")), ALICE, "api");
        }
        Thread.sleep(5_000);
        for (int i = 0; i < JOBS; i++) gateways.get(i % count).jobs().pause("pg-" + i, ALICE);
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            for (int i = 0; i < JOBS; i++) {
                if (history(first, "pg-" + i).stream().anyMatch(r -> r.status().equals("running"))) return false;
            }
            return true;
        });

        Set<String> ranOn = new HashSet<>();
        int started = 0;
        for (int i = 0; i < JOBS; i++) {
            List<JobRun> runs = history(first, "pg-" + i);
            Map<Instant, Integer> starts = new HashMap<>();
            for (JobRun r : runs) {
                if (r.startedAt() == null) continue;   // a missed time: recorded, not started
                starts.merge(r.scheduledFor(), 1, Integer::sum);
                ranOn.add(r.gateway());
                assertThat(r.status()).as("pg-%d: %s", i, r).isEqualTo("succeeded");
            }
            assertThat(starts.values()).as("pg-%d: one start per scheduled time", i).containsOnly(1);
            assertThat(starts).as("pg-%d ran", i).hasSizeGreaterThanOrEqualTo(2);
            assertThat(up.of("pg job " + i)).as("pg-%d: one model call per start", i).hasSize(starts.size());
            assertThat(runs).extracting(JobRun::scheduledFor).as("pg-%d: each time once in the history", i)
                    .doesNotHaveDuplicates();
            started += starts.size();
        }
        assertThat(ranOn).as("the gateways shared the work: %s", ranOn).hasSizeGreaterThanOrEqualTo(2);
        assertThat(started).isGreaterThanOrEqualTo(JOBS * 3);
    }

    /** The gateway that is killed: starts on the database, adds two jobs due in a second, and blocks. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Carapace c = JobGateways.start(Files.readString(Path.of(args[0])), Path.of(args[1]));
            for (String id : List.of("retry", "noretry")) {
                c.jobs().add(job(id, "SLOW " + id, Map.of("at", "1s"), "retry_interrupted", id.equals("retry")), ALICE, "api");
            }
            ChildProcesses.sayAndBlock("READY");
        }
    }

    @Test
    void aKilledGatewaysRunIsMarkedInterruptedAndRetriedOrNotPerTheJobNeverTwiceAtOnce() throws Exception {
        // heartbeats every 500 ms (dead after 3 s): a live child stalled by a busy machine is not taken for dead
        String yaml = JobGateways.yaml(up.baseUrl(), JobGateways.workspace(dir), JobGateways.postgres(PostgresForTests.createDatabase()))
                .replace("heartbeat: 250ms", "heartbeat: 500ms");
        Path file = Files.writeString(dir.resolve("jobs.yaml"), yaml);
        Process child = ChildProcesses.start(Child.class, file.toString(), Files.createDirectories(dir.resolve("child")).toString());
        Carapace survivor;
        Instant killed;
        try {
            ChildProcesses.awaitLine(child, "READY");
            await().atMost(Duration.ofSeconds(15)).until(() -> up.of("SLOW retry").size() == 1 && up.of("SLOW noretry").size() == 1);
            survivor = start(yaml, "survivor");   // starts while the child runs both and heart-beats them
            Thread.sleep(2_000);
            assertThat(up.of("SLOW retry")).as("nothing runs what a live gateway runs").hasSize(1);
            assertThat(history(survivor, "retry")).extracting(JobRun::status).containsExactly("running");
        } finally {
            ChildProcesses.kill(child);
        }
        killed = Instant.now();

        await().atMost(Duration.ofSeconds(20)).until(() -> history(survivor, "retry").stream()
                .anyMatch(r -> r.status().equals("succeeded")));
        Thread.sleep(1_000);   // a second retry, or a run of noretry, would show by now

        List<JobRun> retry = history(survivor, "retry");
        assertThat(retry).extracting(JobRun::status).containsExactly("interrupted", "succeeded");
        JobRun dead = retry.get(0);
        JobRun again = retry.get(1);
        assertThat(dead.reason()).contains("the gateway " + dead.gateway() + " running it stopped");
        assertThat(again.gateway()).isNotEqualTo(dead.gateway());
        assertThat(dead.endedAt()).as("marked interrupted after the kill").isAfter(killed);
        assertThat(again.startedAt()).as("the retry starts once the dead run is ended").isAfterOrEqualTo(dead.endedAt());
        assertThat(up.of("SLOW retry")).hasSize(2);
        assertThat(up.of("SLOW retry").get(1).at()).as("never while the killed gateway ran it").isAfter(killed);
        assertThat(survivor.jobs().get("retry", ALICE).state()).isEqualTo(JobState.ENDED);

        assertThat(history(survivor, "noretry")).extracting(JobRun::status).containsExactly("interrupted");
        assertThat(up.of("SLOW noretry")).as("not run again").hasSize(1);
        assertThat(survivor.jobs().get("noretry", ALICE).state()).isEqualTo(JobState.ENDED);
    }
}
