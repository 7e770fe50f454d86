package dev.carapace.server;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.identity.Principal;
import dev.carapace.ledger.Budgets;
import dev.carapace.ledger.PriceBook;
import dev.carapace.ledger.Pricing;
import dev.carapace.model.ModelSpec;
import dev.carapace.schedule.Backoff;
import dev.carapace.schedule.JobEvents;
import dev.carapace.schedule.JobRunner;
import dev.carapace.schedule.JobService;
import dev.carapace.schedule.RunPricing;
import dev.carapace.schedule.ScheduleTool;
import dev.carapace.schedule.Webhooks;
import dev.carapace.server.adapter.LedgerJobBudgets;
import dev.carapace.server.adapter.ProxyWebhooks;
import dev.carapace.server.adapter.SharedDueQueue;
import dev.carapace.server.adapter.StoreJobs;
import dev.carapace.store.ApiKeys;
import dev.carapace.store.DueRuns;
import dev.carapace.store.Store;

import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.util.function.Function;

/**
 * Builds the scheduler for {@link Carapace}: the jobs' service (before the agent runtime, whose {@code schedule} tool
 * uses it) and, once the runtime exists, the runner that the store's shared scheduler hands due jobs to.
 */
final class JobWiring {

    final JobEvents events = new JobEvents();
    final DueRuns due;
    final StoreJobs jobs;
    final JobService service;
    final Function<AgentSpec.Owner, Principal> owners;
    private final Clock clock;

    JobWiring(CarapaceConfig config, Store store, Budgets budgets, Clock clock) {
        this.clock = clock;
        CarapaceConfig.Scheduler s = config.scheduler();
        DueRuns.Settings production = DueRuns.Settings.production();
        this.due = new DueRuns(store, gatewayName(), new DueRuns.Settings(s.poll(), s.heartbeat(), s.threads(),
                production.missedHeartbeats(), production.shutdownMaxWait(), production.retryAfterFailure()));
        this.jobs = new StoreJobs(store.jobs(), clock);
        this.owners = owner -> ownerPrincipal(config.org(), owner, store);
        this.service = service(config, jobs, due, budgets, events, clock);
    }

    /**
     * The jobs' service over the store's jobs and its shared scheduler table; {@code due} need not be started (the
     * CLI's is not: a running gateway's scheduler picks what it schedules from the table).
     */
    static JobService service(CarapaceConfig config, StoreJobs jobs, DueRuns due, Budgets budgets, JobEvents events,
                              Clock clock) {
        return new JobService(jobs, new SharedDueQueue(due), new Agents(config.agents().values()),
                new LedgerJobBudgets(budgets), events, clock, config.scheduler().minInterval());
    }

    /** The agents' {@code schedule} tool, over the jobs' service. */
    ScheduleTool scheduleTool(Agents agents) {
        return new ScheduleTool(service, agents, owners);
    }

    /** Starts handing this gateway its share of due jobs. */
    void start(CarapaceConfig config, AgentRuntime runtime, EgressProxy egress, PriceBook prices) {
        Webhooks webhooks = egress == null ? (caller, uri, headers, body, maxBytes, timeout) -> {
            throw new Webhooks.Refused("webhooks need the egress proxy: set tools.web_fetch: proxy (or exec: bwrap) in the config");
        } : new ProxyWebhooks(egress);
        RunPricing pricing = (model, usage) -> {
            ModelSpec m = config.models().get(model);
            return m == null ? 0 : Pricing.cost(prices.at(m, clock.instant()), usage);
        };
        JobRunner runner = new JobRunner(jobs, runtime, webhooks, events, pricing, owners, Backoff.DEFAULT, clock,
                gatewayName());
        due.start(new DueRuns.Handler() {
            @Override
            public java.time.Instant onDue(String jobId, java.time.Instant scheduledFor) { return runner.onDue(jobId, scheduledFor); }

            @Override
            public java.time.Instant onDead(String jobId, java.time.Instant scheduledFor) { return runner.onDead(jobId, scheduledFor); }
        });
    }

    void stop() { due.stop(); }

    /** A job's owner as the principal its runs are charged to: the team given, or a user's from their newest key. */
    static Principal ownerPrincipal(String org, AgentSpec.Owner owner, Store store) {
        String team = owner.team();
        if (team == null) {
            team = store.apiKeys().list().stream()
                    .filter(k -> owner.user().equals(k.user()) && !k.revoked() && k.team() != null)
                    .reduce((first, second) -> second).map(ApiKeys.StoredKey::team).orElse(null);
        }
        return new Principal(org, team, owner.user(), Principal.Role.MEMBER, null);
    }

    /** This gateway in the scheduler's and the history's records: host and process. */
    static String gatewayName() {
        return ManagementFactory.getRuntimeMXBean().getName();
    }
}
