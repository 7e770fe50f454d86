package dev.carapace.server;

import dev.carapace.agent.AgentSpec;
import dev.carapace.schedule.Job;
import dev.carapace.schedule.JobAction;
import dev.carapace.schedule.JobLimits;
import dev.carapace.schedule.JobSpec;
import dev.carapace.schedule.JobState;
import dev.carapace.schedule.MissedRunPolicy;
import dev.carapace.schedule.ScheduleSpec;
import dev.carapace.server.adapter.StoreJobs;
import dev.carapace.store.DueRuns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * At each start the store's config jobs become the config's: unchanged ones are kept as they are (their anchor,
 * their instant, their history), changed ones replaced, removed ones removed with their due runs; jobs added by API
 * are never touched, not even by a config job of the same id.
 */
class JobConfigSyncTest {

    @TempDir
    Path dir;
    private OneAgentGateway gw;
    private Carapace carapace;

    @BeforeEach
    void setUp() throws Exception {
        gw = new OneAgentGateway(dir, "You report.\n");
    }

    @AfterEach
    void tearDown() {
        gw.close();
    }

    private void start(String jobs) throws Exception {
        gw.start("", "jobs:\n" + jobs.indent(2), Clock.systemUTC());
        carapace = gw.carapace;
    }

    private StoreJobs jobs() { return new StoreJobs(carapace.store().jobs(), Clock.systemUTC()); }

    private Optional<Instant> dueAt(String id) {
        return new DueRuns(carapace.store(), "test-client", DueRuns.Settings.fast()).dueAt(id);
    }

    @Test
    void aRestartReplacesAndRemovesConfigJobsAndKeepsApiJobs() throws Exception {
        start("""
                morning: {agent: watcher, message: report, schedule: {cron: "0 8 * * *", zone: Europe/Paris}}
                poll: {agent: watcher, message: look, schedule: {every: 2h}}
                later: {agent: watcher, message: remind, schedule: {at: 3d}}
                """);
        Job poll = jobs().get("poll").orElseThrow();
        Job later = jobs().get("later").orElseThrow();
        assertThat(poll.source()).isEqualTo("config");
        assertThat(poll.createdBy()).isEqualTo("config");
        assertThat(poll.spec().owner()).isEqualTo(new AgentSpec.Owner(null, "platform"));
        assertThat(dueAt("morning")).isPresent();
        assertThat(dueAt("poll")).contains(poll.nextDueAt());
        // a job added by API meanwhile
        JobSpec mine = new JobSpec("mine", new AgentSpec.Owner("alice", "platform"), "watcher",
                ScheduleSpec.every("PT6H", "2030-01-01T00:00:00Z"), new JobAction.AgentTurn("mine", null),
                JobLimits.DEFAULT, null, MissedRunPolicy.RUN_ONCE, 5, 5, true, null);
        jobs().insert(new Job(mine, JobState.ACTIVE, "api", "alice", Instant.now(), 0, null, null, null));

        // the same config again: nothing replaced ("every: 2h" keeps its anchor, "at: 3d" its instant)
        Thread.sleep(20);
        start("""
                morning: {agent: watcher, message: report, schedule: {cron: "0 8 * * *", zone: Europe/Paris}}
                poll: {agent: watcher, message: look, schedule: {every: 2h}}
                later: {agent: watcher, message: remind, schedule: {at: 3d}}
                """);
        assertThat(jobs().get("poll").orElseThrow().spec()).isEqualTo(poll.spec());
        assertThat(jobs().get("poll").orElseThrow().createdAt()).isEqualTo(poll.createdAt());
        assertThat(jobs().get("later").orElseThrow().spec()).isEqualTo(later.spec());

        carapace.store().jobs().recordMissed("morning", Instant.parse("2030-01-01T07:00:00Z"), "gateway down", Instant.now());

        // changed (in place: its history stays), removed, added; and a config job whose id an API job has
        start("""
                morning: {agent: watcher, message: report, schedule: {cron: "0 9 * * *", zone: Europe/Paris}}
                evening: {agent: watcher, message: wrap up, schedule: {cron: "0 18 * * *"}}
                mine: {agent: watcher, message: not yours, schedule: {every: 1h}}
                """);
        assertThat(jobs().get("morning").orElseThrow().spec().schedule().cron()).isEqualTo("0 9 * * *");
        assertThat(jobs().history("morning", 10)).extracting(r -> r.reason()).containsExactly("gateway down");
        assertThat(jobs().get("evening")).isPresent();
        assertThat(dueAt("evening")).isPresent();
        assertThat(jobs().get("poll")).isEmpty();
        assertThat(jobs().get("later")).isEmpty();
        assertThat(dueAt("poll")).isEmpty();
        assertThat(dueAt("later")).isEmpty();
        Job kept = jobs().get("mine").orElseThrow();
        assertThat(kept.source()).isEqualTo("api");
        assertThat(kept.spec()).isEqualTo(mine);
        assertThat(jobs().list()).extracting(Job::id).containsExactly("evening", "mine", "morning");

        // a config with no jobs: the config's are gone, the API's stays
        start("");
        assertThat(jobs().list()).extracting(Job::id).containsExactly("mine");
    }
}
