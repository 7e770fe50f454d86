package dev.carapace.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.identity.Principal;
import dev.carapace.ledger.Budget;
import dev.carapace.ledger.Budgets;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.ApiException;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;
import dev.carapace.server.json.BudgetView;
import dev.carapace.text.Decimals;

import java.io.IOException;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.carapace.server.json.AgentJson.JSON;
import static dev.carapace.server.api.HttpApi.parseJsonObject;
import static dev.carapace.server.api.HttpApi.sendJson;
import static dev.carapace.server.api.HttpApi.text;
import static dev.carapace.text.Excerpt.clip;

/**
 * The budgets ({@code /api/budgets}): admins set, list and delete them; members see the budgets their own calls are
 * held to. Framed like every {@code /api} route by {@link HttpApi#handleApi}.
 */
public final class BudgetsApi {

    private final HttpApi api;
    private final Budgets budgets;
    private final LedgerBook book;
    private final Clock clock;
    private final java.util.function.BiPredicate<Principal, String> alsoHeldTo;

    public BudgetsApi(HttpApi api, Budgets budgets, LedgerBook book, Clock clock) {
        this(api, budgets, book, clock, (p, id) -> false);
    }

    /**
     * @param alsoHeldTo whether a member's calls are also held to the budget {@code id} (an agent's they may use, a
     *                   job's they manage), besides their user's, team's and org's
     */
    public BudgetsApi(HttpApi api, Budgets budgets, LedgerBook book, Clock clock,
                      java.util.function.BiPredicate<Principal, String> alsoHeldTo) {
        this.api = api;
        this.budgets = budgets;
        this.book = book;
        this.clock = clock;
        this.alsoHeldTo = alsoHeldTo;
    }

    /** Registered before {@link HttpApi#routes}, whose catch-all answers everything else. */
    public void routes(Routes r) {
        r.get("/api/budgets", x -> api.handleApi("api", x, () -> listBudgets(x)))
         .get("/api/budgets/{id}", x -> api.handleApi("api", x, () -> getBudget(x)))
         .put("/api/budgets/{id}", x -> api.handleApi("api", x, () -> putBudget(x)))
         .delete("/api/budgets/{id}", x -> api.handleApi("api", x, () -> deleteBudget(x)));
    }

    private void listBudgets(Exchange x) {
        Principal p = api.authenticate(x);
        AgentApi.noQuery(x);
        Instant now = clock.instant();
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        for (Budget b : budgets.list()) {
            if (visible(p, b.id())) data.add(BudgetView.of(b, book, now).json());
        }
        sendJson(x, 200, body);
    }

    private void getBudget(Exchange x) {
        Principal p = api.authenticate(x);
        String id = x.pathParam("id");
        if (!visible(p, id)) throw noBudget(id);   // the same answer as for a budget that does not exist
        sendJson(x, 200, BudgetView.of(budgets.get(id), book, clock.instant()).json());
    }

    private void putBudget(Exchange x) throws IOException {
        api.requireAdmin(x);
        String id = x.pathParam("id");
        int colon = id.indexOf(':');
        if (colon <= 0 || colon == id.length() - 1) {
            throw ApiException.invalid("id", "id: expected SCOPE:NAME, e.g. team:platform, user:alice, org:"
                    + "ORG or agent:NAME; got '" + clip(id, 60) + "'");
        }
        JsonNode in = parseJsonObject(api.body(x));
        for (var it = in.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!Set.of("amount", "tokens", "period", "time_zone", "currency", "soft", "tiers").contains(f)) {
                throw ApiException.invalid(f, f + ": unknown field (expected amount, tokens, period, time_zone, currency,"
                        + " soft, tiers; the scope and subject come from the URL)");
            }
        }
        Budgets.Request r = new Budgets.Request(id.substring(0, colon), id.substring(colon + 1), amount(in), tokens(in),
                text(in, "period", null), text(in, "time_zone", null), text(in, "currency", null), soft(in), tierRules(in));
        Budget b;
        try {
            b = budgets.set(r);
        } catch (ApiException e) {
            if (!"scope".equals(e.param()) && !"subject".equals(e.param())) throw e;
            throw ApiException.invalid("id", "id: " + e.getMessage());   // scope and subject were read from the id
        }
        sendJson(x, 200, BudgetView.of(b, book, clock.instant()).json());
    }

    private void deleteBudget(Exchange x) {
        api.requireAdmin(x);
        String id = x.pathParam("id");
        if (!budgets.delete(id)) throw noBudget(id);
        sendJson(x, 200, JSON.createObjectNode().put("id", id).put("deleted", true));
    }

    /**
     * Admins see every budget; members the budgets their own calls are held to: their user's, team's and org's, and
     * those of the agents they use and the jobs they manage.
     */
    private boolean visible(Principal p, String id) {
        return p.isAdmin() || id.equals(Budget.id(Budget.Scope.USER, p.user()))
                || id.equals(Budget.id(Budget.Scope.TEAM, p.team())) || id.equals(Budget.id(Budget.Scope.ORG, p.org()))
                || alsoHeldTo.test(p, id);
    }

    /** Worded like {@link Budgets#get}'s refusal, so a member cannot tell a hidden budget from a missing one. */
    private static ApiException noBudget(String id) {
        return new ApiException(ApiException.Kind.NOT_FOUND, "No budget '" + clip(id, 60) + "'. Budgets are named SCOPE:NAME,"
                + " e.g. team:platform.", "id", "budget_not_found", null, false);
    }

    /** "500.00" or 500.00: kept exact. */
    private static BigDecimal amount(JsonNode in) {
        JsonNode v = in.get("amount");
        if (v == null || v.isNull()) return null;
        BigDecimal amount = v.isNumber() ? Decimals.bounded(v.decimalValue()) : v.isTextual() ? Decimals.parse(v.asText().strip()) : null;
        if (amount != null) return amount;
        throw ApiException.invalid("amount", "amount: expected a decimal such as \"500.00\" or 500; got " + clip(v.toString(), 60));
    }

    private static Long tokens(JsonNode in) {
        JsonNode v = in.get("tokens");
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw ApiException.invalid("tokens", "tokens: expected a whole number of tokens; got " + clip(v.toString(), 60));
        }
        return v.longValue();
    }

    /** [50, 80, 90] or "50,80,90"; the percentages themselves are checked by {@link Budgets#set}. */
    private static String soft(JsonNode in) {
        JsonNode v = in.get("soft");
        if (v == null || v.isNull()) return null;
        if (v.isTextual()) return v.asText();
        if (!v.isArray()) throw ApiException.invalid("soft", "soft: expected percentages such as [50, 80, 90] or \"50,80,90\"");
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isIntegralNumber() || !v.get(i).canConvertToInt()) {
                throw ApiException.invalid("soft", "soft[" + i + "]: expected a whole percentage; got " + clip(v.get(i).toString(), 60));
            }
            parts.add(Integer.toString(v.get(i).intValue()));
        }
        return String.join(",", parts);
    }

    /** {"ultra": "0", "free": "exempt"}; caps may also be numbers. */
    private static Map<String, String> tierRules(JsonNode in) {
        JsonNode v = in.get("tiers");
        if (v == null || v.isNull()) return null;
        if (!v.isObject()) throw ApiException.invalid("tiers", "tiers: expected an object such as {\"ultra\": \"0\", \"free\": \"exempt\"}");
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (var it = v.fields(); it.hasNext(); ) {
            var e = it.next();
            JsonNode rule = e.getValue();
            BigDecimal cap = rule.isNumber() ? Decimals.bounded(rule.decimalValue()) : null;
            if (cap != null) out.put(e.getKey(), cap.toPlainString());
            else if (rule.isTextual()) out.put(e.getKey(), rule.asText());
            else throw ApiException.invalid("tiers", "tiers." + clip(e.getKey(), 60) + ": expected an amount (0 forbids the tier) or 'exempt'; got "
                    + clip(rule.toString(), 60));
        }
        return out;
    }
}
