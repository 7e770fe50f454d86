package dev.carapace.config;

import dev.carapace.agent.AgentSpec;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.IdentityBinding;
import dev.carapace.guard.sandbox.SandboxLimits;
import dev.carapace.guard.sandbox.SandboxUser;
import dev.carapace.model.Access;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.ProviderSpec;
import dev.carapace.model.RoutingPolicy;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.schedule.JobSpec;
import dev.carapace.schedule.heartbeat.HeartbeatSpec;
import dev.carapace.skill.SkillSettings;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The whole configuration, as read from one YAML file by {@link ConfigLoader}. Every map keeps the file's order.
 *
 * @param tiers  the service tiers, cheapest first; {@link #DEFAULT_TIERS} when the file names none
 * @param agents the agents of the {@code agents:} section, then those found in {@code agents/NAME/agent.yaml}
 * @param secrets secret name to reference ({@code env:VAR} or {@code file:/abs/path}) for the egress proxy's
 *                credential injection; values are never in the config and are read only when a request needs them
 * @param privacy the privacy router's settings; null when the file has no {@code privacy:} section (no router runs)
 * @param responses how {@code /v1/responses} keeps the responses it served
 * @param skills  the {@code skills:} section: extra skills folders, the prompt's token budgets, per-skill settings
 */
public record CarapaceConfig(
        Server server,
        Store store,
        String org,
        List<String> tiers,
        Map<String, ProviderSpec> providers,
        Map<String, ModelSpec> models,
        Map<String, Team> teams,
        RoutingPolicy routing,
        Auth auth,
        Logging logging,
        Alerts alerts,
        Map<String, AgentSpec> agents,
        Tools tools,
        Map<String, String> secrets,
        Guard guard,
        Approvals approvals,
        PrivacySpec privacy,
        Responses responses,
        Scheduler scheduler,
        List<JobSpec> jobs,
        Map<String, HeartbeatSpec> heartbeats,
        SkillSettings skills,
        Channels channels,
        Voice voice) {

    public CarapaceConfig {
        if (skills == null) skills = SkillSettings.DEFAULT;
        if (channels == null) channels = Channels.NONE;
        if (voice == null) voice = Voice.DEFAULT;
        if (responses == null) responses = Responses.DEFAULT;
        if (scheduler == null) scheduler = Scheduler.DEFAULT;
        jobs = jobs == null ? List.of() : List.copyOf(jobs);
        heartbeats = heartbeats == null ? Map.of() : Map.copyOf(heartbeats);
    }

    /** As read before jobs and heartbeats existed: none of them, the default scheduler. */
    public CarapaceConfig(Server server, Store store, String org, List<String> tiers, Map<String, ProviderSpec> providers,
                          Map<String, ModelSpec> models, Map<String, Team> teams, RoutingPolicy routing, Auth auth,
                          Logging logging, Alerts alerts, Map<String, AgentSpec> agents, Tools tools,
                          Map<String, String> secrets, Guard guard, Approvals approvals, PrivacySpec privacy,
                          Responses responses) {
        this(server, store, org, tiers, providers, models, teams, routing, auth, logging, alerts, agents, tools, secrets,
                guard, approvals, privacy, responses, null, null, null, null);
    }

    /** As read before skills existed: the default skills settings. */
    public CarapaceConfig(Server server, Store store, String org, List<String> tiers, Map<String, ProviderSpec> providers,
                          Map<String, ModelSpec> models, Map<String, Team> teams, RoutingPolicy routing, Auth auth,
                          Logging logging, Alerts alerts, Map<String, AgentSpec> agents, Tools tools,
                          Map<String, String> secrets, Guard guard, Approvals approvals, PrivacySpec privacy,
                          Responses responses, Scheduler scheduler, List<JobSpec> jobs,
                          Map<String, HeartbeatSpec> heartbeats) {
        this(server, store, org, tiers, providers, models, teams, routing, auth, logging, alerts, agents, tools, secrets,
                guard, approvals, privacy, responses, scheduler, jobs, heartbeats, null);
    }

    /** As read before channels and voice existed: none, and the default voice settings. */
    public CarapaceConfig(Server server, Store store, String org, List<String> tiers, Map<String, ProviderSpec> providers,
                          Map<String, ModelSpec> models, Map<String, Team> teams, RoutingPolicy routing, Auth auth,
                          Logging logging, Alerts alerts, Map<String, AgentSpec> agents, Tools tools,
                          Map<String, String> secrets, Guard guard, Approvals approvals, PrivacySpec privacy,
                          Responses responses, Scheduler scheduler, List<JobSpec> jobs,
                          Map<String, HeartbeatSpec> heartbeats, SkillSettings skills) {
        this(server, store, org, tiers, providers, models, teams, routing, auth, logging, alerts, agents, tools, secrets,
                guard, approvals, privacy, responses, scheduler, jobs, heartbeats, skills, null, null);
    }

    /**
     * The {@code channels:} and {@code identities:} sections.
     *
     * @param channels   the channels, in the file's order
     * @param identities the channel identities the file binds to people (the API and pairings bind more, in the store)
     */
    public record Channels(List<ChannelSpec> channels, List<IdentityBinding> identities) {
        public static final Channels NONE = new Channels(List.of(), List.of());

        public Channels {
            channels = List.copyOf(channels);
            identities = List.copyOf(identities);
        }

        /**
         * Checks a sender as the file's {@code identities:} are checked (its form, and a kind some channel has): for
         * the bindings the API and the CLI make.
         *
         * @throws IllegalArgumentException saying what is wrong
         */
        public static void checkSender(String senderKey) { ChannelsSection.checkSender(senderKey); }
    }

    /** The token-factory tiers: free, ~$3/M, ~$6/M, ~$45/M, ~$150/M. */
    public static final List<String> DEFAULT_TIERS = List.of("free", "mid", "high", "high-speed", "ultra");

    /**
     * @param maxBodyBytes   requests with a larger body are refused with 413
     * @param maxConnections open client connections at most (past it, accepting pauses until one closes); 0 derives
     *                       it from the process's open-files limit
     * @param maxUpstreamConnections open upstream connections at most, every provider together, idle kept-alive ones
     *                       included (past it, a call that cannot get one within a second is refused with 503); 0
     *                       derives it from the process's open-files limit
     * @param metricsTokenEnv the environment variable holding a token that may scrape {@code /metrics} (as
     *                       {@code Authorization: Bearer TOKEN}) besides an admin key, or null: admin keys only
     */
    public record Server(String host, int port, long maxBodyBytes, int maxConnections, int maxUpstreamConnections,
                         String metricsTokenEnv) {
        public static final Server DEFAULT = new Server("127.0.0.1", 8080, 10L * 1024 * 1024, 0, 0, null);
    }

    /**
     * @param url         JDBC URL; null means SQLite at {@code DATA_DIR/carapace.db}
     * @param userEnv     environment variable holding the database user (PostgreSQL), or null
     * @param passwordEnv environment variable holding the database password, or null
     */
    public record Store(String url, String userEnv, String passwordEnv, int poolSize) {
        public static final Store DEFAULT = new Store(null, null, null, 8);

        public String jdbcUrl(Path dataDir) {
            return url != null ? url : "jdbc:sqlite:" + dataDir.resolve("carapace.db").toAbsolutePath();
        }
    }

    /** A team and what its members may use. */
    public record Team(String name, Access access) {}

    /**
     * @param keyCacheTtl how long a verified API key is trusted without asking the store again; a key revoked
     *                    through another process stops working at most this much later
     */
    public record Auth(Duration keyCacheTtl) {
        public static final Auth DEFAULT = new Auth(Duration.ofSeconds(5));
    }

    /**
     * @param json write one JSON object per log line (for log shippers) instead of plain text
     */
    public record Logging(boolean json) {
        public static final Logging DEFAULT = new Logging(false);
    }

    /** @param webhooks where budget alerts are POSTed as JSON */
    public record Alerts(List<java.net.URI> webhooks) {
        public static final Alerts DEFAULT = new Alerts(List.of());

        public Alerts {
            webhooks = List.copyOf(webhooks);
        }
    }

    /**
     * How the tools that reach beyond an agent's workspace run; both are off unless the config turns them on.
     *
     * @param exec     {@code off}; {@code bwrap}: commands run in a bubblewrap sandbox (the workspace and a private
     *                 /tmp writable, the system read-only, nothing else visible, no network but the egress proxy,
     *                 kernel limits from {@code sandbox}); or {@code local}: on this host with no isolation
     * @param webFetch {@code off}; {@code direct}: HTTP GETs leave with no fence; or {@code proxy}: through
     *                 Carapace's egress proxy (SSRF and DNS-rebinding defence, public addresses only until a network
     *                 policy says more)
     * @param sandbox  limits of every sandboxed command ({@code exec: bwrap})
     * @param sandboxUser whom sandboxed commands run as on the host when the gateway runs as root: a user name or
     *                 {@code UID:GID}, never root ({@code nobody} unless set); resolved when the sandbox opens
     */
    public record Tools(Exec exec, WebFetch webFetch, SandboxLimits sandbox, String sandboxUser) {
        public static final Tools DEFAULT = new Tools(Exec.OFF, WebFetch.OFF);

        public Tools {
            if (sandbox == null) sandbox = SandboxLimits.DEFAULT;
            if (sandboxUser == null) sandboxUser = SandboxUser.DEFAULT_SPEC;
        }

        public Tools(Exec exec, WebFetch webFetch, SandboxLimits sandbox) {
            this(exec, webFetch, sandbox, null);
        }

        public Tools(Exec exec, WebFetch webFetch) {
            this(exec, webFetch, SandboxLimits.DEFAULT);
        }

        public enum Exec { OFF, LOCAL, BWRAP }

        public enum WebFetch { OFF, DIRECT, PROXY }
    }

    /**
     * The {@code guard:} section: which policy files apply to which agents, and what an invalid edit of one does.
     *
     * @param policies        by name, in file order; empty means no policy engine
     * @param onInvalidReload {@code keep} the last valid policy (default), or {@code fail_closed}: deny everything
     */
    public record Guard(Map<String, PolicyRef> policies, OnInvalidReload onInvalidReload) {
        public static final Guard NONE = new Guard(Map.of(), OnInvalidReload.KEEP);

        public Guard {
            policies = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(policies));
        }

        /**
         * @param file   absolute path of the policy file
         * @param agents agent ids it applies to ({@code *}: every agent); agents naming it in {@code policy:} are
         *               included
         * @param teams  it applies to the agents owned by these teams
         */
        public record PolicyRef(String name, Path file, List<String> agents, List<String> teams) {
            public PolicyRef {
                agents = List.copyOf(agents);
                teams = List.copyOf(teams);
            }
        }

        public enum OnInvalidReload { KEEP, FAIL_CLOSED }
    }

    /**
     * Human approvals of guard decisions that ask.
     *
     * @param timeout how long a run waits for an operator before the call is denied ("approval timed out"); an
     *                agent's max_wall still bounds the whole run
     */
    public record Approvals(Duration timeout) {
        public static final Approvals DEFAULT = new Approvals(Duration.ofMinutes(5));
    }

    /**
     * The {@code responses:} section: the responses {@code POST /v1/responses} served, kept per API key for
     * {@code previous_response_id} and {@code GET /v1/responses/{id}}.
     *
     * @param store     whether a request with {@code store: true} (the API's default) is kept; when false, every
     *                  response is served unstored and {@code previous_response_id} is refused, saying why
     * @param retention how long a stored response is kept; expired ones are deleted
     */
    public record Responses(boolean store, Duration retention) {
        public static final Responses DEFAULT = new Responses(true, Duration.ofDays(30));
    }

    /**
     * The {@code scheduler:} section: how jobs are picked and run.
     *
     * @param minInterval the shortest interval (and cron period) a job may have
     * @param poll        how often the shared table of due jobs is read: a due run starts up to this late
     * @param heartbeat   how often a gateway says it still runs its jobs; after 6 missed, another gateway takes over
     *                    (the run is marked interrupted)
     * @param threads     jobs one gateway runs at once
     * @param deliverSecrets names (in {@code secrets:}) of the keys jobs' results are signed with (Standard
     *                    Webhooks); empty: results go unsigned (still retried), with a warning at start
     * @param deliverAttempts attempts at delivering a job's result before it is given up
     */
    public record Scheduler(Duration minInterval, Duration poll, Duration heartbeat, int threads,
                            List<String> deliverSecrets, int deliverAttempts) {
        public static final int DEFAULT_DELIVER_ATTEMPTS = 8;
        public static final Scheduler DEFAULT = new Scheduler(Duration.ofMinutes(1), Duration.ofSeconds(1),
                Duration.ofSeconds(10), 10, List.of(), DEFAULT_DELIVER_ATTEMPTS);

        public Scheduler {
            deliverSecrets = List.copyOf(deliverSecrets);
        }
    }

    /**
     * The {@code voice:} section: which models the gateway's own voice uses (for channels that take voice notes and
     * answer aloud: {@code server.adapter.GatewayVoice}), and the limits of the audio endpoints.
     *
     * @param transcriptionModel the model (or {@code tier:NAME}) a voice note is transcribed by, or null for the first
     *                           transcription model of the portfolio
     * @param speechModel        the model a reply is spoken by, or null for the first speech model
     * @param speechVoice        the voice a reply is spoken in ({@code alloy}; a local espeak deployment speaks its own)
     * @param maxAudioBytes      the largest audio file {@code /v1/audio/transcriptions} takes (OpenAI's limit: 25 MB);
     *                           a larger body is refused with 413 before it is read
     */
    public record Voice(String transcriptionModel, String speechModel, String speechVoice, long maxAudioBytes) {
        public static final Voice DEFAULT = new Voice(null, null, "alloy", 25L * 1024 * 1024);
    }

    /** A config with nothing configured: the default tiers, no providers, no models. */
    public static CarapaceConfig empty() {
        return new CarapaceConfig(Server.DEFAULT, Store.DEFAULT, "default", DEFAULT_TIERS, Map.of(), Map.of(), Map.of(),
                RoutingPolicy.DEFAULT, Auth.DEFAULT, Logging.DEFAULT, Alerts.DEFAULT, Map.of(), Tools.DEFAULT, Map.of(), Guard.NONE,
                Approvals.DEFAULT, null, Responses.DEFAULT);
    }
}
