package dev.carapace.server.json;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.ledger.Money;
import dev.carapace.store.LedgerTables.SpendRow;

import java.time.LocalDate;
import java.util.List;

import static dev.carapace.server.json.AgentJson.JSON;

/** A spend report as {@code /api/spend} and {@code carapace spend} show it: its dimensions, rows and total. */
public final class SpendReport {

    /** What a report may group by. */
    public static final List<String> DIMENSIONS = List.of("team", "user", "agent", "model", "tier");

    private SpendReport() {}

    /** A spend report: money as exact decimal strings of USD, tokens as integers. Days are UTC. */
    public static ObjectNode json(String by, LocalDate since, LocalDate until, String user, List<SpendRow> rows) {
        ObjectNode body = JSON.createObjectNode().put("by", by).put("since", since.toString()).put("until", until.toString())
                .put("user", user);
        ArrayNode data = body.putArray("data");
        for (SpendRow r : rows) fields(data.addObject().put(by, r.key().isEmpty() ? null : r.key()), r);
        fields(body.putObject("total"), total(rows));
        return body;
    }

    /** The sum of a report's rows. */
    public static SpendRow total(List<SpendRow> rows) {
        long requests = 0, unserved = 0, in = 0, cached = 0, out = 0, reasoning = 0, cost = 0;
        for (SpendRow r : rows) {
            requests += r.requests();
            unserved += r.unserved();
            in += r.inputTokens();
            cached += r.cachedInputTokens();
            out += r.outputTokens();
            reasoning += r.reasoningTokens();
            cost += r.costNanos();
        }
        return new SpendRow("TOTAL", requests, unserved, in, cached, out, reasoning, cost);
    }

    private static void fields(ObjectNode n, SpendRow r) {
        n.put("requests", r.requests()).put("unserved", r.unserved()).put("input_tokens", r.inputTokens())
                .put("cached_input_tokens", r.cachedInputTokens()).put("output_tokens", r.outputTokens())
                .put("reasoning_tokens", r.reasoningTokens()).put("cost_usd", Money.amount(r.costNanos()).toPlainString());
    }
}
