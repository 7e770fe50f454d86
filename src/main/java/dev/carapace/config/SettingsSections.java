package dev.carapace.config;

import dev.carapace.config.CarapaceConfig.Alerts;
import dev.carapace.config.CarapaceConfig.Approvals;
import dev.carapace.config.CarapaceConfig.Auth;
import dev.carapace.config.CarapaceConfig.Logging;
import dev.carapace.config.CarapaceConfig.Server;
import dev.carapace.config.CarapaceConfig.Store;
import dev.carapace.config.CarapaceConfig.Tools;
import dev.carapace.guard.sandbox.SandboxLimits;
import dev.carapace.guard.sandbox.SandboxUser;
import dev.carapace.model.RoutingPolicy;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static dev.carapace.config.ConfigChecks.NAME_RULE;
import static dev.carapace.config.ConfigChecks.options;
import static dev.carapace.config.SecretsSection.secretMessage;

/**
 * Reads the sections that are settings of their own, each referring to no other section: {@code server:},
 * {@code store:}, {@code org:}, {@code routing:}, {@code auth:}, {@code logging:}, {@code tools:},
 * {@code approvals:}, {@code responses:} and {@code alerts:}.
 */
final class SettingsSections {

    private static final Pattern URL_PASSWORD = Pattern.compile("(?i)[?&;]password=");
    private static final Map<String, Tools.Exec> EXEC = options(Tools.Exec.values());
    private static final Map<String, Tools.WebFetch> WEB_FETCH = options(Tools.WebFetch.values());

    private final ConfigChecks checks;
    private final Problems problems;

    SettingsSections(ConfigChecks checks) {
        this.checks = checks;
        this.problems = checks.problems();
    }

    Server server(MapReader r) {
        Server d = Server.DEFAULT;
        String host = r.string("host", "a host name or IP address to listen on", d.host());
        int port = r.integer("port", 1, 65535, d.port());
        long maxBodyBytes = r.size("max_body_bytes", 1, Integer.MAX_VALUE, d.maxBodyBytes());
        int maxConnections = r.integer("max_connections", 1, 1_000_000, d.maxConnections());
        int maxUpstreamConnections = r.integer("max_upstream_connections", 1, 1_000_000, d.maxUpstreamConnections());
        String metricsTokenEnv = checks.envName(r, "metrics_token_env");
        r.finish();
        return new Server(host, port, maxBodyBytes, maxConnections, maxUpstreamConnections, metricsTokenEnv);
    }

    Store store(MapReader r) {
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
        String userEnv = checks.envName(r, "user_env");
        String passwordEnv = checks.envName(r, "password_env");
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

    String org(MapReader r) {
        Scalar s = r.scalar("org", "an organisation name (" + NAME_RULE + ")");
        if (s == null) {
            return "default";
        }
        checks.checkName(s.line(), s.column(), r.pathOf("org"), s.text(), "organisation name");
        return s.text();
    }

    RoutingPolicy routing(MapReader r) {
        RoutingPolicy d = RoutingPolicy.DEFAULT;
        int maxAttempts = r.integer("max_attempts", 1, 10, d.maxAttempts());
        int failureThreshold = r.integer("failure_threshold", 1, 100, d.failureThreshold());
        Duration cooldown = r.duration("cooldown", Duration.ZERO, d.cooldown());
        r.finish();
        return new RoutingPolicy(maxAttempts, failureThreshold, cooldown);
    }

    Auth auth(MapReader r) {
        Duration keyCacheTtl = r.duration("key_cache_ttl", Duration.ZERO, Auth.DEFAULT.keyCacheTtl());
        r.finish();
        return new Auth(keyCacheTtl);
    }

    Logging logging(MapReader r) {
        boolean json = r.bool("json", Logging.DEFAULT.json());
        r.finish();
        return new Logging(json);
    }

    Tools tools(MapReader r) {
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

    Approvals approvals(MapReader r) {
        Duration timeout = r.duration("timeout", Duration.ofSeconds(1), Approvals.DEFAULT.timeout());
        r.finish();
        return new Approvals(timeout);
    }

    CarapaceConfig.Responses responses(MapReader r) {
        CarapaceConfig.Responses d = CarapaceConfig.Responses.DEFAULT;
        boolean store = r.bool("store", d.store());
        Duration retention = r.duration("retention", Duration.ofMinutes(1), d.retention());
        r.finish();
        return new CarapaceConfig.Responses(store, retention);
    }

    /**
     * A list of names of {@code secrets:} entries (a key's NAME, never its value); a name not there is an error at
     * its position. {@code secrets} null: not checked here (the channel checks its own when it is built).
     */
    static List<String> secretNames(MapReader r, String key, java.util.Set<String> secrets) {
        List<Scalar> items = r.scalars(key, "a list of secret names", "the name of an entry of secrets:");
        List<String> names = new ArrayList<>();
        for (Scalar s : items == null ? List.<Scalar>of() : items) {
            if (secrets != null && !secrets.contains(s.text())) {
                r.errorAt(s, r.pathOf(key), "no secret '" + dev.carapace.text.Excerpt.clip(s.text(), 60)
                        + "' in secrets: (a name given there, such as hooks_key: env:HOOKS_KEY)");
            } else if (names.contains(s.text())) {
                r.errorAt(s, r.pathOf(key), "'" + dev.carapace.text.Excerpt.clip(s.text(), 60) + "' is listed twice");
            } else {
                names.add(s.text());
            }
        }
        return names;
    }

    CarapaceConfig.Scheduler scheduler(MapReader r, java.util.Set<String> secrets) {
        CarapaceConfig.Scheduler d = CarapaceConfig.Scheduler.DEFAULT;
        Duration minInterval = r.duration("min_interval", Duration.ofSeconds(1), d.minInterval());
        Duration poll = r.duration("poll", Duration.ofMillis(50), d.poll());
        Duration heartbeat = r.duration("heartbeat", Duration.ofMillis(100), d.heartbeat());
        int threads = r.integer("threads", 1, 1000, d.threads());
        List<String> deliverSecrets = secretNames(r, "deliver_secrets", secrets);
        int deliverAttempts = r.integer("deliver_attempts", 1, 100, d.deliverAttempts());
        r.finish();
        return new CarapaceConfig.Scheduler(minInterval, poll, heartbeat, threads, deliverSecrets, deliverAttempts);
    }

    Alerts alerts(MapReader r) {
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
}
