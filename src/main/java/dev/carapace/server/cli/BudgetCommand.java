package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.ledger.Budget;
import dev.carapace.ledger.BudgetSync;
import dev.carapace.ledger.Budgets;
import dev.carapace.ledger.Money;
import dev.carapace.ledger.Period;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.ApiException;
import dev.carapace.server.Carapace;
import dev.carapace.server.json.BudgetView;
import dev.carapace.store.Store;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Map;

import static dev.carapace.server.cli.Main.JSON;

/** {@code carapace budget set|show|list|delete}: the budgets, straight in the store; running gateways pick them up. */
@Command(name = "budget", mixinStandardHelpOptions = true,
        description = "Set, show, list and delete the budgets of the org, teams, users and agents.",
        subcommands = {BudgetCommand.Set.class, BudgetCommand.Show.class, BudgetCommand.List.class, BudgetCommand.Delete.class})
final class BudgetCommand extends GroupCommand {

    abstract static class LedgerCommand extends StoreCommand {

        @Override
        int run(CarapaceConfig config, Store store) throws Exception {
            Clock clock = Clock.systemUTC();
            return run(Carapace.budgets(config, store, clock), LedgerBook.of(store), clock.instant(), out());
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
                    throw usageError("--amount: expected a decimal such as 500 or 0.25; got '" + amount + "'");
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
                return fail("no budget '" + id + "' (see 'carapace budget list')");
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
