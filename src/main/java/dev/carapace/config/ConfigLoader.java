package dev.carapace.config;

import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.tools.BuiltinTools;
import dev.carapace.config.CarapaceConfig.Alerts;
import dev.carapace.config.CarapaceConfig.Approvals;
import dev.carapace.config.CarapaceConfig.Auth;
import dev.carapace.config.CarapaceConfig.Logging;
import dev.carapace.config.CarapaceConfig.Server;
import dev.carapace.config.CarapaceConfig.Store;
import dev.carapace.config.CarapaceConfig.Team;
import dev.carapace.config.CarapaceConfig.Tools;
import dev.carapace.guard.egress.SecretStore;
import dev.carapace.fs.RealPaths;
import dev.carapace.guard.policy.Policy;
import dev.carapace.guard.policy.PolicyException;
import dev.carapace.guard.policy.PolicyLoader;
import dev.carapace.guard.sandbox.SandboxLimits;
import dev.carapace.guard.sandbox.SandboxUser;
import dev.carapace.model.Access;
import dev.carapace.model.DeploymentSpec;
import dev.carapace.model.ModelKind;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.Price;
import dev.carapace.model.PrivacyClass;
import dev.carapace.model.ProviderSpec;
import dev.carapace.model.RoutingPolicy;
import dev.carapace.model.WireApi;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problem;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.ListNode;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.MalformedInputException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Reads the YAML config file into a {@link CarapaceConfig}, checking everything and reporting every problem at
 * once, each with its line, column and key path. See {@code carapace.example.yaml} for the format.
 *
 * <p>{@link #load} is for starting the server: it returns the config or throws. {@link #check} also returns the
 * warnings (an environment variable that is not set, a tier without models), which do not stop loading.
 */
public final class ConfigLoader {

    /**
     * What {@link #check} found.
     *
     * @param config   the config; null when there are errors
     * @param errors   in file order
     * @param warnings in file order
     */
    public record Result(CarapaceConfig config, List<Problem> errors, List<Problem> warnings) {
        public Result {
            errors = List.copyOf(errors);
            warnings = List.copyOf(warnings);
        }
    }

    static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
    static final Pattern MODEL_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}");
    static final Pattern ENV_NAME = Pattern.compile("[A-Z_][A-Z0-9_]*");
    private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    private static final Pattern URL_PASSWORD = Pattern.compile("(?i)[?&;]password=");

    private static final String NAME_RULE = "lowercase letters, digits, '_' and '-', starting with a letter or digit, "
            + "at most 63 characters";
    private static final Set<String> SECRET_WORDS =
            Set.of("api_key", "apikey", "password", "passwd", "secret", "token", "authorization");
    private static final Set<String> MANAGED_HEADERS =
            Set.of("host", "content-length", "content-type", "transfer-encoding", "connection", "upgrade", "expect", "te");
    private static final Set<String> NAMED_SECTIONS = Set.of("providers", "models", "teams", "agents");
    private static final Map<String, AgentSpec.OnBusy> ON_BUSY = options(AgentSpec.OnBusy.values());
    private static final Map<String, Tools.Exec> EXEC = options(Tools.Exec.values());
    private static final Map<String, Tools.WebFetch> WEB_FETCH = options(Tools.WebFetch.values());
    /** Where agents are found besides the {@code agents:} section: {@code agents/NAME/agent.yaml} next to the config. */
    static final String AGENTS_DIR = "agents";
    static final String AGENT_FILE = "agent.yaml";
    /**
     * A discovered agent's default workspace, inside its folder: not the folder itself, which holds its
     * {@code agent.yaml} (an agent must never be able to rewrite its own definition).
     */
    static final String DISCOVERED_WORKSPACE = "workspace";

    /** Provider kinds: the API each upstream speaks. */
    private static final Map<String, WireApi> KINDS = kinds();
    private static final Map<String, PrivacyClass> PRIVACY = options(PrivacyClass.values());
    private static final Map<String, ModelKind> MODEL_KINDS = options(ModelKind.values());

    private static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(120);

    private final Problems problems;
    private final Function<String, String> env;
    /** The config file's directory: what relative paths (agent workspaces) are relative to. */
    private final Path baseDir;
    /** Where agent folders are discovered; null when checking text that has no file. */
    private final Path agentsDir;
    /** The problems of each discovered agent file, reported with the config's own. */
    private final List<Problems> agentFiles = new ArrayList<>();
    /** The tier names as written, for warnings; empty when the file uses the default tiers. */
    private final Map<String, Scalar> tierNodes = new LinkedHashMap<>();

    /** The config file being read, or null when checking text that has no file. */
    private Path configFile;
    /** Where each agent's workspace was set (or defaulted), shared with the loaders of discovered agent files. */
    private List<Site> workspaceSites = new ArrayList<>();
    /** Where each guard policy was named, and the policy when it loaded. */
    private final List<PolicySite> policySites = new ArrayList<>();
    /** The discovered {@code agents/NAME/agent.yaml} files, whether or not they loaded. */
    private final List<Path> definitionFiles = new ArrayList<>();

    /** A key (or a whole file, at 1:1) that a layout problem is reported at. */
    private record Site(String name, Path path, Problems problems, int line, int column, String keyPath) {}

    private record PolicySite(Site site, Policy policy) {}

    private ConfigLoader(Problems problems, Function<String, String> env, Path baseDir, Path agentsDir) {
        this.problems = problems;
        this.env = env;
        this.baseDir = baseDir;
        this.agentsDir = agentsDir;
    }

    // ---- public surface ----------------------------------------------------------------------------------------

    /** Reads and checks {@code file}; throws listing every error. Warnings are not reported: see {@link #check}. */
    public static CarapaceConfig load(Path file) throws ConfigException {
        return configOrThrow(check(file));
    }

    /** Same as {@link #load(Path)}, for YAML text; {@code fileName} is only used in messages. */
    public static CarapaceConfig load(String yamlText, String fileName) throws ConfigException {
        return configOrThrow(check(yamlText, fileName, System::getenv));
    }

    /** Reads and checks {@code file}, looking up environment variables with {@link System#getenv(String)}. */
    public static Result check(Path file) {
        return check(file, System::getenv);
    }

    /**
     * Reads and checks {@code file}.
     *
     * @param env looks up environment variables; only used to warn about variables that are not set
     */
    public static Result check(Path file, Function<String, String> env) {
        String name = file.toString();
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            return fileProblem(name, "file not found");
        } catch (AccessDeniedException e) {
            return fileProblem(name, "cannot read the file: permission denied");
        } catch (MalformedInputException e) {
            return fileProblem(name, "the file is not UTF-8 text");
        } catch (IOException e) {
            return fileProblem(name, "cannot read the file: " + e);
        }
        Path dir = file.toAbsolutePath().getParent();
        return check(text, name, env, dir, dir.resolve(AGENTS_DIR), file.toAbsolutePath());
    }

    /**
     * Checks YAML text; {@code fileName} is only used in messages. Relative agent workspaces are relative to the
     * current directory, and no {@code agents/} folder is searched (there is no file to search next to).
     */
    public static Result check(String yamlText, String fileName, Function<String, String> env) {
        return check(yamlText, fileName, env, Path.of("").toAbsolutePath(), null, null);
    }

    private static Result check(String yamlText, String fileName, Function<String, String> env, Path baseDir,
                                Path agentsDir, Path configFile) {
        Problems problems = new Problems(fileName);
        Node root = MapReader.parse(yamlText, problems);
        CarapaceConfig config = null;
        ConfigLoader loader = new ConfigLoader(problems, env, baseDir, agentsDir);
        loader.configFile = configFile;
        if (root instanceof MapNode map) {
            config = loader.config(map);
        } else if (root != null) {
            problems.error(root.line(), root.column(), "",
                    "expected settings (key: value lines) at the top level, got " + YamlTree.describe(root));
        }
        List<Problem> errors = new ArrayList<>(problems.errors());
        List<Problem> warnings = new ArrayList<>(problems.warnings());
        for (Problems p : loader.agentFiles) {
            errors.addAll(p.errors());
            warnings.addAll(p.warnings());
        }
        return new Result(errors.isEmpty() ? config : null, errors, warnings);
    }

    private static Result fileProblem(String file, String message) {
        return new Result(null, List.of(new Problem(file, 0, 0, "", message)), List.of());
    }

    private static CarapaceConfig configOrThrow(Result result) throws ConfigException {
        if (!result.errors().isEmpty()) {
            throw new ConfigException(result.errors());
        }
        return result.config();
    }

    // ---- the whole file ----------------------------------------------------------------------------------------

    private CarapaceConfig config(MapNode rootNode) {
        refuseSecrets(rootNode);
        MapReader root = MapReader.root(rootNode, problems);
        Server server = server(root.object("server"));
        Store store = store(root.object("store"));
        String org = org(root);
        List<String> tiers = tiers(root);
        Map<String, ProviderSpec> providers = providers(root);
        Map<String, ModelSpec> models = models(root, tiers, providers);
        Map<String, Team> teams = teams(root, tiers, models);
        RoutingPolicy routing = routing(root.object("routing"));
        Auth auth = auth(root.object("auth"));
        Logging logging = logging(root.object("logging"));
        Alerts alerts = alerts(root.object("alerts"));
        Tools tools = tools(root.object("tools"));
        GuardSection guard = guard(root.object("guard"));
        Map<String, AgentSpec> agents = agents(root, tiers, models, teams, tools);
        Map<String, String> secrets = secrets(root);
        CarapaceConfig.Guard checkedGuard = guard.check(agents, teams);
        checkLayout(secrets);
        Approvals approvals = approvals(root.object("approvals"));
        PrivacySpec privacy = root.entry("privacy") == null ? null : PrivacySection.read(root.object("privacy"), teams.keySet(),
                agents.keySet(), problems);
        CarapaceConfig.Responses responses = responses(root.object("responses"));
        root.finish();
        warnAboutEmptyTiers(rootNode, tiers, models);
        return new CarapaceConfig(server, store, org, tiers, providers, models, teams, routing, auth, logging, alerts, agents,
                tools, secrets, checkedGuard, approvals, privacy, responses);
    }

    // ---- sections, in file order -------------------------------------------------------------------------------

    private Server server(MapReader r) {
        Server d = Server.DEFAULT;
        String host = r.string("host", "a host name or IP address to listen on", d.host());
        int port = r.integer("port", 1, 65535, d.port());
        long maxBodyBytes = r.size("max_body_bytes", 1, Integer.MAX_VALUE, d.maxBodyBytes());
        int maxConnections = r.integer("max_connections", 1, 1_000_000, d.maxConnections());
        int maxUpstreamConnections = r.integer("max_upstream_connections", 1, 1_000_000, d.maxUpstreamConnections());
        r.finish();
        return new Server(host, port, maxBodyBytes, maxConnections, maxUpstreamConnections);
    }

    private Store store(MapReader r) {
        String url = r.string("url", "a JDBC URL starting with jdbc:sqlite: or jdbc:postgresql:", null);
        if (url != null) {
            Scalar at = (Scalar) r.value("url");
            if (URL_PASSWORD.matcher(url).find() || url.matches("jdbc:[a-z]+://[^/@]*:[^/@]*@.*")) {
                r.error(at, "url", secretMessage("password_env"));
            } else if (!url.startsWith("jdbc:sqlite:") && !url.startsWith("jdbc:postgresql:")) {
                r.error(at, "url", "expected a JDBC URL starting with jdbc:sqlite: or jdbc:postgresql:, got "
                        + YamlTree.describe(at));
            }
        }
        String userEnv = envName(r, "user_env");
        String passwordEnv = envName(r, "password_env");
        boolean postgres = url != null && url.startsWith("jdbc:postgresql:");
        for (String key : List.of("user_env", "password_env")) {
            Node at = r.value(key);
            if (!postgres && at != null) {
                problems.warning(at.line(), at.column(), r.pathOf(key), "only used with PostgreSQL (store.url is "
                        + (url == null ? "not set, so SQLite is used" : "not a PostgreSQL URL") + ")");
            }
        }
        int poolSize = r.integer("pool_size", 1, 256, Store.DEFAULT.poolSize());
        r.finish();
        return new Store(url, userEnv, passwordEnv, poolSize);
    }

    private String org(MapReader r) {
        Scalar s = r.scalar("org", "an organisation name (" + NAME_RULE + ")");
        if (s == null) {
            return "default";
        }
        checkName(s.line(), s.column(), r.pathOf("org"), s.text(), "organisation name");
        return s.text();
    }

    private List<String> tiers(MapReader r) {
        List<Scalar> items = r.scalars("tiers", "a list of tier names", "a tier name");
        if (items == null) {
            return CarapaceConfig.DEFAULT_TIERS;
        }
        Node list = r.value("tiers");
        if (((ListNode) list).items().isEmpty()) {
            r.error(list, "tiers", "must name at least one tier (leave the key out for the default tiers: "
                    + String.join(", ", CarapaceConfig.DEFAULT_TIERS) + ")");
        }
        List<String> tiers = new ArrayList<>();
        for (Scalar s : items) {
            String path = r.pathOf("tiers");
            if (!checkName(s.line(), s.column(), path, s.text(), "tier name")) {
                continue;
            }
            Scalar first = tierNodes.putIfAbsent(s.text(), s);
            if (first != null) {
                problems.error(s.line(), s.column(), path,
                        "tier '" + s.text() + "' is listed twice (first at line " + first.line() + ")");
            } else {
                tiers.add(s.text());
            }
        }
        return List.copyOf(tiers);
    }

    private Map<String, ProviderSpec> providers(MapReader root) {
        Map<String, ProviderSpec> providers = new LinkedHashMap<>();
        for (Entry e : root.entries("providers")) {
            providers.put(e.key(), provider(e));
        }
        return Collections.unmodifiableMap(providers);
    }

    private ProviderSpec provider(Entry e) {
        String path = KeyPath.key("providers", e.key());
        checkName(e.line(), e.column(), path, e.key(), "provider name");
        MapReader r = MapReader.of(e.value(), path, e.line(), e.column(), problems);
        WireApi kind = r.requiredChoice("kind", KINDS);
        URI baseUrl = baseUrl(r);
        String apiKeyEnv = envName(r, "api_key_env");
        Duration connectTimeout = r.duration("connect_timeout", Duration.ofMillis(1), DEFAULT_CONNECT_TIMEOUT);
        Duration readTimeout = r.duration("read_timeout", Duration.ofMillis(1), DEFAULT_READ_TIMEOUT);
        Map<String, String> headers = headers(r);
        r.finish();
        return new ProviderSpec(e.key(), kind, baseUrl, apiKeyEnv, connectTimeout, readTimeout, headers);
    }

    /** An absolute http(s) URL without credentials, query or fragment; a trailing '/' is dropped. */
    private URI baseUrl(MapReader r) {
        String what = "an absolute http(s) URL like https://api.openai.com/v1";
        Scalar s = r.requiredScalar("base_url", what);
        if (s == null) {
            return null;
        }
        URI uri;
        try {
            uri = new URI(s.text().trim());
        } catch (URISyntaxException ex) {
            r.error(s, "base_url", "expected " + what + ", got " + YamlTree.describe(s) + " (" + ex.getReason() + ")");
            return null;
        }
        if (uri.getRawUserInfo() != null) {
            r.error(s, "base_url", secretMessage("api_key_env"));
            return null;
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!uri.isAbsolute() || !(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
            r.error(s, "base_url", "expected " + what + ", got " + YamlTree.describe(s));
            return null;
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
            r.error(s, "base_url", "must not have a query (?...) or fragment (#...); request paths are appended to it");
            return null;
        }
        String text = uri.toString();
        while (text.endsWith("/")) {
            text = text.substring(0, text.length() - 1);
        }
        return URI.create(text);
    }

    private Map<String, String> headers(MapReader r) {
        Map<String, String> headers = new LinkedHashMap<>();
        Map<String, Entry> seen = new HashMap<>();
        for (Entry h : r.entries("headers")) {
            String path = KeyPath.key(r.pathOf("headers"), h.key());
            String lower = h.key().toLowerCase(Locale.ROOT);
            if (!HEADER_NAME.matcher(h.key()).matches()) {
                problems.error(h.line(), h.column(), path, "invalid header name '" + h.key() + "'");
                continue;
            }
            if (isSecretHeader(lower)) {
                problems.error(h.line(), h.column(), path, secretMessage("api_key_env")
                        + "; the provider sends the key in the header its API expects");
                continue;
            }
            if (MANAGED_HEADERS.contains(lower)) {
                problems.error(h.line(), h.column(), path,
                        "header '" + h.key() + "' is set by Carapace for each request and cannot be configured");
                continue;
            }
            Entry first = seen.putIfAbsent(lower, h);
            if (first != null) {
                problems.error(h.line(), h.column(), path, "header '" + h.key() + "' is already given at line "
                        + first.line() + " (header names ignore case)");
                continue;
            }
            if (h.value() instanceof Scalar s && s.isOpaque()) {
                continue;
            }
            if (!(h.value() instanceof Scalar value) || value.isNull()) {
                problems.error(h.value().line(), h.value().column(), path,
                        "expected the header's value as text, got " + YamlTree.describe(h.value()));
                continue;
            }
            if (value.text().indexOf('\r') >= 0 || value.text().indexOf('\n') >= 0) {
                problems.error(value.line(), value.column(), path, "a header value must be on one line");
                continue;
            }
            headers.put(h.key(), value.text());
        }
        return headers;
    }

    private Map<String, ModelSpec> models(MapReader root, List<String> tiers, Map<String, ProviderSpec> providers) {
        Map<String, ModelSpec> models = new LinkedHashMap<>();
        for (Entry e : root.entries("models")) {
            models.put(e.key(), model(e, tiers, providers));
        }
        return Collections.unmodifiableMap(models);
    }

    private ModelSpec model(Entry e, List<String> tiers, Map<String, ProviderSpec> providers) {
        String id = e.key();
        String path = KeyPath.key("models", id);
        if (id.startsWith("tier:")) {
            problems.error(e.line(), e.column(), path,
                    "a model id must not start with 'tier:' (clients use tier:NAME to ask for a whole tier)");
        } else if (!MODEL_ID.matcher(id).matches()) {
            problems.error(e.line(), e.column(), path, "invalid model id '" + id + "' (expected letters, digits, "
                    + "'.', '_', ':', '/' and '-', starting with a letter or digit, at most 128 characters)");
        }
        MapReader r = MapReader.of(e.value(), path, e.line(), e.column(), problems);
        String tier = reference(r, "tier", tiers, "tier");
        PrivacyClass privacy = r.choice("privacy", PRIVACY, PrivacyClass.EXTERNAL);
        ModelKind kind = r.choice("kind", MODEL_KINDS, ModelKind.CHAT);
        boolean embedding = kind == ModelKind.EMBEDDING;
        int contextWindow = r.requiredInteger("context_window", 1, Integer.MAX_VALUE);
        // An embedding model produces no tokens: it has no output limit, and no output price.
        int maxOutputTokens = embedding ? 0 : r.requiredInteger("max_output_tokens", 1, Integer.MAX_VALUE);
        if (embedding && r.value("max_output_tokens") != null) {
            r.error(r.value("max_output_tokens"), "max_output_tokens", "an embedding model produces no output tokens; remove it");
        }
        if (contextWindow > 0 && maxOutputTokens > contextWindow) {
            r.error(r.value("max_output_tokens"), "max_output_tokens", "must not be more than context_window ("
                    + contextWindow + "), got " + maxOutputTokens);
        }
        double speedTarget = r.positiveNumber("speed_target", 0);
        double tokenizerFactor = r.positiveNumber("tokenizer_factor", 0);
        if (tokenizerFactor != 0 && (tokenizerFactor < 1 || tokenizerFactor > 10)) {
            r.error(r.value("tokenizer_factor"), "tokenizer_factor", "must be from 1 to 10 (this model's tokens per"
                    + " o200k token, for budget reservations), got " + tokenizerFactor);
        }
        Price price = price(r.requiredObject("price", embedding ? "USD per million tokens: {input: ...}"
                : "USD per million tokens: {input: ..., output: ...}"), embedding);
        List<DeploymentSpec> deployments = deployments(r, id, providers);
        if (embedding) {
            for (DeploymentSpec d : deployments) {
                ProviderSpec p = providers.get(d.provider());
                if (p != null && p.kind() != WireApi.OPENAI) {
                    String label = KINDS.entrySet().stream().filter(k -> k.getValue() == p.kind()).findFirst()
                            .map(Map.Entry::getKey).orElse(p.kind().name());
                    r.error(r.value("deployments"), "deployments", "provider '" + d.provider() + "' is of kind "
                            + label + ", which serves no embeddings; an"
                            + " embedding model needs providers of kind openai (POST /embeddings)");
                }
            }
        }
        r.finish();
        return new ModelSpec(id, tier, price, contextWindow, maxOutputTokens, speedTarget, privacy, deployments, kind,
                tokenizerFactor);
    }

    private Price price(MapReader r, boolean embedding) {
        BigDecimal input = r.requiredDecimal("input");
        BigDecimal output = embedding ? r.decimal("output", BigDecimal.ZERO) : r.requiredDecimal("output");
        BigDecimal cachedInput = r.decimal("cached_input", input);
        r.finish();
        return new Price(input, output, cachedInput);
    }

    private List<DeploymentSpec> deployments(MapReader r, String id, Map<String, ProviderSpec> providers) {
        ListNode list = r.requiredList("deployments", "a list of deployments, each '- provider: NAME'");
        if (list == null) {
            return List.of();
        }
        if (list.items().isEmpty()) {
            r.error(list, "deployments", "must list at least one deployment ('- provider: NAME')");
        }
        List<DeploymentSpec> deployments = new ArrayList<>();
        for (int i = 0; i < list.items().size(); i++) {
            Node item = list.items().get(i);
            MapReader d = MapReader.of(item, KeyPath.index(r.pathOf("deployments"), i), item.line(), item.column(),
                    problems);
            String provider = reference(d, "provider", providers.keySet(), "provider");
            String upstreamModel = d.string("model", "the model's name at the provider", id);
            d.finish();
            deployments.add(new DeploymentSpec(provider, upstreamModel));
        }
        return deployments;
    }

    private Map<String, Team> teams(MapReader root, List<String> tiers, Map<String, ModelSpec> models) {
        Map<String, Team> teams = new LinkedHashMap<>();
        for (Entry e : root.entries("teams")) {
            String path = KeyPath.key("teams", e.key());
            checkName(e.line(), e.column(), path, e.key(), "team name");
            MapReader r = MapReader.of(e.value(), path, e.line(), e.column(), problems);
            Set<String> teamTiers = references(r, "tiers", tiers, "tier");
            Set<String> teamModels = references(r, "models", models.keySet(), "model");
            Scalar downgrade = r.scalar("downgrade_to", "a tier name");
            String downgradeTier = null;
            if (downgrade != null) {
                if (tiers.contains(downgrade.text())) {
                    downgradeTier = downgrade.text();
                } else {
                    r.error(downgrade, "downgrade_to", unknownReference(downgrade.text(), tiers, "tier"));
                }
            }
            r.finish();
            teams.put(e.key(), new Team(e.key(), new Access(teamTiers, teamModels, downgradeTier)));
        }
        return Collections.unmodifiableMap(teams);
    }

    private RoutingPolicy routing(MapReader r) {
        RoutingPolicy d = RoutingPolicy.DEFAULT;
        int maxAttempts = r.integer("max_attempts", 1, 10, d.maxAttempts());
        int failureThreshold = r.integer("failure_threshold", 1, 100, d.failureThreshold());
        Duration cooldown = r.duration("cooldown", Duration.ZERO, d.cooldown());
        r.finish();
        return new RoutingPolicy(maxAttempts, failureThreshold, cooldown);
    }

    private Auth auth(MapReader r) {
        Duration keyCacheTtl = r.duration("key_cache_ttl", Duration.ZERO, Auth.DEFAULT.keyCacheTtl());
        r.finish();
        return new Auth(keyCacheTtl);
    }

    private Logging logging(MapReader r) {
        boolean json = r.bool("json", Logging.DEFAULT.json());
        r.finish();
        return new Logging(json);
    }

    private Tools tools(MapReader r) {
        Tools.Exec exec = r.choice("exec", EXEC, Tools.DEFAULT.exec());
        Tools.WebFetch webFetch = r.choice("web_fetch", WEB_FETCH, Tools.DEFAULT.webFetch());
        SandboxLimits sandbox = sandbox(r.object("sandbox"));
        String user = r.string("sandbox_user", "a user name or UID:GID", null);
        String problem = user == null ? null : SandboxUser.problem(user);
        if (problem != null) {
            r.error(r.scalar("sandbox_user", "a user name or UID:GID"), "sandbox_user", problem);
            user = null;
        }
        r.finish();
        return new Tools(exec, webFetch, sandbox, user);
    }

    private SandboxLimits sandbox(MapReader r) {
        SandboxLimits d = SandboxLimits.DEFAULT;
        long mib = 1024 * 1024;
        Duration cpu = r.duration("cpu_time", Duration.ofSeconds(1), d.cpuTime());
        long memory = r.size("memory", 16 * mib, Long.MAX_VALUE / 2, d.memoryBytes());
        int processes = r.integer("processes", 4, 1_000_000, d.processes());
        long fileSize = r.size("file_size", 1, Long.MAX_VALUE / 2, d.fileBytes());
        long tmp = r.size("tmp_size", mib, Long.MAX_VALUE / 2, d.tmpBytes());
        int openFiles = r.integer("open_files", 16, 1_048_576, d.openFiles());
        r.finish();
        return new SandboxLimits(cpu, memory, processes, fileSize, tmp, openFiles);
    }

    /**
     * {@code secrets: {NAME: env:VAR | file:/abs/path}}: references only. A value that is not a reference is refused
     * without being echoed (it may be the secret itself).
     */
    private Map<String, String> secrets(MapReader root) {
        Map<String, String> secrets = new LinkedHashMap<>();
        for (Entry e : root.entries("secrets")) {
            String path = KeyPath.key("secrets", e.key());
            if (!(e.value() instanceof Scalar s) || s.isNull() || s.isOpaque()) {
                problems.error(e.line(), e.column(), path, "expected a reference, env:VAR or file:/absolute/path");
                continue;
            }
            String problem = SecretStore.problem(e.key(), s.text());
            if (problem != null) {
                problems.error(s.line(), s.column(), path, problem);
            } else {
                secrets.put(e.key(), s.text());
            }
        }
        return Collections.unmodifiableMap(secrets);
    }

    // ---- guard -------------------------------------------------------------------------------------------------

    private static final Map<String, CarapaceConfig.Guard.OnInvalidReload> ON_INVALID = options(CarapaceConfig.Guard.OnInvalidReload.values());
    /** Names of guard.policies, read before the agents so an agent's {@code policy:} can be checked. */
    private Set<String> guardPolicies = Set.of();

    /** One {@code guard.policies} entry as written, checked against the agents and teams once they are known. */
    private record PolicyEntry(String name, Path file, List<Scalar> agents, List<Scalar> teams, String path) {}

    /** The guard section before the agents are known. */
    private final class GuardSection {
        final List<PolicyEntry> entries = new ArrayList<>();
        CarapaceConfig.Guard.OnInvalidReload onInvalid = CarapaceConfig.Guard.OnInvalidReload.KEEP;

        CarapaceConfig.Guard check(Map<String, AgentSpec> agents, Map<String, Team> teams) {
            Map<String, CarapaceConfig.Guard.PolicyRef> refs = new LinkedHashMap<>();
            for (PolicyEntry e : entries) {
                List<String> as = new ArrayList<>();
                for (Scalar s : e.agents()) {
                    if (!s.text().equals("*") && !agents.containsKey(s.text())) {
                        problems.error(s.line(), s.column(), KeyPath.key(e.path(), "agents"),
                                unknownReference(s.text(), agents.keySet(), "agent") + "; or * for every agent");
                    } else {
                        as.add(s.text());
                    }
                }
                for (AgentSpec a : agents.values()) {
                    if (e.name().equals(a.policy()) && !as.contains(a.id()) && !as.contains("*")) as.add(a.id());
                }
                List<String> ts = new ArrayList<>();
                for (Scalar s : e.teams()) {
                    if (!teams.containsKey(s.text())) {
                        problems.error(s.line(), s.column(), KeyPath.key(e.path(), "teams"),
                                unknownReference(s.text(), teams.keySet(), "team"));
                    } else {
                        ts.add(s.text());
                    }
                }
                refs.put(e.name(), new CarapaceConfig.Guard.PolicyRef(e.name(), e.file(), as, ts));
            }
            return new CarapaceConfig.Guard(refs, onInvalid);
        }
    }

    private GuardSection guard(MapReader r) {
        GuardSection g = new GuardSection();
        g.onInvalid = r.choice("on_invalid_reload", ON_INVALID, g.onInvalid);
        for (Entry e : r.entries("policies")) {
            String path = KeyPath.key(KeyPath.key(r.path(), "policies"), e.key());
            checkName(e.line(), e.column(), path, e.key(), "policy name");
            MapReader p = MapReader.of(e.value(), path, e.line(), e.column(), problems);
            Scalar fileAt = p.requiredScalar("file", "the policy file (relative to this config)");
            List<Scalar> agents = p.scalars("agents", "a list of agent ids", "an agent id or *");
            List<Scalar> teams = p.scalars("teams", "a list of team names", "a team name");
            p.finish();
            if (fileAt == null) continue;
            Path file;
            try {
                file = baseDir.resolve(fileAt.text()).toAbsolutePath().normalize();
            } catch (java.nio.file.InvalidPathException ex) {
                p.error(fileAt, "file", "not a valid path: " + YamlTree.describe(fileAt));
                continue;
            }
            checkPolicyFile(fileAt, p.pathOf("file"), file, e.key());
            g.entries.add(new PolicyEntry(e.key(), file, agents == null ? List.of() : agents,
                    teams == null ? List.of() : teams, path));
        }
        r.finish();
        Set<String> names = new LinkedHashSet<>();
        g.entries.forEach(e -> names.add(e.name()));
        guardPolicies = Set.copyOf(names);
        return g;
    }

    /** The policy file must exist and load: its own problems are reported with their own file and line. */
    private void checkPolicyFile(Scalar at, String path, Path file, String name) {
        if (!Files.isRegularFile(file)) {
            problems.error(at.line(), at.column(), path, "policy file '" + file + "' does not exist");
            return;
        }
        try {
            policySites.add(new PolicySite(new Site(name, file, problems, at.line(), at.column(), path),
                    PolicyLoader.load(file, name)));
        } catch (PolicyException ex) {
            Problems fileProblems = new Problems(file.toString());
            agentFiles.add(fileProblems);
            for (var pr : ex.problems()) fileProblems.error(pr.line(), pr.column(), pr.path(), pr.message());
        }
    }

    private Approvals approvals(MapReader r) {
        Duration timeout = r.duration("timeout", Duration.ofSeconds(1), Approvals.DEFAULT.timeout());
        r.finish();
        return new Approvals(timeout);
    }

    private CarapaceConfig.Responses responses(MapReader r) {
        CarapaceConfig.Responses d = CarapaceConfig.Responses.DEFAULT;
        boolean store = r.bool("store", d.store());
        Duration retention = r.duration("retention", Duration.ofMinutes(1), d.retention());
        r.finish();
        return new CarapaceConfig.Responses(store, retention);
    }

    private Alerts alerts(MapReader r) {
        List<java.net.URI> hooks = new ArrayList<>();
        List<Scalar> items = r.scalars("webhooks", "a list of webhook URLs", "an absolute http(s) URL");
        for (Scalar s : items == null ? List.<Scalar>of() : items) {
            try {
                java.net.URI u = new java.net.URI(s.text());
                if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null) {
                    throw new java.net.URISyntaxException(s.text(), "not an absolute http(s) URL");
                }
                if (u.getUserInfo() != null) {
                    r.error(s, "webhooks", "a webhook URL must not carry a user or password");
                    continue;
                }
                hooks.add(u);
            } catch (java.net.URISyntaxException ex) {
                r.error(s, "webhooks", "expected an absolute http(s) URL, got " + YamlTree.describe(s));
            }
        }
        r.finish();
        return new Alerts(hooks);
    }

    // ---- layout: what agents can write ---------------------------------------------------------------------------

    /**
     * Agents' workspaces must not overlap, and none of them nor any policy's read_write root may hold what steers the
     * gateway: the config file, agent definitions (and the folder they are found in), policy files, secret files.
     * Compared by real path. (The data folder is not named in the config: {@code serve} and {@code config check}
     * check it with {@link WritableRoots#dataDirProblem}.)
     */
    /** How a message names the writable root that holds {@code link}. */
    private static String holder(List<WritableRoots.Root> roots, Path link) {
        Path dir = RealPaths.real(link.getParent());
        return roots.stream().filter(r -> dir.startsWith(r.path())).findFirst().map(WritableRoots.Root::what)
                .orElse("a writable root");
    }

    private void checkLayout(Map<String, String> secrets) {
        record Guarded(Path path, String what) {}
        List<Guarded> guarded = new ArrayList<>();
        if (configFile != null) guarded.add(new Guarded(configFile, "the config file " + configFile));
        for (Path f : definitionFiles) {
            guarded.add(new Guarded(f, "the definition of agent '" + f.getParent().getFileName() + "' (" + f + ")"));
        }
        for (PolicySite p : policySites) {
            guarded.add(new Guarded(p.site().path(), "the file of guard policy '" + p.site().name() + "' ("
                    + p.site().path() + ")"));
        }
        secrets.forEach((name, ref) -> {
            if (ref.startsWith("file:")) {
                Path f = Path.of(ref.substring(5));
                guarded.add(new Guarded(f, "the file of secret '" + name + "' (" + f + ")"));
            }
        });
        Path agentsReal = agentsDir == null || !Files.isDirectory(agentsDir) ? null : RealPaths.real(agentsDir);

        List<Site> rootSites = new ArrayList<>();
        List<WritableRoots.Root> roots = new ArrayList<>();
        for (Site s : workspaceSites) {
            rootSites.add(s);
            roots.add(WritableRoots.workspace(s.name(), s.path()));
        }
        for (PolicySite p : policySites) {
            for (WritableRoots.Root r : WritableRoots.policyRoots(p.site().name(), p.policy())) {
                rootSites.add(p.site());
                roots.add(r);
            }
        }

        // Overlapping workspaces: one agent could read and rewrite another's files (and its AGENTS.md).
        for (int j = 0; j < workspaceSites.size(); j++) {
            for (int i = 0; i < j; i++) {
                Path a = roots.get(i).path();
                Path b = roots.get(j).path();
                String how = a.equals(b) ? "is the same folder as" : b.startsWith(a) ? "lies inside"
                        : a.startsWith(b) ? "contains" : null;
                if (how == null) continue;
                Site s = workspaceSites.get(j);
                Site other = workspaceSites.get(i);
                s.problems().error(s.line(), s.column(), s.keyPath(), "the workspace of agent '" + s.name() + "' ("
                        + s.path() + realSuffix(s.path(), b) + ") " + how + " the workspace of agent '" + other.name()
                        + "' (" + other.path() + realSuffix(other.path(), a) + "): agents' workspaces must not overlap, "
                        + "or one agent could read and rewrite another's files; give each agent a folder of its own");
            }
        }
        // Reached through a link an agent can repoint: that agent could move the workspace, or the file, to its own.
        for (int j = 0; j < workspaceSites.size(); j++) {
            List<Path> others = new ArrayList<>();
            for (int k = 0; k < roots.size(); k++) if (k != j) others.add(roots.get(k).path());
            Path link = RealPaths.linkInside(workspaceSites.get(j).path(), others);
            if (link == null) continue;
            Site s = workspaceSites.get(j);
            s.problems().error(s.line(), s.column(), s.keyPath(), "the workspace of agent '" + s.name() + "' ("
                    + s.path() + ") is reached through the symbolic link " + link + ", which lies in "
                    + holder(roots, link) + ": that agent could repoint it and take this workspace over; name the "
                    + "workspace by its real path");
        }
        List<Path> writable = roots.stream().map(WritableRoots.Root::path).toList();
        for (Guarded g : guarded) {
            Path link = RealPaths.linkInside(g.path(), writable);
            if (link == null) continue;
            problems.error(0, 0, "", capitalize(g.what()) + " is reached through the symbolic link " + link
                    + ", which lies in " + holder(roots, link) + ": an agent could repoint it to a file of its own; "
                    + "name the file by its real path");
        }
        for (int k = 0; k < roots.size(); k++) {
            WritableRoots.Root root = roots.get(k);
            Site s = rootSites.get(k);
            for (Guarded g : guarded) {
                if (!RealPaths.real(g.path()).startsWith(root.path())) continue;
                s.problems().error(s.line(), s.column(), s.keyPath(), capitalize(root.what()) + " holds " + g.what()
                        + ", so an agent could rewrite it; keep the config, agent definitions, policy and secret files "
                        + "outside every workspace and read_write root");
            }
            if (agentsReal == null) continue;
            if (agentsReal.startsWith(root.path())) {
                s.problems().error(s.line(), s.column(), s.keyPath(), capitalize(root.what()) + " holds the agents "
                        + "folder " + agentsDir + ", so an agent could write new agent definitions there; keep it "
                        + "outside every workspace and read_write root");
            } else if (root.path().startsWith(agentsReal)) {
                // agents/NAME is where agent NAME's definition is found: only agent NAME itself may work there
                // (a definition planted there clashes with its own and the config is refused); deeper is inert.
                Path rel = agentsReal.relativize(root.path());
                if (rel.getNameCount() == 1 && !rel.toString().equals(root.agent())) {
                    s.problems().error(s.line(), s.column(), s.keyPath(), capitalize(root.what()) + " is the folder "
                            + "where a definition of agent '" + rel + "' would be found (" + agentsDir.resolve(rel)
                            + "/" + AGENT_FILE + "), so an agent could define a new agent there; use a folder outside "
                            + agentsDir + ", or one inside agents/" + rel + "/");
                }
            }
        }
    }

    private static String realSuffix(Path given, Path real) {
        return given.toAbsolutePath().normalize().equals(real) ? "" : ", really " + real;
    }

    private static String capitalize(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    // ---- agents ------------------------------------------------------------------------------------------------

    /** The {@code agents:} section, then every {@code agents/NAME/agent.yaml}; an id defined twice is an error. */
    private Map<String, AgentSpec> agents(MapReader root, List<String> tiers, Map<String, ModelSpec> models,
                                          Map<String, Team> teams, Tools tools) {
        Map<String, AgentSpec> agents = new LinkedHashMap<>();
        for (Entry e : root.entries("agents")) {
            String path = KeyPath.key("agents", e.key());
            checkName(e.line(), e.column(), path, e.key(), "agent id");
            MapReader r = MapReader.of(e.value(), path, e.line(), e.column(), problems);
            AgentSpec a = agent(r, e.key(), null, tiers, models, teams, tools);
            if (a != null) agents.put(e.key(), a);
        }
        if (agentsDir == null || !Files.isDirectory(agentsDir)) return Collections.unmodifiableMap(agents);
        List<Path> folders;
        try (var list = Files.list(agentsDir)) {
            folders = list.filter(d -> Files.isRegularFile(d.resolve(AGENT_FILE))).sorted().toList();
        } catch (IOException e) {
            problems.error(0, 0, "", "cannot list " + agentsDir + ": " + e.getClass().getSimpleName());
            return Collections.unmodifiableMap(agents);
        }
        for (Path folder : folders) {
            Path file = folder.resolve(AGENT_FILE);
            AgentSpec writer = agents.values().stream().filter(a -> inside(folder, a.workspace())).findFirst().orElse(null);
            if (writer != null) {
                // A file an agent could have written is no definition: were it read, the agent could give itself
                // tools, or stop the next start with a duplicate definition.
                problems.warning(0, 0, "agents", "ignored " + file + ": it lies in the workspace of agent '"
                        + writer.id() + "', which could have written it; define agents in the config or in folders "
                        + "no agent can write");
                continue;
            }
            Problems fileProblems = new Problems(file.toString());
            agentFiles.add(fileProblems);
            ConfigLoader sub = new ConfigLoader(fileProblems, env, folder, null);
            sub.guardPolicies = guardPolicies;
            sub.workspaceSites = workspaceSites;
            definitionFiles.add(file);
            String id = folder.getFileName().toString();
            String text;
            try {
                text = Files.readString(file);
            } catch (IOException e) {
                fileProblems.error(0, 0, "", "cannot read the file: " + e.getClass().getSimpleName());
                continue;
            }
            Node node = MapReader.parse(text, fileProblems);
            if (node == null) {
                if (!fileProblems.hasErrors()) fileProblems.error(1, 1, "", "the file is empty (expected the agent's settings)");
                continue;
            }
            if (!(node instanceof MapNode map)) {
                fileProblems.error(node.line(), node.column(), "", "expected the agent's settings (key: value lines), got "
                        + YamlTree.describe(node));
                continue;
            }
            sub.checkName(1, 1, "", id, "agent id (the folder's name)");
            for (Entry e : map.entries().values()) {
                if (isSecretKey(e.key())) fileProblems.error(e.line(), e.column(), e.key(), secretMessage(null));
                else sub.refuseSecrets(e.value(), e.key(), null, false);
            }
            AgentSpec a = sub.agent(MapReader.root(map, fileProblems), id, folder.resolve(DISCOVERED_WORKSPACE), tiers,
                    models, teams, tools);
            if (agents.containsKey(id)) {
                fileProblems.error(1, 1, "", "agent '" + id + "' is also defined in the config's agents: section");
            } else if (a != null) {
                agents.put(id, a);
            }
        }
        return Collections.unmodifiableMap(agents);
    }

    /** Whether {@code path} lies in {@code dir}, compared as real paths. */
    private static boolean inside(Path path, Path dir) {
        return RealPaths.real(path).startsWith(RealPaths.real(dir));
    }

    /**
     * One agent's settings. {@code defaultWorkspace} is the agent's own folder for a discovered agent (where
     * {@code workspace} may be left out), null in the {@code agents:} section (where it is required).
     */
    private AgentSpec agent(MapReader r, String id, Path defaultWorkspace, List<String> tiers,
                            Map<String, ModelSpec> models, Map<String, Team> teams, Tools enabled) {
        Path workspace = defaultWorkspace;
        Scalar ws = defaultWorkspace == null ? r.requiredScalar("workspace", "the agent's folder (holding its AGENTS.md)")
                : r.scalar("workspace", "the agent's folder (holding its AGENTS.md)");
        if (ws == null && defaultWorkspace != null && !Files.isDirectory(defaultWorkspace)) {
            problems.error(1, 1, r.pathOf("workspace"), "not set, and its default folder '" + defaultWorkspace + "' does "
                    + "not exist (create it, with the agent's instructions in AGENTS.md, or set workspace:)");
        }
        if (ws != null) {
            try {
                workspace = baseDir.resolve(ws.text()).toAbsolutePath().normalize();
                if (!Files.isDirectory(workspace)) {
                    r.error(ws, "workspace", "folder '" + workspace + "' does not exist (create it, with the agent's "
                            + "instructions in AGENTS.md)");
                }
            } catch (java.nio.file.InvalidPathException e) {
                r.error(ws, "workspace", "not a valid path: " + YamlTree.describe(ws));
                workspace = null;
            }
        }
        String model = modelRef(r, r.requiredScalar("model", "a model id or tier:NAME"), "model", tiers, models);
        List<String> fallbacks = new ArrayList<>();
        List<Scalar> fb = r.scalars("fallbacks", "a list of model ids or tier:NAME", "a model id or tier:NAME");
        for (Scalar s : fb == null ? List.<Scalar>of() : fb) fallbacks.add(modelRef(r, s, "fallbacks", tiers, models));
        List<String> tools = new ArrayList<>();
        List<Scalar> ts = r.scalars("tools", "a list of tool names", "a tool name");
        for (Scalar s : ts == null ? List.<Scalar>of() : ts) {
            if (!BuiltinTools.accepted().contains(s.text())) {
                problems.error(s.line(), s.column(), r.pathOf("tools"), unknownReference(s.text(),
                        BuiltinTools.accepted().stream().sorted().toList(), "tool"));
            } else if (s.text().equals("exec") && enabled.exec() == Tools.Exec.OFF) {
                problems.error(s.line(), s.column(), r.pathOf("tools"), "tool 'exec' is off: commands run only where the"
                        + " config says: 'tools: {exec: bwrap}' (in a sandbox) or 'tools: {exec: local}' (on this host,"
                        + " with no isolation)");
            } else if (s.text().equals("web_fetch") && enabled.webFetch() == Tools.WebFetch.OFF) {
                problems.error(s.line(), s.column(), r.pathOf("tools"), "tool 'web_fetch' is off: turn it on with"
                        + " 'tools: {web_fetch: proxy}' (through the egress proxy) or 'tools: {web_fetch: direct}'"
                        + " (requests leave with no fence)");
            } else if (tools.contains(s.text())) {
                problems.error(s.line(), s.column(), r.pathOf("tools"), "tool '" + s.text() + "' is listed twice");
            } else {
                tools.add(s.text());
            }
        }
        AgentSpec.Owner owner = owner(r.requiredObject("owner", "{team: NAME} or {user: NAME}"), teams);
        AgentSpec.Limits limits = limits(r.object("limits"));
        AgentSpec.OnBusy onBusy = r.choice("on_busy", ON_BUSY, AgentSpec.OnBusy.QUEUE);
        String policy = r.string("policy", "the name of a policy under guard.policies", null);
        if (policy != null && !guardPolicies.contains(policy)) {
            r.error(r.value("policy"), "policy", unknownReference(policy, guardPolicies, "guard policy")
                    + " (define it under guard.policies)");
        }
        AgentSpec.SubAgents subagents = subagents(r.object("subagents"));
        AgentSpec.Compaction compaction = compaction(r.object("compaction"), tiers, models);
        r.finish();
        if (workspace != null) {
            workspaceSites.add(ws != null ? new Site(id, workspace, problems, ws.line(), ws.column(), r.pathOf("workspace"))
                    : new Site(id, workspace, problems, 1, 1, ""));
        }
        if (workspace == null || model == null || owner == null) return null;
        return new AgentSpec(id, workspace, model, fallbacks, tools, owner, limits, onBusy, policy, subagents, compaction);
    }

    /** A model id or tier:NAME that the config defines; null (reported) otherwise. */
    private String modelRef(MapReader r, Scalar s, String key, List<String> tiers, Map<String, ModelSpec> models) {
        if (s == null) return null;
        String ref = s.text();
        if (ref.startsWith("tier:")) {
            String tier = ref.substring(5);
            if (!tiers.contains(tier)) {
                problems.error(s.line(), s.column(), r.pathOf(key), unknownReference(tier, tiers, "tier"));
                return null;
            }
            return ref;
        }
        if (!models.containsKey(ref)) {
            problems.error(s.line(), s.column(), r.pathOf(key), unknownReference(ref, models.keySet(), "model")
                    + "; or use tier:NAME");
            return null;
        }
        if (models.get(ref).kind() != ModelKind.CHAT) {   // an agent's turns are chat
            problems.error(s.line(), s.column(), r.pathOf(key), "'" + ref + "' is an embedding model; an agent needs a chat model");
            return null;
        }
        return ref;
    }

    private AgentSpec.Owner owner(MapReader r, Map<String, Team> teams) {
        Scalar user = r.scalar("user", "a user name");
        Scalar team = r.scalar("team", "a team name");
        r.finish();
        if (user == null && team == null) {
            r.errorHere("expected {team: NAME} or {user: NAME} (a user may add team: NAME)");
            return null;
        }
        boolean ok = true;
        if (user != null && !checkName(user.line(), user.column(), r.pathOf("user"), user.text(), "user name")) ok = false;
        if (team != null && !teams.containsKey(team.text())) {
            r.error(team, "team", unknownReference(team.text(), teams.keySet(), "team"));
            ok = false;
        }
        return ok ? new AgentSpec.Owner(user == null ? null : user.text(), team == null ? null : team.text()) : null;
    }

    private AgentSpec.Limits limits(MapReader r) {
        AgentSpec.Limits d = AgentSpec.Limits.DEFAULT;
        int maxSteps = r.integer("max_steps", 1, 10_000, d.maxSteps());
        Duration maxWall = r.duration("max_wall", Duration.ofMillis(100), d.maxWall());
        int maxTokens = r.integer("max_tokens", 1, Integer.MAX_VALUE, (int) d.maxTokens());
        Duration toolTimeout = r.duration("tool_timeout", Duration.ofMillis(100), d.toolTimeout());
        long maxToolOutput = r.size("max_tool_output", 1024, 16L * 1024 * 1024, d.maxToolOutputBytes());
        r.finish();
        return new AgentSpec.Limits(maxSteps, maxWall, maxTokens, toolTimeout, (int) maxToolOutput);
    }

    private AgentSpec.SubAgents subagents(MapReader r) {
        AgentSpec.SubAgents d = AgentSpec.SubAgents.DEFAULT;
        int maxDepth = r.integer("max_depth", 1, 16, d.maxDepth());
        int maxChildren = r.integer("max_children", 1, 1000, d.maxChildren());
        int maxConcurrency = r.integer("max_concurrency", 1, 10_000, d.maxConcurrency());
        r.finish();
        return new AgentSpec.SubAgents(maxDepth, maxChildren, maxConcurrency);
    }

    private AgentSpec.Compaction compaction(MapReader r, List<String> tiers, Map<String, ModelSpec> models) {
        AgentSpec.Compaction d = AgentSpec.Compaction.DEFAULT;
        double threshold = r.positiveNumber("threshold", d.threshold());
        Scalar thresholdAt = r.scalar("threshold", "a fraction of the context window, above 0 and at most 1");
        if (threshold > 1) {
            r.error(thresholdAt, "threshold", "expected a fraction of the context window, above 0 and at most 1 (0.75 "
                    + "is 75%), got " + threshold);
            threshold = d.threshold();
        }
        String model = modelRef(r, r.scalar("model", "a model id or tier:NAME"), "model", tiers, models);
        int keepTurns = r.integer("keep_turns", 1, 1000, d.keepTurns());
        r.finish();
        return new AgentSpec.Compaction(threshold, model, keepTurns);
    }

    // ---- shared checks -----------------------------------------------------------------------------------------

    /** A required reference to one of {@code known}; reports an unknown name with the known ones. */
    private String reference(MapReader r, String key, Collection<String> known, String what) {
        Scalar s = r.requiredScalar(key, "the name of a " + what);
        if (s == null) {
            return null;
        }
        if (!known.contains(s.text())) {
            r.error(s, key, unknownReference(s.text(), known, what));
        }
        return s.text();
    }

    /** An optional list of references; empty when absent. */
    private Set<String> references(MapReader r, String key, Collection<String> known, String what) {
        List<Scalar> items = r.scalars(key, "a list of " + what + " names", "a " + what + " name");
        Set<String> names = new LinkedHashSet<>();
        if (items == null) {
            return names;
        }
        for (Scalar s : items) {
            if (!known.contains(s.text())) {
                problems.error(s.line(), s.column(), r.pathOf(key), unknownReference(s.text(), known, what));
            }
            names.add(s.text());
        }
        return names;
    }

    private static String unknownReference(String name, Collection<String> known, String what) {
        String knownText = known.isEmpty() ? "no " + what + "s are configured"
                : "known " + what + "s: " + String.join(", ", known);
        return "unknown " + what + " '" + name + "' (" + knownText + ")";
    }

    /** Checks a name against {@link #NAME}; line and column locate it. */
    private boolean checkName(int line, int column, String path, String name, String what) {
        if (NAME.matcher(name).matches()) {
            return true;
        }
        problems.error(line, column, path, "invalid " + what + " '" + name + "' (expected " + NAME_RULE + ")");
        return false;
    }

    /**
     * The name of an environment variable, or null. The value is never shown in messages: a value that is not a
     * variable name may be the secret itself. A variable that is not set is a warning.
     */
    private String envName(MapReader r, String key) {
        Scalar s = r.scalar(key, "the name of an environment variable");
        if (s == null) {
            return null;
        }
        if (!ENV_NAME.matcher(s.text()).matches()) {
            r.error(s, key, "expected the NAME of an environment variable (capital letters, digits and '_', "
                    + "like OPENAI_API_KEY), not its value");
            return null;
        }
        String value = env.apply(s.text());
        if (value == null || value.isEmpty()) {
            problems.warning(s.line(), s.column(), r.pathOf(key), "environment variable " + s.text() + " is not set");
        }
        return s.text();
    }

    private void warnAboutEmptyTiers(MapNode root, List<String> tiers, Map<String, ModelSpec> models) {
        if (models.isEmpty()) {
            Entry at = root.get("models");
            problems.warning(at == null ? root.line() : at.line(), at == null ? root.column() : at.column(),
                    "models", "no models are configured");
            return;
        }
        Set<String> used = new LinkedHashSet<>();
        models.values().forEach(m -> used.add(m.tier()));
        for (String tier : tiers) {
            if (!used.contains(tier)) {
                Node at = tierNodes.get(tier);
                problems.warning(at == null ? root.line() : at.line(), at == null ? root.column() : at.column(),
                        "tiers", "tier '" + tier + "' has no models");
            }
        }
    }

    // ---- secrets -----------------------------------------------------------------------------------------------

    /**
     * Refuses every key named like a secret (api_key, password, token, ...), at any depth, except the names of
     * providers, models and teams and the provider headers (checked by {@link #headers}).
     */
    private void refuseSecrets(MapNode root) {
        for (Entry e : root.entries().values()) {
            String path = KeyPath.key("", e.key());
            String hint = switch (e.key()) {
                case "providers" -> "api_key_env";
                case "store" -> "password_env";
                default -> null;
            };
            if (e.key().equals("secrets")) {
                continue; // names of secrets, each checked to hold a reference by secrets()
            } else if (isSecretKey(e.key())) {
                problems.error(e.line(), e.column(), path, secretMessage(null));
            } else if (e.key().equals("privacy")) {
                continue;   // its names are classes and dictionaries (a "secret" class), never credentials
            } else if (NAMED_SECTIONS.contains(e.key()) && e.value() instanceof MapNode named) {
                for (Entry n : named.entries().values()) {
                    refuseSecrets(n.value(), KeyPath.key(path, n.key()), hint, e.key().equals("providers"));
                }
            } else {
                refuseSecrets(e.value(), path, hint, false);
            }
        }
    }

    private void refuseSecrets(Node node, String path, String hint, boolean provider) {
        if (node instanceof MapNode map) {
            for (Entry e : map.entries().values()) {
                if (isSecretKey(e.key())) {
                    problems.error(e.line(), e.column(), KeyPath.key(path, e.key()), secretMessage(hint));
                } else if (!(provider && e.key().equals("headers"))) {
                    refuseSecrets(e.value(), KeyPath.key(path, e.key()), hint, false);
                }
            }
        } else if (node instanceof ListNode list) {
            for (int i = 0; i < list.items().size(); i++) {
                refuseSecrets(list.items().get(i), KeyPath.index(path, i), hint, false);
            }
        }
    }

    /** Whether a settings key names a secret: api_key, password, secret, token, authorization (any case), ... */
    static boolean isSecretKey(String key) {
        String k = key.toLowerCase(Locale.ROOT).replace('-', '_');
        if (SECRET_WORDS.contains(k)) {
            return true;
        }
        for (String word : SECRET_WORDS) {
            if (k.endsWith("_" + word)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isSecretHeader(String lowerName) {
        String n = lowerName.replace('_', '-');
        return n.contains("authorization") || n.contains("api-key") || n.contains("apikey") || n.contains("token")
                || n.contains("secret") || n.contains("password") || n.equals("cookie");
    }

    private static String secretMessage(String envKey) {
        return envKey == null
                ? "secrets are not written in the config; put the value in an environment variable"
                : "secrets are not written in the config; put the value in an environment variable and name it with "
                + envKey;
    }

    /** The enum's constants by their lowercase names, in declaration order. */
    private static Map<String, WireApi> kinds() {
        Map<String, WireApi> kinds = new LinkedHashMap<>();
        kinds.put("openai", WireApi.OPENAI);
        kinds.put("anthropic", WireApi.ANTHROPIC);
        kinds.put("openai-responses", WireApi.RESPONSES);
        return Collections.unmodifiableMap(kinds);
    }

    private static <E extends Enum<E>> Map<String, E> options(E[] values) {
        Map<String, E> options = new LinkedHashMap<>();
        for (E e : values) {
            options.put(e.name().toLowerCase(Locale.ROOT), e);
        }
        return Collections.unmodifiableMap(options);
    }
}
