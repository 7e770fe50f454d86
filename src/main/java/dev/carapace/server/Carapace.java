package dev.carapace.server;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.config.WritableRoots;
import dev.carapace.gateway.CallFilter;
import dev.carapace.gateway.Gateway;
import dev.carapace.guard.approval.ApprovalQueue;
import dev.carapace.guard.audit.AuditLog;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.guard.policy.PolicyWatcher;
import dev.carapace.guard.sandbox.Bubblewrap;
import dev.carapace.guard.sandbox.SandboxUnavailableException;
import dev.carapace.guard.sandbox.SandboxUser;
import dev.carapace.identity.Authenticator;
import dev.carapace.identity.KeyAdmin;
import dev.carapace.identity.Principal;
import dev.carapace.ledger.Alerts;
import dev.carapace.ledger.BudgetSync;
import dev.carapace.ledger.Budgets;
import dev.carapace.ledger.Ledger;
import dev.carapace.ledger.PriceBook;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.Access;
import dev.carapace.model.ApiException;
import dev.carapace.model.DeploymentSpec;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.Portfolio;
import dev.carapace.model.Provider;
import dev.carapace.model.ProviderSpec;
import dev.carapace.model.Router;
import dev.carapace.model.UpstreamConnections;
import dev.carapace.model.WireFormat;
import dev.carapace.model.anthropic.AnthropicFormat;
import dev.carapace.model.openai.OpenAiFormat;
import dev.carapace.model.responses.ResponsesFormat;
import dev.carapace.privacy.PrivacyRouter;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.schedule.JobEvents;
import dev.carapace.schedule.JobService;
import dev.carapace.server.adapter.EgressSockets;
import dev.carapace.server.adapter.RevokedStarters;
import dev.carapace.server.adapter.SkillEgress;
import dev.carapace.skill.FollowedSkills;
import dev.carapace.server.adapter.ChannelMetrics;
import dev.carapace.server.adapter.JobMetrics;
import dev.carapace.server.adapter.Metrics;
import dev.carapace.server.adapter.PrivacyAudit;
import dev.carapace.server.adapter.StoreJobs;
import dev.carapace.server.adapter.StoreWatch;
import dev.carapace.server.api.AgentApi;
import dev.carapace.server.api.BudgetsApi;
import dev.carapace.server.api.ChannelsApi;
import dev.carapace.server.api.GuardApi;
import dev.carapace.server.api.HttpApi;
import dev.carapace.server.api.JobsApi;
import dev.carapace.server.api.SkillsApi;
import dev.carapace.skill.repo.InstalledSkillSource;
import dev.carapace.skill.repo.SkillRepository;
import dev.carapace.server.api.KeysApi;
import dev.carapace.server.api.MemoryApi;
import dev.carapace.server.api.ModelsApi;
import dev.carapace.server.api.PrivacyApi;
import dev.carapace.server.api.ResponsesApi;
import dev.carapace.server.api.AudioApi;
import dev.carapace.server.adapter.GatewayVoice;
import dev.carapace.model.audio.Espeak;
import dev.carapace.server.api.SpendApi;
import dev.carapace.server.http.HttpServer;
import dev.carapace.server.http.Routes;
import dev.carapace.skill.SkillCatalog;
import dev.carapace.skill.SkillPrompt;
import dev.carapace.skill.SkillTool;
import dev.carapace.store.DueRuns;
import dev.carapace.store.Store;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.function.Function;

/**
 * The composition root: builds every part of a running gateway from a config, in dependency order, and stops
 * them in reverse. Nothing else constructs long-lived parts.
 */
public final class Carapace implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Carapace.class);
    /** How long a request's head may take to arrive once it has begun: a slowloris holds no connection longer. */
    static final Duration HEADER_TIMEOUT = Duration.ofSeconds(10);
    /** How long the start-up check waits for each provider's server to accept a connection. */
    static final Duration UPSTREAM_PROBE_TIMEOUT = Duration.ofSeconds(3);
    /**
     * How long a connection may stay silent both ways. Longer than any upstream read timeout a config is likely to
     * set, so a client waiting on a slow model is never cut off by the front door first.
     */
    static final Duration IDLE_TIMEOUT = Duration.ofMinutes(5);
    /** The request line and headers together at most: past it, 414 for a long URI, 431 for large headers. */
    static final int MAX_HEADER_BYTES = 16 * 1024;

    private final SoleWriter soleWriter;
    private final Store store;
    private final ScheduledThreadPoolExecutor scheduler;
    private final Ledger ledger;
    private final Gateway gateway;
    private final GatewayVoice voice;
    /** The most WAV one espeak-ng call may make: 16 minutes of 16-bit mono at 22,050 Hz, past 4,096 characters' worth. */
    private static final long ESPEAK_MAX_BYTES = 42L * 1024 * 1024;
    private final PrivacyRouter privacy;
    private final KeyAdmin keyAdmin;
    private final AgentRuntime agentRuntime;
    private final JobWiring jobWiring;
    /** Outbound webhooks (channels' answers, jobs' results): durable, signed, retried, through the egress proxy. */
    private final WebhookWiring webhookWiring;
    private final MemoryWiring memoryWiring;
    private final ChannelWiring channelWiring;
    private final EgressProxy egressProxy;
    /** The live guard policy; null when the config attaches none (agents then have the WorkspaceGuard). */
    private final PolicyWatcher policyWatcher;
    /** The exec sandbox, when the config chose bubblewrap; null otherwise. */
    private final Bubblewrap bubblewrap;
    /** The egress proxy's sockets for sandboxed commands, one per agent; null without the sandbox. */
    private final EgressSockets sandboxSockets;
    private final SkillCatalog skillCatalog;
    private final FollowedSkills followedSkills;
    private final SkillEgress skillEgress;
    private final AuditLog auditLog;
    /** The org skill repository; its installed, approved, pinned versions are in every agent's skill catalog. */
    private final SkillRepository skillRepository;
    private final ApprovalQueue approvals;
    private final List<Provider> providers;
    private final HttpServer server;
    private final BudgetSync budgetSync;

    private Carapace(CarapaceConfig config, Path configFile, Path dataDir, Function<String, String> env, Clock clock,
                     Integer portOverride, SoleWriter soleWriter) {
        this.soleWriter = soleWriter;
        store = openOwningJournal(config, dataDir, env);
        auditLog = new AuditLog(store.auditRecords());
        PolicyWatcher watcher = null;
        // What followed skills declared is enforced by the guard and, for sandboxed commands, at the proxy.
        skillRepository = SkillWiring.repository(config, store, auditLog, clock);
        skillCatalog = AgentWiring.skillCatalog(config, env, new InstalledSkillSource(skillRepository));
        followedSkills = new FollowedSkills(agent -> skillCatalog.entries(agent).stream().map(SkillCatalog.Entry::skill).toList());
        skillEgress = new SkillEgress(followedSkills);
        EgressProxy proxy = null;
        EgressSockets sockets = null;
        Bubblewrap sandbox = null;
        try {
            // before anything serves: a policy that does not load, or a policy/config file an agent could write, stops us
            watcher = GuardWiring.policyWatcher(config, configFile, dataDir, auditLog, clock);
            if (config.tools().webFetch() == CarapaceConfig.Tools.WebFetch.PROXY
                    || config.tools().exec() == CarapaceConfig.Tools.Exec.BWRAP) {
                proxy = AgentWiring.egressProxy(config, env, clock, watcher, auditLog, skillEgress);
            }
            // A missing or broken sandbox is a startup error. Each agent's sandboxed commands reach the egress proxy
            // through a socket of their own: the proxy knows whose traffic it judges.
            if (config.tools().exec() == CarapaceConfig.Tools.Exec.BWRAP) {
                SandboxUser user = SandboxUser.resolve(
                        config.tools().sandboxUser(), Path.of("/etc/passwd"));
                sockets = EgressSockets.open(proxy, config.agents().values(), user);
                skillEgress.attach(sockets);
                sandbox = AgentWiring.openSandbox(config, configFile, dataDir, env, sockets, user);
                // Commands run as the sandbox user when we are root: each workspace must be that user's.
                for (AgentSpec a : config.agents().values()) sandbox.handOver(a.workspace());
            }
        } catch (RuntimeException e) {
            if (sandbox != null) sandbox.close();
            if (proxy != null) proxy.close();
            if (sockets != null) sockets.close();
            if (watcher != null) watcher.close();
            auditLog.close();
            store.close();
            throw e;
        }
        policyWatcher = watcher;
        egressProxy = proxy;
        sandboxSockets = sockets;
        bubblewrap = sandbox;
        scheduler = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon().name("carapace-scheduler").unstarted(r));
        scheduler.setRemoveOnCancelPolicy(true);

        WireFormat openai = new OpenAiFormat();
        WireFormat anthropic = new AnthropicFormat();
        ResponsesFormat responses = new ResponsesFormat();
        loadErrorPath(openai, anthropic, responses);
        startSocketPollers();
        Map<String, Provider> providers = new LinkedHashMap<>();
        // one cap for every provider's connections, derived like the client connections' when not configured
        UpstreamConnections upstreamConnections = new UpstreamConnections(
                OpenFiles.upstreamConnections(config.server().maxUpstreamConnections()), UpstreamConnections.DEFAULT_WAIT);
        for (ProviderSpec spec : config.providers().values()) {
            String key = spec.apiKeyEnv() == null ? null : env.apply(spec.apiKeyEnv());
            if (spec.apiKeyEnv() != null && key == null) {
                log.warn("provider {}: environment variable {} is not set; its upstream will refuse our calls",
                        spec.name(), spec.apiKeyEnv());
            }
            if (spec.local() == ProviderSpec.Local.ESPEAK) {
                providers.put(spec.name(), new Provider(spec, new Espeak("espeak-ng", spec.readTimeout(), ESPEAK_MAX_BYTES)));
                continue;
            }
            WireFormat format = switch (spec.kind()) {
                case ANTHROPIC -> anthropic;
                case RESPONSES -> responses;
                case OPENAI -> openai;
            };
            providers.put(spec.name(), new Provider(spec, format, key, upstreamConnections));
        }
        this.providers = List.copyOf(providers.values());
        Map<String, List<String>> servedBy = new LinkedHashMap<>();
        for (ModelSpec m : config.models().values()) {
            for (DeploymentSpec d : m.deployments()) {
                List<String> ids = servedBy.computeIfAbsent(d.provider(), k -> new ArrayList<>());
                if (!ids.contains(m.id())) ids.add(m.id());
            }
        }
        UpstreamProbe.start(this.providers, servedBy, UPSTREAM_PROBE_TIMEOUT);
        Portfolio portfolio = new Portfolio(config.tiers(), config.models().values(), providers);
        Map<String, Access> teamAccess = new LinkedHashMap<>();
        config.teams().forEach((name, team) -> teamAccess.put(name, team.access()));

        Metrics metrics = new Metrics();
        LedgerBook book = LedgerBook.of(store);
        Budgets budgets = budgets(config, store, clock);
        Alerts alerts = new Alerts(book, config.alerts().webhooks(),
                java.net.http.HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(5)).build(),
                scheduler, clock, java.time.Duration.ofSeconds(1));
        PriceBook priceBook = new PriceBook(book, config.models().values(), clock);
        ledger = new Ledger(book, budgets, alerts, priceBook, clock);
        // A gateway that died left its reservations open. On SQLite this gateway holds the store's lock, so every
        // other owner is dead: settle theirs now. On a shared PostgreSQL, an owner is dead once its heartbeat is a
        // minute old.
        ledger.reconcile(store.postgres() ? java.time.Duration.ofMinutes(1) : java.time.Duration.ZERO);
        budgetSync = new BudgetSync(book, budgets, clock);
        every(BudgetSync.CHECK_EVERY, budgetSync::check);
        every(BudgetSync.HEARTBEAT_EVERY, budgetSync::heartbeat);
        every(java.time.Duration.ofSeconds(10), ledger::heartbeat);
        every(java.time.Duration.ofSeconds(30), () -> ledger.reconcile(java.time.Duration.ofMinutes(1)));
        // Privacy first, so the ledger reserves for (and the upstream sees) the request as it will be sent.
        // It reads a redacted copy of a client's body back with the client's own parser.
        privacy = config.privacy() == null ? null : new PrivacyRouter(config.privacy(), (call, body) -> switch (call.api()) {
            case OPENAI -> openai.parseRequest(body);
            case ANTHROPIC -> call.operation() == dev.carapace.gateway.Operation.COUNT_TOKENS
                    ? ((AnthropicFormat) anthropic).parseCountTokens(body) : anthropic.parseRequest(body);
            case RESPONSES -> responses.parseRequest(body);
        });
        // The store watch first: a call on an unsound store is refused before anything reserves or routes it.
        StoreWatch storeWatch = new StoreWatch(store, store.postgres() ? "postgresql"
                : Store.sqliteFile(config.store().jdbcUrl(dataDir)).map(Path::toString).orElse("in memory"));
        every(Duration.ofSeconds(1), storeWatch::check);
        RevokedStarters revokedStarters = new RevokedStarters(store.apiKeys());
        List<CallFilter> filters = privacy == null ? List.of(storeWatch, revokedStarters, metrics, ledger)
                : List.of(storeWatch, revokedStarters, metrics, privacy, ledger, new PrivacyAudit(auditLog, clock));
        gateway = new Gateway(portfolio, new Router(config.routing()), teamAccess, filters);

        approvals = new ApprovalQueue(store.approvalRecords(), auditLog, clock, config.approvals().timeout());
        jobWiring = new JobWiring(config, store, budgets, clock);
        jobWiring.events.subscribe(new JobMetrics(metrics.registry()));
        jobWiring.events.subscribe(e -> {
            if (e instanceof dev.carapace.schedule.JobEvent.Paused p && p.automatic()) {
                jobWiring.jobs.get(p.jobId()).ifPresent(j -> alerts.jobPaused(p.jobId(), j.spec().owner().user(),
                        j.spec().owner().team(), p.reason()));
            }
        });
        SkillCatalog skills = skillCatalog;
        memoryWiring = new MemoryWiring(config, store, clock);
        List<dev.carapace.agent.AgentTool> extraTools = new ArrayList<>();
        extraTools.add(jobWiring.scheduleTool(new Agents(config.agents().values())));
        extraTools.add(new SkillTool(skills));
        extraTools.addAll(memoryWiring.tools());
        extraTools.add(new dev.carapace.channel.SendMessageTool(this::channels));
        agentRuntime = AgentWiring.agentRuntime(config, store, gateway, clock, egressProxy, policyWatcher,
                bubblewrap == null ? null : AgentWiring.bwrapExec(config, bubblewrap, sandboxSockets, policyWatcher,
                        skillEgress), auditLog,
                approvals, extraTools, List.of(new SkillPrompt(skills)), followedSkills);
        webhookWiring = new WebhookWiring(config, store, egressProxy, env, clock, jobWiring.gatewayName);
        webhookWiring.start();
        // Before any run can start (a job's): an agent's send_message asks the hub.
        voice = new GatewayVoice(gateway, config.voice());
        channelWiring = new ChannelWiring(config, store, agentRuntime, auditLog, env,
                new dev.carapace.server.adapter.ChannelVoice(voice), webhookWiring.deliveries, clock);
        channelWiring.hub.events().subscribe(new ChannelMetrics(metrics.registry()));
        jobWiring.start(config, agentRuntime, egressProxy, priceBook, webhookWiring.jobResults(config));
        // After the runtime has marked the runs a previous process left behind interrupted: nobody waits for those.
        int abandoned = approvals.expireAbandoned().size();
        if (abandoned > 0) log.info("{} pending approval(s) of runs cut off by the previous shutdown expired", abandoned);
        every(java.time.Duration.ofSeconds(10), agentRuntime::heartbeat);
        if (store.postgres()) every(java.time.Duration.ofSeconds(30), agentRuntime::reapOrphans);
        io.micrometer.core.instrument.Gauge.builder("carapace.upstream.connections", upstreamConnections,
                UpstreamConnections::open).description("Upstream connections open, idle ones included")
                .register(metrics.registry());
        if (policyWatcher != null) {
            io.micrometer.core.instrument.FunctionCounter.builder("carapace.guard.policy.reload.failures", policyWatcher,
                    PolicyWatcher::reloadFailures)
                    .description("Guard policy edits refused as invalid").register(metrics.registry());
        }

        Authenticator auth = new Authenticator(store.apiKeys(), config.org(), config.auth().keyCacheTtl());
        keyAdmin = new KeyAdmin(store.apiKeys(), config.teams().keySet(), clock);
        keyAdmin.sharedUserNames().forEach((user, teams) -> log.warn("user name '{}' has keys in teams {}: a user name is "
                + "one person across the org (owners, budgets and bindings name users alone); revoke one team's keys "
                + "and give that person another name", user, String.join(", ", teams)));
        String metricsTokenEnv = config.server().metricsTokenEnv();
        HttpApi api = new HttpApi(gateway, auth, openai, anthropic, metrics, config.server().maxBodyBytes(), storeWatch,
                metricsTokenEnv == null ? null : env.apply(metricsTokenEnv));
        ResponsesApi responsesApi = new ResponsesApi(api, gateway, auth, storeWatch, responses, store.responseRecords(),
                config.responses(), clock);
        every(Duration.ofMinutes(10), responsesApi::expire);
        Duration eventHeartbeat = Duration.ofSeconds(15);   // an idle SSE stream's comment line, for proxies
        AgentApi agentApi = new AgentApi(api, agentRuntime, auth, eventHeartbeat);
        GuardApi guardApi = new GuardApi(api, auth, store.auditRecords(), auditLog, approvals, clock);
        PrivacyApi privacyApi = new PrivacyApi(api, auth, privacy != null ? privacy
                : new PrivacyRouter(PrivacySpec.DEFAULT), privacy != null);

        Routes routes = new Routes();
        new ModelsApi(api, gateway).routes(routes);
        new KeysApi(api, auth, keyAdmin).routes(routes);
        new BudgetsApi(api, budgets, book, clock, (p, id) -> heldTo(p, id)).routes(routes);
        new SpendApi(api, book, clock).routes(routes);
        privacyApi.routes(routes);
        responsesApi.routes(routes);
        new AudioApi(api, gateway, storeWatch, config.voice().maxAudioBytes()).routes(routes);
        agentApi.routes(routes);
        new JobsApi(api, jobWiring.service, jobWiring.events, eventHeartbeat).routes(routes);
        new SkillsApi(api, skillRepository).routes(routes);
        new MemoryApi(api, memoryWiring.memory, memoryWiring.scopes, agentRuntime.agents(),
                config.teams().keySet()).routes(routes);
        guardApi.routes(routes);
        new ChannelsApi(api, channelWiring.hub, config.teams().keySet(), eventHeartbeat).routes(routes);
        api.routes(routes);   // last: its fallback answers every unknown path
        server = HttpServer.start(new HttpServer.Settings(config.server().host(),
                portOverride != null ? portOverride : config.server().port(),
                OpenFiles.clientConnections(config.server().maxConnections()), HEADER_TIMEOUT, IDLE_TIMEOUT,
                MAX_HEADER_BYTES), routes, api::errorBody);
        io.micrometer.core.instrument.Gauge.builder("carapace.http.connections", server, HttpServer::openConnections)
                .description("Client connections open (server.max_connections caps them)").register(metrics.registry());
        // Once the server takes the pushed requests: messages a previous process left are taken up, then channels pull.
        channelWiring.hub.start();
    }

    /** Starts a gateway. {@code env} resolves the environment variables the config names (secrets). */
    public static Carapace start(CarapaceConfig config, Path dataDir, Function<String, String> env, Clock clock,
                                 Integer portOverride) {
        return start(config, null, dataDir, env, clock, portOverride);
    }

    /**
     * Starts a gateway from the config read from {@code configFile} (null if it was not read from a file): the
     * file is then also one no agent may be able to write.
     */
    public static Carapace start(CarapaceConfig config, Path configFile, Path dataDir, Function<String, String> env,
                                 Clock clock, Integer portOverride) {
        // Before the store is opened: an agent that can write the data folder could replace the live database.
        String layout = WritableRoots.dataDirProblem(config, dataDir);
        if (layout != null) throw new IllegalStateException(layout);
        SoleWriter lock = SoleWriter.claim(config.store().jdbcUrl(dataDir));
        try {
            return new Carapace(config, configFile, dataDir, env, clock, portOverride, lock);
        } catch (SandboxUnavailableException e) {
            lock.release();
            throw new IllegalStateException("tools.exec is bwrap, but the sandbox cannot run here: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            lock.release();
            throw e;
        }
    }

    /** Runs {@code task} periodically; a failure is logged and the next run still happens. */
    private void every(java.time.Duration period, Runnable task) {
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                log.error("periodic task failed", e);
            }
        }, period.toMillis(), period.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** How long a starting gateway waits for a CLI command to let the ledger journal go. */
    private static final java.time.Duration JOURNAL_WAIT = java.time.Duration.ofSeconds(15);

    /**
     * The store, with its ledger journal: a CLI command that opened the store first (a {@code budget set} while the
     * gateway restarts) holds the journal for a few seconds, and a gateway that started then ran without it for its
     * whole life, every budget decision a transaction of its own (an outside tester). It waits for the command.
     */
    private static Store openOwningJournal(CarapaceConfig config, Path dataDir, Function<String, String> env) {
        Store s = openStore(config, dataDir, env);
        long deadline = System.nanoTime() + JOURNAL_WAIT.toNanos();
        while (s.journalHeldElsewhere() && System.nanoTime() < deadline) {
            s.close();
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the ledger journal", e);
            }
            s = openStore(config, dataDir, env);
        }
        if (s.journalHeldElsewhere()) {
            log.warn("another process still holds the ledger journal after {} s; serving without it (each budget"
                    + " decision a transaction of its own) until the next start", JOURNAL_WAIT.toSeconds());
        }
        return s;
    }

    /** The config's store, opened as the gateway opens it (the CLI's commands open it so too); the caller closes it. */
    public static Store openStore(CarapaceConfig config, Path dataDir, Function<String, String> env) {
        CarapaceConfig.Store s = config.store();
        return Store.open(s.jdbcUrl(dataDir), s.userEnv() == null ? null : env.apply(s.userEnv()),
                s.passwordEnv() == null ? null : env.apply(s.passwordEnv()), s.poolSize());
    }

    /**
     * The jobs' service as the CLI uses it: over the config's store and the scheduler table every gateway on it
     * shares, without a scheduler of its own (a running gateway runs what it adds).
     */
    public static JobService jobService(CarapaceConfig config, Store store, Clock clock) {
        DueRuns due = new DueRuns(store, "cli:" + JobWiring.gatewayName(), DueRuns.Settings.production());
        return JobWiring.service(config, store, new StoreJobs(store.jobs(), clock), due, budgets(config, store, clock),
                new JobEvents(), clock);
    }

    /**
     * The budgets of the store, checked against the config's org, teams, tiers and agents; users are those that had a
     * key, jobs those the store holds.
     */
    public static Budgets budgets(CarapaceConfig config, Store store, Clock clock) {
        return new Budgets(LedgerBook.of(store), clock, config.org(), config.teams().keySet(),
                new LinkedHashSet<>(config.tiers()), (scope, name) -> switch (scope) {
                    case USER -> KeyAdmin.hadKey(store.apiKeys(), name);
                    case AGENT -> config.agents().containsKey(name);
                    case JOB -> store.jobs().get(name).isPresent();
                    default -> true;
                });
    }

    public int port() { return server.port(); }

    public Store store() { return store; }

    public Gateway gateway() { return gateway; }

    /** Transcription and speech through the gateway, for channels that take voice notes and answer aloud. */
    public GatewayVoice voice() { return voice; }

    public KeyAdmin keyAdmin() { return keyAdmin; }

    public Ledger ledger() { return ledger; }

    public AgentRuntime agentRuntime() { return agentRuntime; }

    public JobService jobs() { return jobWiring.service; }

    /** Whether {@code p}'s calls are held to the agent or job budget {@code id}: an agent they use, a job they manage. */
    private boolean heldTo(Principal p, String id) {
        int colon = id.indexOf(':');
        if (colon < 0) return false;
        String scope = id.substring(0, colon), subject = id.substring(colon + 1);
        if (scope.equals("agent")) return agentRuntime.agents().find(subject).map(a -> a.usableBy(p)).orElse(false);
        if (!scope.equals("job")) return false;
        try {
            jobWiring.service.get(subject, p);     // 404 when p may not manage it
            return true;
        } catch (ApiException notTheirs) {
            return false;
        }
    }

    /** Who is speaking on channels, over the config's store: for the CLI. */
    public static dev.carapace.channel.Identities channelIdentities(CarapaceConfig config, Store store, AuditLog audit) {
        return ChannelWiring.identities(config, store, audit, Clock.systemUTC());
    }

    /** A configured channel built on its own, for {@code carapace channels test}; the caller closes it. */
    public static dev.carapace.channel.Channel channel(CarapaceConfig config, dev.carapace.channel.ChannelSpec spec,
                                                       Store store, Function<String, String> env) {
        return ChannelWiring.build(config, spec, store, env, Clock.systemUTC());
    }

    /** The channels: their hub, its identities and events. */
    public dev.carapace.channel.ChannelHub channels() { return channelWiring.hub; }

    /** Agents' memory. */
    public dev.carapace.memory.Memory memory() { return memoryWiring.memory; }

    /**
     * Agents' memory as the CLI uses it: over the config's store, with the privacy screen and the sentence model a
     * gateway has (the model is loaded only by a command that embeds: a search).
     */
    public static dev.carapace.memory.Memory memory(CarapaceConfig config, Store store, Clock clock) {
        return new MemoryWiring(config, store, clock).memory;
    }

    /** Which memory each of the config's agents reaches, as the gateway decides it. */
    public static dev.carapace.memory.MemoryScopes memoryScopes(CarapaceConfig config, Store store) {
        return MemoryWiring.scopes(config, store);
    }

    /** The live guard policy (its {@code networkRules()} is what the egress proxy asks), or null without one. */
    public PolicyWatcher policyWatcher() { return policyWatcher; }

    /** The egress proxy's sockets for sandboxed commands; null without the sandbox. */
    EgressSockets sandboxSockets() { return sandboxSockets; }

    /** The guard's audit log (every decision goes here). */
    public AuditLog auditLog() { return auditLog; }

    /** The org skill repository. */
    public SkillRepository skillRepository() { return skillRepository; }

    /** The agents' heartbeats (for a test that beats them on its own clock). */
    dev.carapace.schedule.heartbeat.HeartbeatRunner heartbeats() { return jobWiring.heartbeats(); }

    /** Pending approvals and standing grants. */
    public ApprovalQueue approvals() { return approvals; }

    @Override
    public void close() {
        server.close();
        // The scheduler stops taking due jobs and waits for the job runs under way, which end as the runtime ends
        // their agent runs (interrupted): both at once.
        Thread jobs = Thread.ofVirtual().start(jobWiring::stop);
        channelWiring.hub.close();   // no new messages; the ones whose runs are under way are answered after a restart
        agentRuntime.close();   // runs end (interrupted, resumable) while the gateway they call still works
        try {
            jobs.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        webhookWiring.close();   // attempts in flight are cut off uncounted; the next start sends them again
        if (egressProxy != null) egressProxy.close();
        if (policyWatcher != null) policyWatcher.close();
        auditLog.close();       // after the runs and the proxy: their last decisions are written too
        ledger.close();
        providers.forEach(Provider::close);
        scheduler.shutdownNow();
        try {
            budgetSync.stop();
        } catch (RuntimeException e) {
            log.warn("could not withdraw this gateway's budget acknowledgement; the CLI stops waiting for it in 30 s", e);
        }
        store.close();
        if (bubblewrap != null) bubblewrap.close();
        if (sandboxSockets != null) sandboxSockets.close();
        soleWriter.release();
    }

    /**
     * Loads the classes that report a failure while the process can still open files: out of file descriptors, a JVM
     * run from a directory of classes cannot read the class file of the very error it should answer with (seen as a
     * 500 {@code NoClassDefFoundError: ApiException$Kind} instead of a 503 {@code too_many_open_files}).
     */
    /**
     * Starts the JDK's pollers, which park virtual threads on sockets, now rather than at the first socket read that
     * waits: started then with the process out of file descriptors, their class fails to initialize for good, and
     * every later socket read on a virtual thread fails (a 500 for each call until a restart; OpenFilesExhaustionTest).
     */
    private static void startSocketPollers() {
        try {
            Class.forName("sun.nio.ch.Poller", true, null);
        } catch (ClassNotFoundException | LinkageError e) {
            log.warn("could not start the JDK's socket pollers early ({}); a shortage of file descriptors before the"
                    + " first socket wait would disable socket reads", e.toString());
        }
    }

    private static void loadErrorPath(WireFormat... formats) {
        for (ApiException.Kind kind : ApiException.Kind.values()) {
            ApiException e = ApiException.of(kind, "start-up", "loading the error path").withRetryAfter(java.time.Duration.ZERO);
            for (WireFormat f : formats) {
                f.renderError(e);
                f.status(e);
            }
        }
    }
}
