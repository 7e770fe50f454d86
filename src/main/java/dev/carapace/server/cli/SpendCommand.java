package dev.carapace.server.cli;

import dev.carapace.config.CarapaceConfig;
import dev.carapace.ledger.Money;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.server.json.SpendReport;
import dev.carapace.store.LedgerTables.SpendRow;
import dev.carapace.store.Store;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.concurrent.Callable;

import static dev.carapace.server.cli.Main.JSON;

/** {@code carapace spend}: the spend report of {@code /api/spend}, read straight from the store, as a table, JSON or CSV. */
@Command(name = "spend", mixinStandardHelpOptions = true,
        description = {"Report spend (requests, tokens, cost in USD) grouped by team, user, agent, model or tier.",
                "Days are UTC; both ends are included. Default: from the first day of this month to today."})
final class SpendCommand extends CliCommand implements Callable<Integer> {
    @Mixin ConfigOptions common;

    @Option(names = "--by", required = true, paramLabel = "DIMENSION", description = "team, user, agent, model or tier.") String by;
    @Option(names = "--since", paramLabel = "YYYY-MM-DD", description = "First day (default: the first day of this month).") String since;
    @Option(names = "--until", paramLabel = "YYYY-MM-DD", description = "Last day (default: today).") String until;
    @Option(names = "--json", description = "Print JSON.") boolean json;
    @Option(names = "--csv", description = "Print CSV (RFC 4180) with a header row.") boolean csv;

    @Override
    public Integer call() throws Exception {
        if (!SpendReport.DIMENSIONS.contains(by)) {
            throw usageError("--by: expected team, user, agent, model or tier; got '" + by + "'");
        }
        if (json && csv) throw usageError("--json and --csv cannot be used together");
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        LocalDate from = date("--since", since, today.withDayOfMonth(1));
        LocalDate to = date("--until", until, today);
        if (from.isAfter(to)) {
            throw usageError("--since " + from + " is after --until " + to);
        }
        CarapaceConfig config = common.config();
        java.util.List<SpendRow> rows;
        try (Store store = common.openStore(config)) {
            rows = LedgerBook.of(store).spend(by, from, to, null);
        }
        PrintWriter out = out();
        if (json) {
            out.println(JSON.writeValueAsString(SpendReport.json(by, from, to, null, rows)));
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
            all.add(SpendReport.total(rows));
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
            throw usageError(option + ": expected a date YYYY-MM-DD; got '" + value + "'");
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
