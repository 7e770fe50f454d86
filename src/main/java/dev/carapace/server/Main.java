package dev.carapace.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.config.ConfigException;
import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.KeyAdmin;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.ModelSpec;
import dev.carapace.store.ApiKeys.StoredKey;
import dev.carapace.store.Store;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.CountDownLatch;

/** The {@code carapace} command line. Every command has {@code --help} and exits non-zero on error. */
@Command(name = "carapace", mixinStandardHelpOptions = true, version = "carapace 0.1.0",
        description = "The enterprise agent gateway: OpenAI/Anthropic-compatible, with budgets, tiers and policy.",
        subcommands = {Main.Serve.class, Main.ConfigCommand.class, Main.Keys.class, Main.Models.class})
public final class Main implements Runnable {

    static final ObjectMapper JSON = new ObjectMapper();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs one command line; the exit code is returned, never {@code System.exit}ed, so tests can call it. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("error: " + message(e));
            return 1;
        });
        return cl.execute(args);
    }

    private static String message(Exception e) {
        if (e instanceof ConfigException || e instanceof ApiException) return e.getMessage();
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Where the config and the data live; shared by every command. */
    static final class Common {
        @Option(names = "--config", paramLabel = "FILE",
                description = "The config file (default: $CARAPACE_CONFIG, else ./carapace.yaml if present, else an empty config).")
        Path config;

        @Option(names = "--data", paramLabel = "DIR", description = "The data folder for the embedded store (default: $CARAPACE_DATA, else ./data).")
        Path data;

        CarapaceConfig config() throws ConfigException {
            Path file = config;
            if (file == null && System.getenv("CARAPACE_CONFIG") != null) file = Path.of(System.getenv("CARAPACE_CONFIG"));
            if (file == null && Files.exists(Path.of("carapace.yaml"))) file = Path.of("carapace.yaml");
            return file == null ? CarapaceConfig.empty() : ConfigLoader.load(file);
        }

        Path dataDir() {
            if (data != null) return data;
            String env = System.getenv("CARAPACE_DATA");
            return Path.of(env != null ? env : "data");
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the gateway until stopped.")
    static final class Serve implements java.util.concurrent.Callable<Integer> {
        @Mixin Common common;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Option(names = "--port", description = "Listen on this port instead of the config's (0: any free port).")
        Integer port;

        @Override
        public Integer call() throws Exception {
            CarapaceConfig config = common.config();
            Logging.configure(config.logging().json());
            Carapace carapace = Carapace.start(config, common.dataDir(), System::getenv, Clock.systemUTC(), port);
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                carapace.close();
                stopped.countDown();
            }));
            spec.commandLine().getOut().printf("Carapace listening on http://%s:%d (%d models, store %s)%n",
                    config.server().host(), carapace.port(), config.models().size(),
                    carapace.store().postgres() ? "postgresql" : common.dataDir().resolve("carapace.db"));
            stopped.await();
            return 0;
        }
    }

    @Command(name = "config", mixinStandardHelpOptions = true, description = "Work with config files.",
            subcommands = ConfigCommand.Check.class)
    static final class ConfigCommand implements Runnable {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public void run() { spec.commandLine().usage(spec.commandLine().getOut()); }

        @Command(name = "check", mixinStandardHelpOptions = true,
                description = "Validate a config file: prints 'ok', or every problem as FILE:LINE:COLUMN: PATH: MESSAGE.")
        static final class Check implements java.util.concurrent.Callable<Integer> {
            @Parameters(paramLabel = "FILE") Path file;
            @CommandLine.Spec CommandLine.Model.CommandSpec spec;

            @Override
            public Integer call() {
                ConfigLoader.Result r = ConfigLoader.check(file);
                PrintWriter out = spec.commandLine().getOut();
                PrintWriter err = spec.commandLine().getErr();
                r.warnings().forEach(w -> err.println("warning: " + w));
                if (!r.errors().isEmpty()) {
                    r.errors().forEach(err::println);
                    err.println(r.errors().size() + (r.errors().size() == 1 ? " error" : " errors"));
                    return 1;
                }
                out.println("ok");
                return 0;
            }
        }
    }

    @Command(name = "keys", mixinStandardHelpOptions = true, description = "Create, list and revoke API keys.",
            subcommands = {Keys.Create.class, Keys.List.class, Keys.Revoke.class})
    static final class Keys implements Runnable {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public void run() { spec.commandLine().usage(spec.commandLine().getOut()); }

        abstract static class KeyCommand implements java.util.concurrent.Callable<Integer> {
            @Mixin Common common;
            @CommandLine.Spec CommandLine.Model.CommandSpec spec;

            @Override
            public Integer call() throws Exception {
                CarapaceConfig config = common.config();
                try (Store store = Carapace.openStore(config, common.dataDir(), System::getenv)) {
                    return run(new KeyAdmin(store.apiKeys(), config.teams().keySet(), Clock.systemUTC()),
                            spec.commandLine().getOut());
                }
            }

            abstract int run(KeyAdmin admin, PrintWriter out) throws Exception;
        }

        @Command(name = "create", mixinStandardHelpOptions = true,
                description = "Create a key for a user of a team. The key is printed once; only its hash is stored.")
        static final class Create extends KeyCommand {
            @Option(names = "--user", required = true) String user;
            @Option(names = "--team", required = true) String team;
            @Option(names = "--role", defaultValue = "member", description = "admin or member (default: member).") String role;
            @Option(names = "--name", description = "A label for the key.") String name;
            @Option(names = "--json", description = "Print JSON.") boolean json;

            @Override
            int run(KeyAdmin admin, PrintWriter out) throws Exception {
                Principal.Role r = switch (role) {
                    case "admin" -> Principal.Role.ADMIN;
                    case "member" -> Principal.Role.MEMBER;
                    default -> throw new CommandLine.ParameterException(spec.commandLine(),
                            "--role: expected admin or member; got '" + role + "'");
                };
                KeyAdmin.Created c = admin.create(user, team, r, name);
                if (json) {
                    ObjectNode n = keyJson(c.key()).put("key", c.secret());
                    out.println(JSON.writeValueAsString(n));
                } else {
                    out.println(c.secret());
                    out.println("(prefix " + c.key().prefix() + ", user " + user + ", team " + team + ", " + role
                            + ". Store the key now: it is not shown again.)");
                }
                return 0;
            }
        }

        @Command(name = "list", mixinStandardHelpOptions = true, description = "List keys by prefix (never the secrets).")
        static final class List extends KeyCommand {
            @Option(names = "--json", description = "Print JSON.") boolean json;

            @Override
            int run(KeyAdmin admin, PrintWriter out) throws Exception {
                java.util.List<StoredKey> keys = admin.list();
                if (json) {
                    ArrayNode a = JSON.createArrayNode();
                    keys.forEach(k -> a.add(keyJson(k)));
                    out.println(JSON.writeValueAsString(a));
                    return 0;
                }
                out.printf("%-14s %-20s %-14s %-7s %-24s %s%n", "PREFIX", "USER", "TEAM", "ROLE", "CREATED", "STATUS");
                for (StoredKey k : keys) {
                    out.printf("%-14s %-20s %-14s %-7s %-24s %s%n", k.prefix(), k.user(), k.team(), k.role(), k.createdAt(),
                            k.revokedAt() == null ? "active" : "revoked " + k.revokedAt());
                }
                return 0;
            }
        }

        @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a key by its prefix.")
        static final class Revoke extends KeyCommand {
            @Parameters(paramLabel = "PREFIX") String prefix;

            @Override
            int run(KeyAdmin admin, PrintWriter out) {
                if (!admin.revoke(prefix)) {
                    spec.commandLine().getErr().println("error: no active key has prefix '" + prefix + "'");
                    return 1;
                }
                out.println("revoked " + prefix);
                return 0;
            }
        }

        static ObjectNode keyJson(StoredKey k) {
            return JSON.createObjectNode().put("prefix", k.prefix()).put("user", k.user()).put("team", k.team())
                    .put("role", k.role()).put("name", k.name()).put("created_at", k.createdAt().toString())
                    .put("revoked_at", k.revokedAt() == null ? null : k.revokedAt().toString());
        }
    }

    @Command(name = "models", mixinStandardHelpOptions = true, description = "Show the model portfolio.",
            subcommands = Models.List.class)
    static final class Models implements Runnable {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public void run() { spec.commandLine().usage(spec.commandLine().getOut()); }

        @Command(name = "list", mixinStandardHelpOptions = true, description = "List the configured models by tier.")
        static final class List implements java.util.concurrent.Callable<Integer> {
            @Mixin Common common;
            @Option(names = "--json", description = "Print JSON.") boolean json;
            @CommandLine.Spec CommandLine.Model.CommandSpec spec;

            @Override
            public Integer call() throws Exception {
                CarapaceConfig config = common.config();
                PrintWriter out = spec.commandLine().getOut();
                if (json) {
                    ArrayNode a = JSON.createArrayNode();
                    for (ModelSpec m : config.models().values()) {
                        ObjectNode n = a.addObject().put("id", m.id()).put("tier", m.tier())
                                .put("privacy", m.privacy().name().toLowerCase())
                                .put("input_per_mtok", m.price().input()).put("output_per_mtok", m.price().output());
                        ArrayNode ds = n.putArray("deployments");
                        m.deployments().forEach(d -> ds.add(d.provider() + "/" + d.upstreamModel()));
                    }
                    out.println(JSON.writeValueAsString(a));
                    return 0;
                }
                out.printf("%-28s %-11s %-9s %10s %10s  %s%n", "MODEL", "TIER", "PRIVACY", "IN $/M", "OUT $/M", "DEPLOYMENTS");
                for (ModelSpec m : config.models().values()) {
                    out.printf("%-28s %-11s %-9s %10s %10s  %s%n", m.id(), m.tier(), m.privacy().name().toLowerCase(),
                            m.price().input().toPlainString(), m.price().output().toPlainString(),
                            String.join(", ", m.deployments().stream().map(d -> d.provider() + "/" + d.upstreamModel()).toList()));
                }
                return 0;
            }
        }
    }
}
