package dev.carapace.server.json;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.ledger.Budget;
import dev.carapace.ledger.Money;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.LedgerTables.WindowRow;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.util.Locale;
import java.util.TreeMap;

import static dev.carapace.server.json.AgentJson.JSON;

/** A budget and its current window (what it has spent and holds for calls in flight), as the CLI and API show it. */
public record BudgetView(Budget budget, Instant windowStart, Instant resetsAt, WindowRow window) {

    public static BudgetView of(Budget b, LedgerBook book, Instant now) {
        Instant start = b.period().start(now, b.zone());
        WindowKey key = new WindowKey(b.id(), start.toEpochMilli(), "*");
        return new BudgetView(b, start, b.period().reset(now, b.zone()), book.window(key).orElse(new WindowRow(key, 0, 0, 0, 0)));
    }

    /** How much of its limit the window has spent (the larger of money and tokens), e.g. 12.5. */
    public BigDecimal percent() {
        BigDecimal money = percent(window.spentNanos(), budget.limitNanos());
        BigDecimal tokens = percent(window.spentTokens(), budget.limitTokens());
        if (money == null) return tokens;
        return tokens == null ? money : money.max(tokens);
    }

    private static BigDecimal percent(long spent, Long limit) {
        if (limit == null) return null;
        if (limit == 0) return new BigDecimal("100.00");   // nothing may be spent: the budget is used up
        return BigDecimal.valueOf(spent).multiply(BigDecimal.valueOf(100)).divide(BigDecimal.valueOf(limit), 2, RoundingMode.HALF_UP);
    }

    public ObjectNode json() {
        Budget b = budget;
        ObjectNode n = JSON.createObjectNode().put("id", b.id()).put("scope", b.scope().name().toLowerCase(Locale.ROOT))
                .put("subject", b.subject()).put("period", b.period().label()).put("time_zone", b.zone().getId())
                .put("currency", b.currency())
                .put("amount", b.limitNanos() == null ? null : Money.amount(b.limitNanos()).toPlainString())
                .put("tokens", b.limitTokens());
        ArrayNode soft = n.putArray("soft");
        b.softPercents().forEach(soft::add);
        ObjectNode tiers = n.putObject("tiers");
        new TreeMap<>(b.tiers()).forEach((t, r) -> tiers.put(t, r.exempt() ? "exempt" : Money.amount(r.capNanos()).toPlainString()));
        n.putObject("current").put("window_start", windowStart.toString())
                .put("resets_at", resetsAt == null ? null : resetsAt.toString())
                .put("spent", Money.amount(window.spentNanos()).toPlainString())
                .put("reserved", Money.amount(window.reservedNanos()).toPlainString())
                .put("spent_tokens", window.spentTokens()).put("reserved_tokens", window.reservedTokens())
                .put("percent", percent());
        return n;
    }
}
