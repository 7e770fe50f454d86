package dev.carapace.schedule;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

import dev.carapace.text.Durations;

import static dev.carapace.text.Excerpt.clip;

/**
 * The jobs' public face, for the API, the CLI, the config and the agents' {@code schedule} tool: add, list, show,
 * pause, resume, remove, run now, history. Who may do what: an admin every job; a member the jobs owned by themselves
 * or by their team, and only jobs owned so; and a job's owner must be allowed to use its agent.
 *
 * <p>Every check happens before anything is stored, so a refused job leaves no trace: the definition (fields, the
 * schedule's expression, zone and times), the agent and its tools, the owner, the budget.
 */
public final class JobService {

    private final JobStore store;
    private final DueQueue due;
    private final Agents agents;
    private final JobBudgets budgets;
    private final JobEvents events;
    private final Clock clock;
    private final Duration minInterval;
    private final Predicate<String> knownUser;

    /**
     * @param minInterval the shortest interval (and cron period) a job may have
     * @param knownUser   whether an API key was ever made for a user of this name (exactly): a job added over the
     *                    API or the CLI must be owned by one, else it would spend as a name no user budget can hold
     */
    public JobService(JobStore store, DueQueue due, Agents agents, JobBudgets budgets, JobEvents events, Clock clock,
                      Duration minInterval, Predicate<String> knownUser) {
        this.store = store;
        this.due = due;
        this.agents = agents;
        this.budgets = budgets;
        this.events = events;
        this.clock = clock;
        this.minInterval = minInterval;
        this.knownUser = knownUser;
    }

    /** Reads, checks and adds a job from its definition; the owner defaults to the caller. */
    public Job add(Map<String, ?> definition, Principal caller, String source) {
        AgentSpec.Owner callerAsOwner = caller.user() != null ? new AgentSpec.Owner(caller.user(), caller.team())
                : new AgentSpec.Owner(null, caller.team());
        return add(JobSpecReader.read(definition, null, callerAsOwner), caller, source);
    }

    /** Checks and adds {@code spec}, owned as it says, and schedules its first run. */
    public Job add(JobSpec spec, Principal caller, String source) {
        // To the millisecond, as the store and the due queue keep times: "at: 2s" or an every anchored now would
        // otherwise fire at an instant the queue hands back truncated, and the runner would take the untruncated
        // fire time for a second one already past, recorded as missed. (And syncConfig checks a config job again as
        // of its createdAt, which the store keeps to the millisecond.)
        Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
        JobSpec checked = check(spec, caller, now, agents, minInterval);   // who may add it first: no user oracle
        String user = spec.owner().user();
        if (source.equals("api") && user != null && !knownUser.test(user)) {
            // The config may name a user before their first key (its admin's doing); the API and the CLI may not.
            throw ApiException.invalid("owner.user", "owner.user: no user '" + clip(user, 64) + "': a job's owner is a"
                    + " user an API key was made for, named exactly");
        }
        if (store.get(checked.id()).isPresent()) {
            throw ApiException.invalid("id", "id: a job '" + checked.id() + "' exists already; remove it first or pick another id");
        }
        Instant first = firstDue(checked, stored(checked), now);
        Job job = new Job(checked, first == null ? JobState.ENDED : JobState.ACTIVE, source,
                caller.user() != null ? caller.user() : "team:" + caller.team(), now, 0, null, first, null);
        // The id is taken first: of two adds of one id at once, the one refused as a duplicate must not set the
        // other's budget. A budget the ledger refuses takes the job back out.
        store.insert(job);
        if (checked.budget() != null) {
            try {
                budgets.set(checked.id(), checked.budget());
            } catch (RuntimeException e) {
                store.delete(checked.id());
                throw e;
            }
        }
        if (first != null) due.schedule(job.id(), first);
        return job;
    }

    /** The jobs {@code caller} may see, by id. */
    public List<Job> list(Principal caller) {
        return store.list().stream().filter(j -> mayManage(caller, j.spec().owner())).toList();
    }

    /** @throws ApiException no such job, or one the caller may not see (404 either way: ids are not disclosed) */
    public Job get(String id, Principal caller) {
        Optional<Job> j = store.get(id);
        if (j.isEmpty() || !mayManage(caller, j.get().spec().owner())) throw notFound(id);
        return j.get();
    }

    private static ApiException notFound(String id) {
        return new ApiException(ApiException.Kind.NOT_FOUND, "No job '" + clip(id, 64) + "'.", "id", "job_not_found", null, false);
    }

    public Job pause(String id, Principal caller) {
        Job j = get(id, caller);
        String by = "paused by " + (caller.user() != null ? caller.user() : "team " + caller.team());
        Optional<Job> paused = store.pauseIfActive(id, by);
        if (paused.isEmpty()) return store.get(id).orElse(j);
        due.cancel(id);
        events.publish(new JobEvent.Paused(id, by));
        return paused.get();
    }

    /** Runs again from its next fire time after now (runs missed while paused are not made up). */
    public Job resume(String id, Principal caller) {
        Job j = get(id, caller);
        Instant now = clock.instant();
        boolean[] resuming = new boolean[1];   // as the write that stood decided
        Job resumed = store.change(id, current -> {
            resuming[0] = current.state() == JobState.PAUSED;
            if (!resuming[0]) return current;
            Instant next = firstDue(current.spec(), stored(current.spec()), now);
            return new Job(current.spec(), next == null ? JobState.ENDED : JobState.ACTIVE, current.source(),
                    current.createdBy(), current.createdAt(), 0, null, next, current.lastRunAt());
        }).orElse(j);
        if (resuming[0] && resumed.nextDueAt() != null) due.schedule(id, resumed.nextDueAt());
        return resumed;
    }

    public void remove(String id, Principal caller) {
        Job j = get(id, caller);
        due.cancel(id);
        store.delete(id);
        budgets.remove(id);   // an admin's budget for it too: a later job of that id starts without it
    }

    /** Makes a run due now, whatever the schedule says (the schedule goes on after it). */
    public Job runNow(String id, Principal caller) {
        get(id, caller);
        Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);   // as the store keeps it
        Job[] before = new Job[1];
        // Written before it is made due: written after, it overwrote what a run that began at once had stored by
        // then (its pause, its failures), making a job its runner had just paused active again.
        Job scheduled = store.change(id, j -> {
            if (j.state() == JobState.PAUSED) {
                throw ApiException.invalid("id", "job '" + id + "' is paused (" + j.pausedReason() + "); resume it first");
            }
            before[0] = j;
            return new Job(j.spec(), JobState.ACTIVE, j.source(), j.createdBy(), j.createdAt(), j.consecutiveFailures(),
                    null, now, j.lastRunAt());
        }).orElseThrow(() -> notFound(id));
        if (!due.schedule(id, now)) {
            // Its run holds it: that run writes the job when it ends; undo this write unless something already has.
            store.replace(scheduled, before[0]);
            throw ApiException.invalid("id", "job '" + id + "' is running now; run it again once this run has ended");
        }
        return scheduled;
    }

    public List<JobRun> history(String id, Principal caller, int limit) {
        get(id, caller);
        return store.history(id, Math.max(1, Math.min(limit, 1000)));
    }

    /**
     * Makes the jobs of the config what it says: adds new ones, updates changed ones in place (keeping their history
     * and state), and removes jobs from the config that it no longer has. Jobs added by API or agents are left alone.
     * A config job's definition is read as of when it was added ({@code every: 30m} anchored then, {@code at: 3d}
     * three days after), so one whose definition did not change is exactly what is stored and keeps its next due
     * time: a restart neither moves nor repeats it.
     *
     * @return what could not be done, one line per job (an id an API or agent job has, a definition no longer
     *         valid); the other jobs are synchronized all the same
     */
    public List<String> syncConfig(List<JobSpec> specs, Principal admin) {
        List<String> problems = new ArrayList<>();
        Set<String> named = new HashSet<>();
        Instant now = clock.instant();
        for (JobSpec given : specs) {
            named.add(given.id());
            try {
                Optional<Job> old = store.get(given.id());
                if (old.isEmpty()) {
                    add(given, admin, "config");
                    continue;
                }
                Job j = old.get();
                if (!j.source().equals("config")) {
                    problems.add("jobs." + given.id() + ": a job with this id was added by " + j.source()
                            + "; remove it or rename the config's");
                    continue;
                }
                JobSpec checked = check(given, admin, j.createdAt(), agents, minInterval);
                if (checked.equals(j.spec())) continue;
                if (!checked.owner().equals(j.spec().owner()) || !Objects.equals(checked.agent(), j.spec().agent())) {
                    // another payer or agent: another job (the store keeps who owns and runs a job as it was made)
                    due.cancel(j.id());
                    store.delete(j.id());
                    budgets.remove(j.id());
                    add(given, admin, "config");
                    continue;
                }
                if (checked.budget() != null) budgets.set(checked.id(), checked.budget());
                else if (j.spec().budget() != null) budgets.remove(checked.id());
                Instant next = firstDue(checked, stored(checked), now);
                // Over the job as it stands when written (a run on another gateway may have ended meanwhile): the
                // new definition applies, a pause stands.
                Job written = store.change(checked.id(), current -> current.state() == JobState.PAUSED
                        ? new Job(checked, JobState.PAUSED, current.source(), current.createdBy(), current.createdAt(), 0,
                                current.pausedReason(), null, current.lastRunAt())
                        : new Job(checked, next == null ? JobState.ENDED : JobState.ACTIVE, current.source(),
                                current.createdBy(), current.createdAt(), 0, null, next, current.lastRunAt()))
                        .orElse(null);
                if (written != null && written.nextDueAt() != null) due.schedule(checked.id(), written.nextDueAt());
                else due.cancel(checked.id());
            } catch (ApiException e) {
                problems.add("jobs." + given.id() + ": " + e.getMessage());
            }
        }
        // the config's jobs only: a start-up must not read (and parse) every job of the API and the agents
        for (Job j : store.listBySource("config")) {
            if (j.source().equals("config") && !named.contains(j.id())) {
                due.cancel(j.id());
                store.delete(j.id());
                budgets.remove(j.id());
            }
        }
        return problems;
    }

    /**
     * The checks {@link #add} makes, for a job of the config before any store is open: the agent exists and its
     * owner may use it, the tools are the agent's, the schedule reads as of {@code now} with {@code minInterval}.
     *
     * @throws ApiException for the first problem, naming its field ({@code param})
     */
    public static void checkConfigJob(JobSpec spec, Agents agents, Instant now, Duration minInterval) {
        check(spec, configAdmin(null), now, agents, minInterval);
    }

    /** The admin who adds the config's jobs ({@code created_by} {@code config}). */
    public static Principal configAdmin(String org) {
        return new Principal(org, null, "config", Principal.Role.ADMIN, null);
    }

    // ---- checks ----

    /** The spec as it will be stored, with relative times made absolute. */
    private static JobSpec check(JobSpec spec, Principal caller, Instant now, Agents agents, Duration minInterval) {
        if (!mayManage(caller, spec.owner())) {
            throw new ApiException(ApiException.Kind.PERMISSION, "owner: a member may add jobs owned by themselves or their"
                    + " team only; " + spec.owner() + " is neither", "owner", "permission_denied", null, false);
        }
        if (!caller.isAdmin() && caller.user() != null && spec.owner().user() == null) {
            // A team's job spends as the team alone, outside the member's own budget: adding one is an admin's call.
            throw new ApiException(ApiException.Kind.PERMISSION, "owner: a member adds jobs owned by themselves"
                    + " ({user: " + caller.user() + "}); a team's job spends the team's budget outside the member's own,"
                    + " so an admin adds it", "owner", "permission_denied", null, false);
        }
        if (spec.agent() != null) {
            // Names only the agents the caller may use, as the agents API does: another team's are not listed.
            AgentSpec agent = agents.find(spec.agent()).orElseThrow(() -> ApiException.invalid("agent",
                    "agent: no agent '" + clip(spec.agent(), 64) + "' (agents: " + String.join(", ",
                            agents.list().stream().filter(a -> a.usableBy(caller)).map(AgentSpec::id).toList()) + ")"));
            if (!usable(agent, spec.owner(), caller)) {
                throw new ApiException(ApiException.Kind.PERMISSION, "agent: the job's owner " + spec.owner()
                        + " may not use the agent '" + agent.id() + "' (owned by " + agent.owner() + ")", "agent",
                        "permission_denied", null, false);
            }
            for (String tool : spec.limits().tools()) {
                if (!agent.enabledTools().contains(tool)) {
                    throw ApiException.invalid("limits.tools", "limits.tools: the agent '" + agent.id() + "' has no tool '"
                            + clip(tool, 64) + "' (its tools: " + (agent.enabledTools().isEmpty() ? "none"
                            : String.join(", ", agent.enabledTools())) + ")");
                }
            }
        }
        if (spec.action() instanceof JobAction.AgentTurn turn && turn.session() != null
                && !AgentRuntime.sessionName(turn.session())) {
            // checked now, not at the first run: a job that can never run would fail until it paused itself
            throw ApiException.invalid("session", "session: expected a name of letters, digits, '.', '_' and '-', "
                    + "starting with a letter or digit, at most 128 characters; got '" + clip(turn.session(), 60) + "'");
        }
        if (spec.action() instanceof JobAction.AgentTurn turn && AgentRuntime.channelSession(turn.session())) {
            throw ApiException.invalid("session", "session: '" + clip(turn.session(), 60) + "' is a channel's conversation"
                    + " (names starting with '" + AgentRuntime.CHANNEL_SESSION_PREFIX + "'), which only its channel"
                    + " writes to; use another session name");
        }
        // Stored with absolute times: "at: 3d" is three days from when the job was added, not from each restart, and
        // an every's anchor is fixed.
        ScheduleSpec stored = schedule(spec, now, minInterval).spec().withJitter(spec.schedule().jitter());
        return new JobSpec(spec.id(), spec.owner(), spec.agent(), stored, spec.action(), spec.limits(), spec.budget(),
                spec.missed(), spec.maxRunAll(), spec.maxFailures(), spec.retryInterrupted(), spec.deliverTo());
    }

    private static Schedule schedule(JobSpec spec, Instant now, Duration minInterval) {
        try {
            return Schedules.parse(spec.schedule(), now, minInterval);
        } catch (InvalidScheduleException e) {
            throw ApiException.invalid(e.field(), e.getMessage());
        }
    }

    /** The schedule of a job as stored (its times absolute, checked when it was added). */
    static Schedule stored(JobSpec spec) {
        return Schedules.restore(spec.schedule());
    }

    /** The first fire time after now, plus the job's jitter; null when the schedule has none left. */
    static Instant firstDue(JobSpec spec, Schedule schedule, Instant now) {
        return schedule.nextAfter(now).map(t -> t.plus(jitter(spec))).orElse(null);
    }

    static Duration jitter(JobSpec spec) {
        String j = spec.schedule().jitter();
        return j == null ? Duration.ZERO : Jitter.offset(spec.id(), Durations.parse(j).orElse(Duration.ZERO));
    }

    static boolean mayManage(Principal caller, AgentSpec.Owner owner) {
        if (caller.isAdmin()) return true;
        // A member's own job may name their team only: a user's job charged to another team is that team's business.
        if (owner.user() != null) {
            return owner.user().equals(caller.user()) && (owner.team() == null || owner.team().equals(caller.team()));
        }
        return owner.team() != null && owner.team().equals(caller.team());
    }

    private static boolean usable(AgentSpec agent, AgentSpec.Owner owner, Principal caller) {
        if (caller.isAdmin() && owner.user() == null && owner.team() == null) return true;
        AgentSpec.Owner a = agent.owner();
        if (a.user() != null && a.user().equals(owner.user())) return true;
        if (a.team() != null && a.team().equals(owner.team())) return true;
        return a.team() != null && owner.user() != null && owner.team() == null && a.team().equals(caller.team())
                && owner.user().equals(caller.user());
    }
}
