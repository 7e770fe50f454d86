package dev.carapace.server;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.identity.KeyAdmin;
import dev.carapace.identity.Principal;
import dev.carapace.ledger.Budgets;
import dev.carapace.ledger.PriceBook;
import dev.carapace.ledger.Pricing;
import dev.carapace.model.ApiException;
import dev.carapace.model.ModelSpec;
import dev.carapace.schedule.Backoff;
import dev.carapace.schedule.JobEvents;
import dev.carapace.schedule.JobRunner;
import dev.carapace.schedule.JobService;
import dev.carapace.schedule.ResultDelivery;
import dev.carapace.schedule.RunPricing;
import dev.carapace.schedule.ScheduleTool;
import dev.carapace.schedule.Webhooks;
import dev.carapace.schedule.heartbeat.ConfinedWorkspaceFiles;
import dev.carapace.schedule.heartbeat.HeartbeatRunner;
import dev.carapace.schedule.heartbeat.HeartbeatSpec;
import dev.carapace.schedule.heartbeat.Inbox;
import dev.carapace.schedule.heartbeat.Probe;
import dev.carapace.schedule.heartbeat.UrlCheck;
import dev.carapace.server.adapter.LedgerJobBudgets;
import dev.carapace.server.adapter.ProxyUrlCheck;
import dev.carapace.server.adapter.ProxyWebhooks;
import dev.carapace.server.adapter.SharedDueQueue;
import dev.carapace.server.adapter.StoreHeartbeatStates;
import dev.carapace.server.adapter.StoreJobActivity;
import dev.carapace.server.adapter.StoreJobs;
import dev.carapace.store.DueRuns;
import dev.carapace.store.Store;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Builds the scheduler for {@link Carapace}: the jobs' service (before the agent runtime, whose {@code schedule} tool
 * uses it) and, once the runtime exists, the config's jobs in the store and the runners that the store's shared
 * scheduler hands due jobs and agents' heartbeats to (one scheduler for both: each beat happens once across gateways).
 */
final class JobWiring {

    private static final Logger log = LoggerFactory.getLogger(JobWiring.class);

    final JobEvents events = new JobEvents();
    final DueRuns due;
    final StoreJobs jobs;
    final JobService service;
    final Function<AgentSpec.Owner, Principal> owners;
    /** This gateway in the scheduler's and the history's records. */
    final String gatewayName = gatewayName();
    private final Clock clock;
    private final Store store;
    private HeartbeatRunner heartbeats;

    JobWiring(CarapaceConfig config, Store store, Budgets budgets, Clock clock) {
        this.clock = clock;
        this.store = store;
        CarapaceConfig.Scheduler s = config.scheduler();
        DueRuns.Settings production = DueRuns.Settings.production();
        this.due = new DueRuns(store, gatewayName, new DueRuns.Settings(s.poll(), s.heartbeat(), s.threads(),
                production.missedHeartbeats(), production.shutdownMaxWait(), production.retryAfterFailure()));
        this.jobs = new StoreJobs(store.jobs(), clock);
        this.owners = owner -> ownerPrincipal(config.org(), owner, store);
        this.service = service(config, store, jobs, due, budgets, events, clock);
    }

    /**
     * The jobs' service over the store's jobs and its shared scheduler table; {@code due} need not be started (the
     * CLI's is not: a running gateway's scheduler picks what it schedules from the table).
     */
    static JobService service(CarapaceConfig config, Store store, StoreJobs jobs, DueRuns due, Budgets budgets,
                              JobEvents events, Clock clock) {
        return new JobService(jobs, new SharedDueQueue(due), new Agents(config.agents().values()),
                new LedgerJobBudgets(budgets), events, clock, config.scheduler().minInterval(),
                user -> KeyAdmin.hadKey(store.apiKeys(), user));
    }

    /** The agents' {@code schedule} tool, over the jobs' service. */
    ScheduleTool scheduleTool(Agents agents) {
        return new ScheduleTool(service, agents, owners);
    }

    /**
     * Makes the store's jobs the config's (as the config's admin; jobs added by API or agents are left alone), then
     * starts handing this gateway its share of due jobs and heartbeats.
     */
    void start(CarapaceConfig config, AgentRuntime runtime, EgressProxy egress, PriceBook prices,
               ResultDelivery results) {
        for (String problem : service.syncConfig(config.jobs(), JobService.configAdmin(config.org()))) {
            log.error("a job of the config was not added: {}", problem);
        }
        Webhooks webhooks = egress == null ? (caller, uri, headers, body, maxBytes, timeout) -> {
            throw new Webhooks.Refused("webhooks need the egress proxy: set tools.web_fetch: proxy (or exec: bwrap) in the config");
        } : new ProxyWebhooks(egress);
        RunPricing pricing = (model, usage) -> {
            ModelSpec m = config.models().get(model);
            return m == null ? 0 : Pricing.cost(prices.at(m, clock.instant()), usage);
        };
        JobRunner runner = new JobRunner(jobs, runtime, webhooks, results, events, pricing, owners, Backoff.DEFAULT,
                clock, gatewayName);
        heartbeats = heartbeats(config, runtime, egress);
        due.start(new DueRuns.Handler() {
            @Override
            public Instant onDue(String id, Instant scheduledFor) {
                String agent = HeartbeatRunner.agentOf(id);
                return agent != null ? heartbeats.onDue(agent) : runner.onDue(id, scheduledFor);
            }

            @Override
            public Instant onDead(String id, Instant scheduledFor) {
                // a beat cut off by its gateway's death is simply beaten again
                String agent = HeartbeatRunner.agentOf(id);
                return agent != null ? heartbeats.onDue(agent) : runner.onDead(id, scheduledFor);
            }
        });
        for (String agent : heartbeats.agents()) due.scheduleIfAbsent(HeartbeatRunner.instanceOf(agent), heartbeats.firstDue(agent));
    }

    /**
     * The agents' heartbeats: their states in the store, their jobs' failures from the history, their files through
     * the workspace confinement, their URLs through the egress proxy (off without one), no inbox yet (channels come
     * later). A heartbeat an agent no longer has ends at its next due time ({@code onDue} answers null).
     */
    private HeartbeatRunner heartbeats(CarapaceConfig config, AgentRuntime runtime, EgressProxy egress) {
        Map<String, HeartbeatSpec> specs = new LinkedHashMap<>(config.heartbeats());
        if (egress == null) {
            specs.replaceAll((agent, spec) -> {
                if (spec.watchUrls().isEmpty()) return spec;
                log.warn("heartbeat of agent {}: URL watches are off: its watch_urls are checked through the egress"
                        + " proxy, which runs only with tools.web_fetch: proxy or tools.exec: bwrap", agent);
                return new HeartbeatSpec(spec.every(), spec.activeHours(), spec.model(), spec.checklist(),
                        spec.watchFiles(), List.of());
            });
        }
        ConfinedWorkspaceFiles files = new ConfinedWorkspaceFiles(agent -> {
            AgentSpec a = config.agents().get(agent);
            return a == null ? null : a.workspace();
        });
        StoreJobActivity activity = new StoreJobActivity(store.jobs(), clock);
        UrlCheck noProxy = (url, previous) -> {
            throw new java.io.IOException("URL watches are off: no egress proxy");   // never asked: no URL is watched
        };
        return new HeartbeatRunner(specs, agent -> new Probe(Inbox.NONE, activity, files,
                egress == null ? noProxy : new ProxyUrlCheck(egress, agent)),
                new StoreHeartbeatStates(store.heartbeatStates(), clock), runtime, clock);
    }

    /** The agents' heartbeats, once started. */
    HeartbeatRunner heartbeats() { return heartbeats; }

    void stop() { due.stop(); }

    /** A job's owner as the principal its runs are charged to: the team given, or a user's from their newest key. */
    static Principal ownerPrincipal(String org, AgentSpec.Owner owner, Store store) {
        if (KeyAdmin.revokedUser(store.apiKeys(), owner.user())) {
            throw new ApiException(ApiException.Kind.PERMISSION, "its owner, user '" + owner.user()
                    + "', has had every API key revoked; an admin can give it a new owner (remove it and add it again)"
                    + " or give the user a key, then resume it", "owner", JobRunner.OWNER_REVOKED, null, false);
        }
        String team = owner.team() != null ? owner.team() : AgentWiring.teamOf(owner.user(), store);
        return new Principal(org, team, owner.user(), Principal.Role.MEMBER, null);
    }

    /**
     * Process and host, and a few random characters: two gateways in one process (tests, or a restart within one
     * JVM) are told apart in the history, and the scheduler keeps 50 characters.
     */
    static String gatewayName() {
        String process = ManagementFactory.getRuntimeMXBean().getName();
        String instance = Integer.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextInt(0x100000, 0x1000000));
        return (process.length() > 42 ? process.substring(0, 42) : process) + "/" + instance;
    }
}
