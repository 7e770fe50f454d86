package dev.carapace.schedule;

import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.schedule.JobFakes.FakeClock;
import dev.carapace.schedule.JobFakes.MemoryBudgets;
import dev.carapace.schedule.JobFakes.MemoryDueQueue;
import dev.carapace.schedule.JobFakes.MemoryJobStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link JobService} over in-memory fakes and a fake clock: what it checks, stores, schedules, and shows to whom. */
class JobServiceTest {

    static final Instant NOW = Instant.parse("2026-12-05T10:00:30Z");
    static final Principal ALICE = new Principal("acme", "platform", "alice", Principal.Role.MEMBER, "ck-alice");
    static final Principal BOB = new Principal("acme", "platform", "bob", Principal.Role.MEMBER, "ck-bob");
    static final Principal RITA = new Principal("acme", "research", "rita", Principal.Role.MEMBER, "ck-rita");
    static final Principal ROOT = new Principal("acme", "platform", "root", Principal.Role.ADMIN, "ck-root");
    /** The users API keys were made for. */
    static final Set<String> USERS = Set.of("alice", "bob", "rita", "root");

    final FakeClock clock = new FakeClock(NOW);
    final MemoryJobStore store = new MemoryJobStore(clock);
    final MemoryDueQueue due = new MemoryDueQueue();
    final MemoryBudgets budgets = new MemoryBudgets();
    final JobEvents events = new JobEvents();
    final List<JobEvent> seen = JobFakes.recording(events);
    final JobService service = new JobService(store, due, agents(), budgets, events, clock, Duration.ofMinutes(1), USERS::contains);

    static Agents agents() {
        AgentSpec helper = new AgentSpec("helper", Path.of("/tmp/ws"), "m-solo", List.of(), List.of("read", "list"),
                new AgentSpec.Owner(null, "platform"), AgentSpec.Limits.DEFAULT, AgentSpec.OnBusy.QUEUE, null);
        AgentSpec lab = new AgentSpec("lab", Path.of("/tmp/lab"), "m-solo", List.of(), List.of("read"),
                new AgentSpec.Owner(null, "research"), AgentSpec.Limits.DEFAULT, AgentSpec.OnBusy.QUEUE, null);
        return new Agents(List.of(helper, lab));
    }

    /** A valid job of agent helper, hourly at :00, with a budget; {@code changes} override or (null) remove fields. */
    static Map<String, Object> job(String id, Object... changes) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("agent", "helper");
        m.put("message", "summarise the inbox");
        m.put("schedule", Map.of("cron", "0 * * * *", "zone", "Europe/Paris"));
        m.put("limits", Map.of("tools", List.of("read")));
        m.put("budget", Map.of("amount", "2", "period", "day"));
        for (int i = 0; i < changes.length; i += 2) {
            if (changes[i + 1] == null) m.remove((String) changes[i]);
            else m.put((String) changes[i], changes[i + 1]);
        }
        return m;
    }

    static Stream<Arguments> badJobs() {
        return Stream.of(
                Arguments.of("cron with six fields wrong", job("j", "schedule", Map.of("cron", "0 61 * * *")), "schedule.cron"),
                Arguments.of("unknown zone", job("j", "schedule", Map.of("cron", "0 9 * * *", "zone", "Mars/Olympus")), "schedule.zone"),
                Arguments.of("at in the past", job("j", "schedule", Map.of("at", "2026-12-04T09:00:00Z")), "schedule.at"),
                Arguments.of("interval under the minimum", job("j", "schedule", Map.of("every", "30s")), "schedule.every"),
                Arguments.of("cron faster than the minimum", job("j", "schedule", Map.of("cron", "*/5 * * * * *")), "schedule.cron"),
                Arguments.of("no schedule kind", job("j", "schedule", Map.of("zone", "UTC")), "schedule"),
                Arguments.of("unknown agent", job("j", "agent", "ghost"), "agent"),
                Arguments.of("a channel's conversation as its session", job("j", "session", "ch-crm-0123456789ab"), "session"),
                Arguments.of("a session name no run can have", job("j", "session", "bad name!"), "session"),
                Arguments.of("a tool the agent lacks", job("j", "limits", Map.of("tools", List.of("exec"))), "limits.tools"),
                Arguments.of("unknown field", job("j", "colour", "red"), "colour"),
                Arguments.of("bad id", job("../etc"), "id"),
                Arguments.of("bad budget period", job("j", "budget", Map.of("amount", "1", "period", "fortnight")), "budget.period"),
                Arguments.of("negative budget", job("j", "budget", Map.of("amount", "-1")), "budget.amount"),
                Arguments.of("bad missed policy", job("j", "missed", "sometimes"), "missed"),
                Arguments.of("max_wall too long", job("j", "limits", Map.of("max_wall", "3d")), "limits.max_wall"),
                Arguments.of("webhook to a file URL", job("j", "agent", null, "message", null,
                        "webhook", Map.of("url", "file:///etc/passwd")), "webhook.url"),
                Arguments.of("deliver_to with a password", job("j", "deliver_to", "https://u:p@example.com/x"), "deliver_to"),
                Arguments.of("no message", job("j", "message", null), "message"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badJobs")
    void eachBadInputNamesItsFieldAndStoresNothing(String what, Map<String, Object> definition, String field) {
        assertThatThrownBy(() -> service.add(definition, ALICE, "api"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.kind()).isEqualTo(ApiException.Kind.INVALID_REQUEST);
                    assertThat(e.param()).isEqualTo(field);
                    assertThat(e.getMessage()).as("the message names the field").contains(field);
                });
        assertNothingStored();
    }

    void assertNothingStored() {
        assertThat(store.jobs).as("no job").isEmpty();
        assertThat(budgets.budgets).as("no budget").isEmpty();
        assertThat(due.due).as("no due time").isEmpty();
    }

    /**
     * Two adds of one id at once both pass the look for an existing job; the one refused at the store must not have
     * set its budget over the winner's (it did: the budget was set before the id was taken).
     */
    @Test
    void anAddRefusedAsADuplicateLeavesTheOtherJobsBudgetAlone() {
        JobStore racing = new JobStore() {
            @Override public void insert(Job job) { store.insert(job); }
            @Override public java.util.Optional<Job> get(String id) { return java.util.Optional.empty(); }  // both pass the look
            @Override public List<Job> list() { return store.list(); }
            @Override public List<Job> listBySource(String source) { return store.listBySource(source); }
            @Override public boolean replace(Job expected, Job job) { return store.replace(expected, job); }
            @Override public boolean delete(String id) { return store.delete(id); }
            @Override public long startRun(String j, Instant s, Instant t, String g, String k) { return store.startRun(j, s, t, g, k); }
            @Override public void runAgent(String j, long n, String a) { store.runAgent(j, n, a); }
            @Override public void recordMissed(String j, Instant s, String r) { store.recordMissed(j, s, r); }
            @Override public void endRun(String j, long n, Instant e, String st, String r, long t, long c, String res, String a) {
                store.endRun(j, n, e, st, r, t, c, res, a);
            }
            @Override public List<JobRun> history(String j, int limit) { return store.history(j, limit); }
        };
        JobService both = new JobService(racing, due, agents(), budgets, events, clock, Duration.ofMinutes(1), USERS::contains);
        both.add(job("j", "budget", Map.of("amount", "2", "period", "day")), ALICE, "api");

        assertThatThrownBy(() -> both.add(job("j", "budget", Map.of("amount", "900", "period", "day")), BOB, "api"))
                .isInstanceOf(ApiException.class).hasMessageContaining("exists already");
        assertThat(budgets.budgets.get("j").amount()).isEqualByComparingTo("2");
        assertThat(store.jobs.get("j").createdBy()).isEqualTo("alice");
    }

    @Test
    void aMemberMayNotAddAJobOwnedBySomeoneElseNorForAnotherTeamsAgent() {
        assertThatThrownBy(() -> service.add(job("j", "owner", Map.of("user", "bob")), ALICE, "api"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.kind()).isEqualTo(ApiException.Kind.PERMISSION);
                    assertThat(e.param()).isEqualTo("owner");
                });
        assertThatThrownBy(() -> service.add(job("j", "agent", "lab", "limits", null), ALICE, "api"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.kind()).isEqualTo(ApiException.Kind.PERMISSION);
                    assertThat(e.param()).isEqualTo("agent");
                    assertThat(e.getMessage()).contains("lab");
                });
        assertNothingStored();
    }

    /**
     * Regression: an admin's job owned by "Carol" (the user is carol) ran and spent as a name no user budget can hold.
     * Over the API and the CLI an owner is a user an API key was made for, named exactly; the config may name one
     * before their first key.
     */
    @Test
    void aJobAddedOverTheApiIsOwnedByAUserAKeyWasMadeFor() {
        for (String name : List.of("Alice", "carol", "alice ")) {
            assertThatThrownBy(() -> service.add(job("j", "owner", Map.of("user", name, "team", "platform")), ROOT, "api"))
                    .as(name).isInstanceOfSatisfying(ApiException.class, e -> {
                        assertThat(e.kind()).isEqualTo(ApiException.Kind.INVALID_REQUEST);
                        assertThat(e.param()).isEqualTo("owner.user");
                        assertThat(e.getMessage()).contains("no user '" + name + "'");
                    });
        }
        assertNothingStored();
        assertThat(service.add(job("j", "owner", Map.of("user", "alice", "team", "platform")), ROOT, "api").spec().owner().user())
                .isEqualTo("alice");
        assertThat(service.add(job("k", "owner", Map.of("user", "carol", "team", "platform")), ROOT, "config").spec().owner().user())
                .as("the config may name a user before their first key").isEqualTo("carol");
    }

    /**
     * Regression: run-now wrote the job after making it due, so a run that began at once and paused the job (its
     * owner revoked, say) was undone: the job came back active. The write now comes first.
     */
    @Test
    void aRunThatStartsAtOnceKeepsWhatItStoredOverRunNowsWrite() {
        DueQueue immediate = new DueQueue() {
            @Override
            public boolean schedule(String jobId, Instant at) {
                // the scheduler picks the run at once; it fails and its runner pauses the job
                Job j = store.get(jobId).orElseThrow();
                store.replace(j, new Job(j.spec(), JobState.PAUSED, j.source(), j.createdBy(), j.createdAt(), 1,
                        "paused: its owner is gone", null, at));
                return true;
            }

            @Override
            public boolean cancel(String jobId) { return true; }
        };
        JobService racing = new JobService(store, immediate, agents(), budgets, events, clock, Duration.ofMinutes(1),
                USERS::contains);
        service.add(job("j"), ALICE, "api");

        racing.runNow("j", ALICE);

        Job after = store.get("j").orElseThrow();
        assertThat(after.state()).isEqualTo(JobState.PAUSED);
        assertThat(after.pausedReason()).isEqualTo("paused: its owner is gone");
        assertThat(after.consecutiveFailures()).isEqualTo(1);
    }

    /** Regression: the error for an unknown agent listed every agent of the org, other teams' included. */
    @Test
    void anUnknownAgentErrorListsOnlyTheAgentsTheCallerMayUse() {
        assertThatThrownBy(() -> service.add(job("j", "agent", "ghost"), ALICE, "api"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.param()).isEqualTo("agent");
                    assertThat(e.getMessage()).contains("(agents: helper)").doesNotContain("lab");
                });
        assertThatThrownBy(() -> service.add(job("j", "agent", "ghost", "limits", null), RITA, "api"))
                .isInstanceOfSatisfying(ApiException.class, e ->
                        assertThat(e.getMessage()).contains("(agents: lab)").doesNotContain("helper"));
        assertNothingStored();
    }

    @Test
    void aBudgetTheLedgerRefusesLeavesNoJob() {
        budgets.refuse = true;
        assertThatThrownBy(() -> service.add(job("j"), ALICE, "api")).isInstanceOf(ApiException.class);
        assertNothingStored();
    }

    @Test
    void aSecondJobWithTheSameIdIsRefusedAndLeavesTheFirstsBudgetAlone() {
        service.add(job("j"), ALICE, "api");
        assertThatThrownBy(() -> service.add(job("j", "budget", Map.of("amount", "900")), BOB, "api"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.param()).isEqualTo("id"));
        assertThat(budgets.budgets.get("j").amount()).isEqualByComparingTo("2");
        assertThat(store.jobs.get("j").spec().owner().user()).isEqualTo("alice");
    }

    @Test
    void anAddedJobIsStoredWithItsBudgetAndDueAtItsFirstFireTime() {
        Job j = service.add(job("hourly"), ALICE, "api");
        assertThat(j.state()).isEqualTo(JobState.ACTIVE);
        assertThat(j.spec().owner()).isEqualTo(new AgentSpec.Owner("alice", "platform"));
        assertThat(j.nextDueAt()).isEqualTo(Instant.parse("2026-12-05T11:00:00Z"));
        assertThat(due.due).containsEntry("hourly", Instant.parse("2026-12-05T11:00:00Z"));
        assertThat(budgets.budgets.get("hourly").period()).isEqualTo("day");
        assertThat(j.spec().limits().tools()).containsExactly("read");
    }

    @Test
    void aRelativeAtIsStoredAsTheInstantItMeantWhenAdded() {
        Job j = service.add(job("later", "schedule", Map.of("at", "3d")), ALICE, "api");
        assertThat(j.spec().schedule().at()).isEqualTo(NOW.plus(Duration.ofDays(3)).toString());
        clock.advance(Duration.ofDays(1));
        assertThat(JobService.stored(store.get("later").orElseThrow().spec()).nextAfter(clock.instant()))
                .contains(NOW.plus(Duration.ofDays(3)));
    }

    @Test
    void membersSeeTheirOwnAndTheirTeamsJobsAdminsAllAndAnotherTeamsJobIsNotFound() {
        service.add(job("alices"), ALICE, "api");
        service.add(job("platforms", "owner", Map.of("team", "platform")), ROOT, "api");   // a team's job is an admin's to add
        service.add(job("labs", "agent", "lab", "limits", null), RITA, "api");

        assertThat(service.list(ALICE)).extracting(Job::id).containsExactly("alices", "platforms");
        assertThat(service.list(BOB)).extracting(Job::id).containsExactly("platforms");
        assertThat(service.list(RITA)).extracting(Job::id).containsExactly("labs");
        assertThat(service.list(ROOT)).extracting(Job::id).containsExactly("alices", "labs", "platforms");

        for (String op : List.of("get", "pause", "resume", "run-now", "history", "remove")) {
            assertThatThrownBy(() -> operate(op, "labs", ALICE)).as(op)
                    .isInstanceOfSatisfying(ApiException.class, e -> {
                        assertThat(e.kind()).isEqualTo(ApiException.Kind.NOT_FOUND);
                        assertThat(e.getMessage()).isEqualTo("No job 'labs'.");
                    });
            assertThatThrownBy(() -> operate(op, "alices", BOB)).as(op + " of a teammate's own job")
                    .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.kind()).isEqualTo(ApiException.Kind.NOT_FOUND));
        }
        assertThat(store.jobs.get("labs").state()).as("untouched").isEqualTo(JobState.ACTIVE);
        assertThat(service.pause("platforms", ALICE).state()).as("a team's job, by a teammate").isEqualTo(JobState.PAUSED);
        assertThat(service.pause("labs", ROOT).state()).as("any job, by an admin").isEqualTo(JobState.PAUSED);
    }

    private Object operate(String op, String id, Principal who) {
        return switch (op) {
            case "get" -> service.get(id, who);
            case "pause" -> service.pause(id, who);
            case "resume" -> service.resume(id, who);
            case "run-now" -> service.runNow(id, who);
            case "history" -> service.history(id, who, 10);
            case "remove" -> {
                service.remove(id, who);
                yield null;
            }
            default -> throw new IllegalArgumentException(op);
        };
    }

    @Test
    void pauseStopsItsDueTimeAndResumeStartsFromTheNextFireTimeAfterNow() {
        service.add(job("hourly"), ALICE, "api");
        Job paused = service.pause("hourly", ALICE);
        assertThat(paused.state()).isEqualTo(JobState.PAUSED);
        assertThat(paused.pausedReason()).isEqualTo("paused by alice");
        assertThat(due.due).doesNotContainKey("hourly");
        assertThat(seen).containsExactly(new JobEvent.Paused("hourly", "paused by alice"));

        assertThatThrownBy(() -> service.runNow("hourly", ALICE))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.getMessage()).contains("paused", "resume it first"));

        clock.advance(Duration.ofHours(5));   // 15:00:30: the runs of 11:00 to 15:00 are not made up
        Job resumed = service.resume("hourly", ALICE);
        assertThat(resumed.state()).isEqualTo(JobState.ACTIVE);
        assertThat(resumed.consecutiveFailures()).isZero();
        assertThat(due.due).containsEntry("hourly", Instant.parse("2026-12-05T16:00:00Z"));
    }

    @Test
    void runNowMakesItDueNowAndIsRefusedWhileARunIsUnderWay() {
        service.add(job("hourly"), ALICE, "api");
        clock.advance(Duration.ofMinutes(7));
        service.runNow("hourly", ALICE);
        assertThat(due.due).containsEntry("hourly", clock.instant());

        due.running.add("hourly");
        assertThatThrownBy(() -> service.runNow("hourly", ALICE))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.getMessage()).contains("running now"));
    }

    @Test
    void removeTakesTheJobItsDueTimeAndItsBudget() {
        service.add(job("hourly"), ALICE, "api");
        service.remove("hourly", ALICE);
        assertNothingStored();
        assertThatThrownBy(() -> service.get("hourly", ALICE)).isInstanceOf(ApiException.class);
    }

    @Test
    void historyIsBoundedWhateverTheCallerAsks() {
        service.add(job("hourly"), ALICE, "api");
        for (int i = 0; i < 1005; i++) store.recordMissed("hourly", NOW.plusSeconds(i), "test");
        assertThat(service.history("hourly", ALICE, 5000)).hasSize(1000);
        assertThat(service.history("hourly", ALICE, -3)).hasSize(1);
        assertThat(service.history("hourly", ALICE, 2)).extracting(JobRun::runNo).containsExactly(1005L, 1004L);
    }

    @Test
    void aWebhookJobNeedsNoAgent() {
        Map<String, Object> hook = new HashMap<>(job("ping", "agent", null, "message", null, "limits", null));
        hook.put("webhook", Map.of("url", "https://hooks.example.com/ping"));
        Job j = service.add(hook, BOB, "api");
        assertThat(j.spec().action()).isInstanceOf(JobAction.Webhook.class);
        assertThat(j.spec().agent()).isNull();
    }

    @Test
    void aConfigJobThatChangedKeepsItsHistory() {
        JobSpec first = JobSpecReader.read(job("nightly"), null, new AgentSpec.Owner(null, "platform"));
        service.syncConfig(List.of(first), ROOT);
        store.startRun("nightly", NOW, NOW, "gw", null);
        store.endRun("nightly", 1, NOW, "succeeded", null, 10, 0, "ok", null);

        JobSpec changed = JobSpecReader.read(job("nightly", "message", "summarise the outbox"), null,
                new AgentSpec.Owner(null, "platform"));
        service.syncConfig(List.of(changed), ROOT);
        Job now = store.get("nightly").orElseThrow();
        assertThat(((JobAction.AgentTurn) now.spec().action()).message()).isEqualTo("summarise the outbox");
        assertThat(now.source()).isEqualTo("config");
        assertThat(service.history("nightly", ROOT, 10)).extracting(JobRun::status).containsExactly("succeeded");
        assertThat(due.due).containsEntry("nightly", Instant.parse("2026-12-05T11:00:00Z"));

        service.syncConfig(List.of(), ROOT);
        assertThat(store.jobs).as("gone from the config: removed").isEmpty();
        assertThat(budgets.budgets).as("and its budget with it").isEmpty();
    }
}
