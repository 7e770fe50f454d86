package dev.carapace.server;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.Agents;
import dev.carapace.agent.RunEvents;
import dev.carapace.agent.WorkspaceGuard;
import dev.carapace.agent.tools.BuiltinTools;
import dev.carapace.agent.tools.DirectEgress;
import dev.carapace.agent.tools.LocalRunner;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.gateway.CallFilter;
import dev.carapace.gateway.Gateway;
import dev.carapace.identity.Authenticator;
import dev.carapace.identity.KeyAdmin;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.ledger.Alerts;
import dev.carapace.ledger.Budgets;
import dev.carapace.ledger.Ledger;
import dev.carapace.ledger.PriceBook;
import dev.carapace.model.Access;
import dev.carapace.model.Portfolio;
import dev.carapace.model.Provider;
import dev.carapace.model.ProviderSpec;
import dev.carapace.model.Router;
import dev.carapace.model.WireApi;
import dev.carapace.model.WireFormat;
import dev.carapace.model.anthropic.AnthropicFormat;
import dev.carapace.privacy.PrivacyRouter;
import dev.carapace.model.openai.OpenAiFormat;
import dev.carapace.store.Store;
import io.helidon.webserver.WebServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
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

    private final SoleWriter soleWriter;
    private final Store store;
    private final ScheduledThreadPoolExecutor scheduler;
    private final Ledger ledger;
    private final Gateway gateway;
    private final PrivacyRouter privacy;
    private final KeyAdmin keyAdmin;
    private final AgentRuntime agentRuntime;
    private final List<Provider> providers;
    private final WebServer server;

    private Carapace(CarapaceConfig config, Path dataDir, Function<String, String> env, Clock clock, Integer portOverride,
                     SoleWriter soleWriter) {
        this.soleWriter = soleWriter;
        store = openStore(config, dataDir, env);
        scheduler = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon().name("carapace-scheduler").unstarted(r));
        scheduler.setRemoveOnCancelPolicy(true);

        WireFormat openai = new OpenAiFormat();
        WireFormat anthropic = new AnthropicFormat();
        Map<String, Provider> providers = new LinkedHashMap<>();
        for (ProviderSpec spec : config.providers().values()) {
            String key = spec.apiKeyEnv() == null ? null : env.apply(spec.apiKeyEnv());
            if (spec.apiKeyEnv() != null && key == null) {
                log.warn("provider {}: environment variable {} is not set; its upstream will refuse our calls",
                        spec.name(), spec.apiKeyEnv());
            }
            providers.put(spec.name(), new Provider(spec, spec.kind() == WireApi.ANTHROPIC ? anthropic : openai, key));
        }
        this.providers = List.copyOf(providers.values());
        Portfolio portfolio = new Portfolio(config.tiers(), config.models().values(), providers);
        Map<String, Access> teamAccess = new LinkedHashMap<>();
        config.teams().forEach((name, team) -> teamAccess.put(name, team.access()));

        Metrics metrics = new Metrics();
        Budgets budgets = budgets(config, store, clock);
        Alerts alerts = new Alerts(store.ledgerBook(), config.alerts().webhooks(),
                java.net.http.HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(5)).build(),
                scheduler, clock, java.time.Duration.ofSeconds(1));
        ledger = new Ledger(store.ledgerBook(), store.usageLog(), budgets,
                alerts, new PriceBook(store.ledgerBook(), config.models().values(), clock), clock);
        // A gateway that died left its reservations open. On SQLite this gateway holds the store's lock, so every
        // other owner is dead: settle theirs now. On a shared PostgreSQL, an owner is dead once its heartbeat is a
        // minute old.
        ledger.reconcile(store.postgres() ? java.time.Duration.ofMinutes(1) : java.time.Duration.ZERO);
        every(java.time.Duration.ofSeconds(2), budgets::refresh);
        every(java.time.Duration.ofSeconds(10), ledger::heartbeat);
        every(java.time.Duration.ofSeconds(30), () -> ledger.reconcile(java.time.Duration.ofMinutes(1)));
        // Privacy first, so the ledger reserves for (and the upstream sees) the request as it will be sent.
        privacy = config.privacy() == null ? null : new PrivacyRouter(config.privacy());
        List<CallFilter> filters = privacy == null ? List.of(metrics, ledger) : List.of(metrics, privacy, ledger);
        gateway = new Gateway(portfolio, new Router(config.routing()), teamAccess, filters);

        agentRuntime = agentRuntime(config, store, gateway, clock);

        Authenticator auth = new Authenticator(store.apiKeys(), config.org(), config.auth().keyCacheTtl());
        keyAdmin = new KeyAdmin(store.apiKeys(), config.teams().keySet(), clock);
        HttpApi api = new HttpApi(gateway, auth, keyAdmin, budgets, store.ledgerBook(), clock, openai, anthropic, metrics,
                config.server().maxBodyBytes());
        AgentApi agentApi = new AgentApi(api, agentRuntime, auth, java.time.Duration.ofSeconds(15));
        PrivacyApi privacyApi = new PrivacyApi(api, auth, privacy != null ? privacy
                : new PrivacyRouter(dev.carapace.privacy.PrivacySpec.DEFAULT), privacy != null);

        server = WebServer.builder()
                .host(config.server().host())
                .port(portOverride != null ? portOverride : config.server().port())
                .maxPayloadSize(-1)              // HttpApi enforces the limit itself, with an API-shaped 413
                .connectionOptions(o -> o.tcpNoDelay(true))   // small SSE frames must not wait for delayed ACKs
                .shutdownHook(false)
                .routing(r -> {
                    privacyApi.routes(r);
                    agentApi.routes(r);   // before the API's catch-all
                    api.routes(r);
                })
                .addRouting(AgentSocket.routing(agentRuntime, auth))
                .build()
                .start();
    }

    /** Starts a gateway. {@code env} resolves the environment variables the config names (secrets). */
    public static Carapace start(CarapaceConfig config, Path dataDir, Function<String, String> env, Clock clock,
                                 Integer portOverride) {
        SoleWriter lock = SoleWriter.claim(config.store().jdbcUrl(dataDir));
        try {
            return new Carapace(config, dataDir, env, clock, portOverride, lock);
        } catch (RuntimeException e) {
            lock.release();
            throw e;
        }
    }

    /** The agents of the config and the runtime that runs them, calling models through {@code gateway}. */
    static AgentRuntime agentRuntime(CarapaceConfig config, Store store, Gateway gateway, Clock clock) {
        Agents agents = new Agents(config.agents().values());
        CarapaceConfig.Tools chosen = config.tools();
        List<AgentTool> tools = BuiltinTools.all(
                chosen.exec() == CarapaceConfig.Tools.Exec.LOCAL ? new LocalRunner() : null,
                chosen.webFetch() == CarapaceConfig.Tools.WebFetch.DIRECT ? new DirectEgress() : null);
        return new AgentRuntime(agents, gateway, store.sessions(), new WorkspaceGuard(agents), tools,
                agent -> agentPrincipal(config.org(), agent, store), new RunEvents(), clock);
    }

    /**
     * Whom an agent calls models as: its owner's team (and user), with its own id so its budget applies too. A
     * user-owned agent without a configured team takes the team of its owner's newest active key.
     */
    static Principal agentPrincipal(String org, AgentSpec agent, Store store) {
        AgentSpec.Owner owner = agent.owner();
        String team = owner.team();
        if (team == null) {
            team = store.apiKeys().list().stream()
                    .filter(k -> owner.user().equals(k.user()) && !k.revoked() && k.team() != null)
                    .reduce((first, second) -> second).map(dev.carapace.store.ApiKeys.StoredKey::team).orElse(null);
            if (team == null) {
                throw new ApiException(ApiException.Kind.PERMISSION, "Agent '" + agent.id() + "' is owned by user '"
                        + owner.user() + "', who has no active API key to tell their team; set owner.team in the config.",
                        null, "agent_owner_unresolved", null, false);
            }
        }
        return Principal.agent(org, team, owner.user(), agent.id());
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

    static Store openStore(CarapaceConfig config, Path dataDir, Function<String, String> env) {
        CarapaceConfig.Store s = config.store();
        return Store.open(s.jdbcUrl(dataDir), s.userEnv() == null ? null : env.apply(s.userEnv()),
                s.passwordEnv() == null ? null : env.apply(s.passwordEnv()), s.poolSize());
    }

    /** The budgets of the store, checked against the config's org, teams and tiers; users are those that had a key. */
    static Budgets budgets(CarapaceConfig config, Store store, Clock clock) {
        return new Budgets(store.ledgerBook(), clock, config.org(), config.teams().keySet(),
                new java.util.LinkedHashSet<>(config.tiers()),
                user -> store.apiKeys().list().stream().anyMatch(k -> user.equals(k.user())));
    }

    public int port() { return server.port(); }

    public Store store() { return store; }

    public Gateway gateway() { return gateway; }

    public KeyAdmin keyAdmin() { return keyAdmin; }

    public Ledger ledger() { return ledger; }

    public AgentRuntime agentRuntime() { return agentRuntime; }

    @Override
    public void close() {
        server.stop();
        agentRuntime.close();   // runs end (interrupted, resumable) while the gateway they call still works
        ledger.close();
        providers.forEach(Provider::close);
        scheduler.shutdownNow();
        store.close();
        soleWriter.release();
    }
}
