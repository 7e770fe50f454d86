package dev.carapace.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.config.ConfigException;
import dev.carapace.config.ConfigLoader;
import dev.carapace.config.WritableRoots;
import dev.carapace.identity.KeyAdmin;
import dev.carapace.identity.Principal;
import dev.carapace.ledger.Budget;
import dev.carapace.ledger.BudgetSync;
import dev.carapace.ledger.Budgets;
import dev.carapace.ledger.Money;
import dev.carapace.ledger.Period;
import dev.carapace.model.ApiException;
import dev.carapace.model.ModelSpec;
import dev.carapace.server.HttpApi.BudgetView;
import dev.carapace.store.ApiKeys.StoredKey;
import dev.carapace.store.LedgerTables.SpendRow;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.store.Store;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/** The {@code carapace} command line. Every command has {@code --help} and exits non-zero on error. */
@Command(name = "carapace", mixinStandardHelpOptions = true, version = "carapace 0.1.0",
        description = "The enterprise agent gateway: OpenAI/Anthropic-compatible, with budgets, tiers and policy.",
        subcommands = {Main.Serve.class, Main.ConfigCommand.class, Main.Keys.class, Main.Models.class,
                Main.BudgetCommand.class, Main.Spend.class, AgentsCommand.class, ChatCommand.class,
                PolicyCommand.class, AuditCommand.class, ApprovalsCommand.class, PrivacyCommand.class})
public final class Main implements Runnable {

    static final ObjectMapper JSON = new ObjectMapper();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs one command line; the exit code is returned, never {@code System.exit}ed, so tests can call it. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        return run(args, System.in, out, err);
    }

    /** As {@link #run(String[], PrintWriter, PrintWriter)}, with {@code in} as what {@code chat} reads its lines from. */
    public static int run(String[] args, java.io.InputStream in, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main(), ChatCommand.factory(in));
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("error: " + message(e));
            return 1;
        });
        cl.setParameterExceptionHandler((e, given) -> {
            CommandLine line = e.getCommandLine();
            String m = e.getMessage().startsWith("Error: ") ? e.getMessage().substring(7) : e.getMessage();
            line.getErr().println("error: " + m + " (see '" + line.getCommandSpec().qualifiedName() + " --help')");
            return 2;
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

        @Option(names = "--data", paramLabel = "DIR", description = "The data folder for the embedded store (default: "
                + "$CARAPACE_DATA, else data/ beside the config file, else ./data).")
        Path data;

        CarapaceConfig config() throws ConfigException {
            Path file = configFile();
            return file == null ? CarapaceConfig.empty() : ConfigLoader.load(file);
        }

        /** The config file in use, or null for the empty config. */
        Path configFile() {
            Path file = config;
            if (file == null && System.getenv("CARAPACE_CONFIG") != null) file = Path.of(System.getenv("CARAPACE_CONFIG"));
            if (file == null && Files.exists(Path.of("carapace.yaml"))) file = Path.of("carapace.yaml");
            return file;
        }

        /**
         * The data folder: beside the config file unless said otherwise, wherever the command runs, so that
         * {@code keys create --config /etc/carapace/carapace.yaml} run from a home folder writes to the gateway's store,
         * not a new one there.
         */
        Path dataDir() {
            if (data != null) return data;
            String env = System.getenv("CARAPACE_DATA");
            if (env != null) return Path.of(env);
            Path file = configFile();
            return file == null ? Path.of("data") : file.toAbsolutePath().getParent().resolve("data");
        }

        /** The store the commands read and write, as a person would look for it. */
        String storeName(CarapaceConfig config) {
            return config.store().jdbcUrl(dataDir()).startsWith("jdbc:postgresql") ? "postgresql"
                    : Store.sqliteFile(config.store().jdbcUrl(dataDir())).map(Path::toString).orElse("in memory");
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
            Carapace carapace = Carapace.start(config, common.configFile(), common.dataDir(), System::getenv,
                    Clock.systemUTC(), port);
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
            @Option(names = "--data", paramLabel = "DIR", description = "The data folder serve would use, checked to lie "
                    + "outside every agent's reach (default: $CARAPACE_DATA, else data/ beside the config file, else ./data).")
            Path data;
            @CommandLine.Spec CommandLine.Model.CommandSpec spec;

            @Override
            public Integer call() {
                ConfigLoader.Result r = ConfigLoader.check(file);
                PrintWriter out = spec.commandLine().getOut();
                PrintWriter err = spec.commandLine().getErr();
                r.warnings().forEach(w -> err.println("warning: " + w));
                java.util.List<ConfigLoader.Problem> errors = new ArrayList<>(r.errors());
                if (r.config() != null) {
                    Common where = new Common();
                    where.data = data;
                    String problem = WritableRoots.dataDirProblem(r.config(), where.dataDir());
                    if (problem != null) errors.add(new ConfigLoader.Problem(file.toString(), 0, 0, "--data", problem));
                }
                if (!errors.isEmpty()) {
                    errors.forEach(err::println);
                    err.println(errors.size() + (errors.size() == 1 ? " error" : " errors"));
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
                storeName = common.storeName(config);
                try (Store store = Carapace.openStore(config, common.dataDir(), System::getenv)) {
                    return run(new KeyAdmin(store.apiKeys(), config.teams().keySet(), Clock.systemUTC()),
                            spec.commandLine().getOut());
                }
            }

            /** Where the keys are, for the output. */
            String storeName;

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
                    out.println("(written to " + storeName + ")");
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

    @Command(name = "budget", mixinStandardHelpOptions = true,
            description = "Set, show, list and delete the budgets of the org, teams, users and agents.",
            subcommands = {BudgetCommand.Set.class, BudgetCommand.Show.class, BudgetCommand.List.class, BudgetCommand.Delete.class})
    static final class BudgetCommand implements Runnable {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public void run() { spec.commandLine().usage(spec.commandLine().getOut()); }

        abstract static class LedgerCommand implements java.util.concurrent.Callable<Integer> {
            @Mixin Common common;
            @CommandLine.Spec CommandLine.Model.CommandSpec spec;

            @Override
            public Integer call() throws Exception {
                CarapaceConfig config = common.config();
                Clock clock = Clock.systemUTC();
                try (Store store = Carapace.openStore(config, common.dataDir(), System::getenv)) {
                    return run(Carapace.budgets(config, store, clock), LedgerBook.of(store), clock.instant(),
                            spec.commandLine().getOut());
                }
            }

            abstract int run(Budgets budgets, LedgerBook book, Instant now, PrintWriter out) throws Exception;
        }

        /** Whose budget it is: exactly one of these. */
        static final class Subject {
            @Option(names = "--team", paramLabel = "TEAM", required = true, description = "A team of the config.") String team;
            @Option(names = "--user", paramLabel = "USER", required = true, description = "A user that has (or had) a key.") String user;
            @Option(names = "--agent", paramLabel = "AGENT", required = true, description = "An agent id.") String agent;
            @Option(names = "--org", required = true, description = "The whole org (the config's org).") boolean org;
        }

        @Command(name = "set", mixinStandardHelpOptions = true,
                description = {"Create or replace a budget: a money and/or token limit per period. Calls that would pass "
                        + "the limit are refused. What the current period has spent is kept, also when "
                        + "the period or time zone changes.",
                        "Example: carapace budget set --team platform --amount 500 --tier ultra=0 --tier free=exempt"})
        static final class Set extends LedgerCommand {
            @ArgGroup(exclusive = true, multiplicity = "1") Subject subject;
            @Option(names = "--amount", paramLabel = "USD", description = "Money limit per period, e.g. 500 or 0.25.") String amount;
            @Option(names = "--tokens", paramLabel = "N", description = "Token limit per period (input plus output tokens).") Long tokens;
            @Option(names = "--period", paramLabel = "PERIOD", description = "day, week, month or none (default: month).") String period;
            @Option(names = "--tz", paramLabel = "ZONE", description = "Time zone the periods start in, e.g. Europe/Paris (default: UTC).") String timeZone;
            @Option(names = "--currency", paramLabel = "CODE",
                    description = "Currency code shown with the amounts (default: USD). Costs are counted at the config's "
                            + "USD prices; nothing is converted.") String currency;
            @Option(names = "--soft", paramLabel = "PERCENTS",
                    description = "Alert when spend reaches these percentages of the limit (default: 50,80,90; '' for none).") String soft;
            @Option(names = "--tier", paramLabel = "TIER=RULE",
                    description = "Repeatable. An amount caps what the tier may spend per period (0 forbids it); "
                            + "'exempt' keeps the tier's calls out of this budget (e.g. free=exempt).") Map<String, String> tiers;
            @Option(names = "--json", description = "Print JSON.") boolean json;

            @Override
            int run(Budgets budgets, LedgerBook book, Instant now, PrintWriter out) throws Exception {
                BigDecimal limit = null;
                if (amount != null) {
                    try {
                        limit = new BigDecimal(amount);
                    } catch (NumberFormatException e) {
                        throw new CommandLine.ParameterException(spec.commandLine(),
                                "--amount: expected a decimal such as 500 or 0.25; got '" + amount + "'");
                    }
                }
                String scope = subject.team != null ? "team" : subject.user != null ? "user" : subject.agent != null ? "agent" : "org";
                String name = subject.team != null ? subject.team : subject.user != null ? subject.user : subject.agent;
                Budget b;
                try {
                    b = budgets.set(new Budgets.Request(scope, name, limit, tokens, period, timeZone, currency, soft, tiers));
                } catch (ApiException e) {
                    throw new ApiException(e.kind(), forCli(e, "--" + scope), e.param(), e.code(), null, false);
                }
                BudgetSync.Binding binding = BudgetSync.await(book, Clock.systemUTC());
                BudgetView view = BudgetView.of(b, book, Instant.now());   // after the wait: what the gateway seeded too
                if (json) {
                    ObjectNode n = view.json();
                    n.putObject("binding").put("binds_now", binding.running() > 0 && binding.complete())
                            .put("running_gateways", binding.running()).put("applied", binding.applied());
                    out.println(JSON.writeValueAsString(n));
                } else {
                    printBudget(view, false, out);
                    out.printf("%-10s %s%n", "binding", binding.describe());
                }
                return 0;
            }

            private static final Map<String, String> OPTIONS = Map.of("amount", "--amount", "tokens", "--tokens",
                    "period", "--period", "time_zone", "--tz", "currency", "--currency", "soft", "--soft", "tiers", "--tier");

            /** {@link Budgets#set}'s messages start with the API's field name; here they name this command's option. */
            static String forCli(ApiException e, String subjectOption) {
                String m = e.getMessage();
                String param = e.param();
                String option = "subject".equals(param) ? subjectOption : OPTIONS.get(param);
                if (option == null) return m;
                if (m.startsWith(param + ": ")) return option + ": " + m.substring(param.length() + 2);
                if (m.startsWith(param + ".")) return option + " " + m.substring(param.length() + 1);   // tiers.ultra: ...
                return option + ": " + m;
            }
        }

        @Command(name = "show", mixinStandardHelpOptions = true,
                description = "Show a budget and its current period: spent, held by calls in flight, and when it resets.")
        static final class Show extends LedgerCommand {
            @Parameters(paramLabel = "ID", description = "SCOPE:NAME, e.g. team:platform, user:alice, org:acme.") String id;
            @Option(names = "--json", description = "Print JSON.") boolean json;

            @Override
            int run(Budgets budgets, LedgerBook book, Instant now, PrintWriter out) throws Exception {
                printBudget(BudgetView.of(budgets.get(id), book, now), json, out);
                return 0;
            }
        }

        @Command(name = "list", mixinStandardHelpOptions = true, description = "List the budgets with their current spend.")
        static final class List extends LedgerCommand {
            @Option(names = "--json", description = "Print JSON.") boolean json;

            @Override
            int run(Budgets budgets, LedgerBook book, Instant now, PrintWriter out) throws Exception {
                java.util.List<BudgetView> views = budgets.list().stream().map(b -> BudgetView.of(b, book, now)).toList();
                if (json) {
                    ArrayNode a = JSON.createArrayNode();
                    views.forEach(v -> a.add(v.json()));
                    out.println(JSON.writeValueAsString(a));
                    return 0;
                }
                String row = "%-28s %-6s %18s %14s %18s %8s  %s%n";
                out.printf(row, "ID", "PERIOD", "LIMIT", "TOKENS", "SPENT", "USED", "RESETS");
                for (BudgetView v : views) {
                    Budget b = v.budget();
                    out.printf(row, b.id(), b.period().label(),
                            b.limitNanos() == null ? "-" : b.currency() + " " + Money.format(b.limitNanos()),
                            b.limitTokens() == null ? "-" : b.limitTokens().toString(),
                            b.currency() + " " + Money.format(v.window().spentNanos()),
                            v.percent().toPlainString() + "%",
                            v.resetsAt() == null ? "never" : time(v.resetsAt(), b.zone()));
                }
                return 0;
            }
        }

        @Command(name = "delete", mixinStandardHelpOptions = true,
                description = "Delete a budget: calls are no longer held to it. What it counted stays in the spend reports.")
        static final class Delete extends LedgerCommand {
            @Parameters(paramLabel = "ID", description = "SCOPE:NAME, e.g. team:platform.") String id;

            @Override
            int run(Budgets budgets, LedgerBook book, Instant now, PrintWriter out) throws InterruptedException {
                if (!budgets.delete(id)) {
                    spec.commandLine().getErr().println("error: no budget '" + id + "' (see 'carapace budget list')");
                    return 1;
                }
                BudgetSync.Binding binding = BudgetSync.await(book, Clock.systemUTC());
                out.println("deleted " + id + "; " + (binding.running() == 0 ? "no gateway is running"
                        : binding.complete() ? "no call is held to it any more (the running gateways applied it)"
                        : binding.describe()));
                return 0;
            }
        }

        static void printBudget(BudgetView v, boolean json, PrintWriter out) throws Exception {
            if (json) {
                out.println(JSON.writeValueAsString(v.json()));
                return;
            }
            Budget b = v.budget();
            String per = b.period() == Period.NONE ? " in all" : " per " + b.period().label();
            out.printf("%-10s %s%n", "budget", b.id());
            if (b.limitNanos() != null) out.printf("%-10s %s %s%s%n", "limit", b.currency(), Money.format(b.limitNanos()), per);
            if (b.limitTokens() != null) out.printf("%-10s %d tokens%s%n", "tokens", b.limitTokens(), per);
            out.printf("%-10s %s%n", "soft", b.softPercents().isEmpty() ? "none"
                    : String.join(", ", b.softPercents().stream().map(p -> p + "%").toList()));
            if (!b.tiers().isEmpty()) {
                out.printf("%-10s %s%n", "tiers", String.join(", ", new java.util.TreeMap<>(b.tiers()).entrySet().stream()
                        .map(e -> e.getKey() + " " + (e.getValue().exempt() ? "exempt"
                                : e.getValue().capNanos() == 0 ? "forbidden" : "capped at " + Money.format(e.getValue().capNanos())))
                        .toList()));
            }
            out.printf("%-10s %s%n", "window", v.resetsAt() == null ? "all time (period none: never resets)"
                    : "since " + time(v.windowStart(), b.zone()) + ", resets " + time(v.resetsAt(), b.zone()));
            out.printf("%-10s %s %s, %d tokens (%s%% used)%n", "spent", b.currency(), Money.format(v.window().spentNanos()),
                    v.window().spentTokens(), v.percent().toPlainString());
            out.printf("%-10s %s %s, %d tokens (held by calls in flight)%n", "reserved", b.currency(),
                    Money.format(v.window().reservedNanos()), v.window().reservedTokens());
        }

        private static String time(Instant t, ZoneId zone) {
            return DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm").format(t.atZone(zone)) + " " + zone.getId();
        }
    }

    @Command(name = "spend", mixinStandardHelpOptions = true,
            description = {"Report spend (requests, tokens, cost in USD) grouped by team, user, agent, model or tier.",
                    "Days are UTC; both ends are included. Default: from the first day of this month to today."})
    static final class Spend implements java.util.concurrent.Callable<Integer> {
        @Mixin Common common;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Option(names = "--by", required = true, paramLabel = "DIMENSION", description = "team, user, agent, model or tier.") String by;
        @Option(names = "--since", paramLabel = "YYYY-MM-DD", description = "First day (default: the first day of this month).") String since;
        @Option(names = "--until", paramLabel = "YYYY-MM-DD", description = "Last day (default: today).") String until;
        @Option(names = "--json", description = "Print JSON.") boolean json;
        @Option(names = "--csv", description = "Print CSV (RFC 4180) with a header row.") boolean csv;

        @Override
        public Integer call() throws Exception {
            if (!HttpApi.SPEND_DIMENSIONS.contains(by)) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--by: expected team, user, agent, model or tier; got '" + by + "'");
            }
            if (json && csv) throw new CommandLine.ParameterException(spec.commandLine(), "--json and --csv cannot be used together");
            LocalDate today = LocalDate.now(ZoneOffset.UTC);
            LocalDate from = date("--since", since, today.withDayOfMonth(1));
            LocalDate to = date("--until", until, today);
            if (from.isAfter(to)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--since " + from + " is after --until " + to);
            }
            CarapaceConfig config = common.config();
            java.util.List<SpendRow> rows;
            try (Store store = Carapace.openStore(config, common.dataDir(), System::getenv)) {
                rows = LedgerBook.of(store).spend(by, from, to, null);
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(JSON.writeValueAsString(HttpApi.spendJson(by, from, to, null, rows)));
            } else if (csv) {
                out.print(csvLine(by, "requests", "unserved", "input_tokens", "cached_input_tokens", "output_tokens",
                        "reasoning_tokens", "cost_usd"));
                for (SpendRow r : rows) {
                    out.print(csvLine(r.key(), Long.toString(r.requests()), Long.toString(r.unserved()), Long.toString(r.inputTokens()),
                            Long.toString(r.cachedInputTokens()), Long.toString(r.outputTokens()),
                            Long.toString(r.reasoningTokens()), Money.amount(r.costNanos()).toPlainString()));
                }
                out.flush();
            } else {
                String row = "%-28s %10s %10s %14s %14s %14s %14s %14s%n";
                out.printf("Spend by %s, %s to %s (UTC days); UNSERVED: calls refused, invalid or failed upstream%n", by, from, to);
                out.printf(row, by.toUpperCase(java.util.Locale.ROOT), "REQUESTS", "UNSERVED", "INPUT", "CACHED", "OUTPUT",
                        "REASONING", "COST USD");
                java.util.List<SpendRow> all = new java.util.ArrayList<>(rows);
                all.add(HttpApi.spendTotal(rows));
                for (SpendRow r : all) {
                    out.printf(row, r.key().isEmpty() ? "-" : r.key(), r.requests(), r.unserved(), r.inputTokens(),
                            r.cachedInputTokens(), r.outputTokens(), r.reasoningTokens(), Money.format(r.costNanos()));
                }
            }
            return 0;
        }

        private LocalDate date(String option, String value, LocalDate fallback) {
            if (value == null) return fallback;
            try {
                return LocalDate.parse(value);
            } catch (DateTimeParseException e) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        option + ": expected a date YYYY-MM-DD; got '" + value + "'");
            }
        }

        /** One CSV record: fields with a comma, quote or line break are quoted, quotes doubled; CRLF ends it. */
        static String csvLine(String... fields) {
            StringBuilder line = new StringBuilder();
            for (String f : fields) {
                if (!line.isEmpty()) line.append(',');
                if (f.contains(",") || f.contains("\"") || f.contains("\n") || f.contains("\r")) {
                    line.append('"').append(f.replace("\"", "\"\"")).append('"');
                } else {
                    line.append(f);
                }
            }
            return line.append("\r\n").toString();
        }
    }
}
