package dev.carapace.ledger;

import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.ApiException;
import dev.carapace.store.Store;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class BudgetsValidationTest {

    @TempDir Path dir;
    private Store store;
    private Budgets budgets;

    @BeforeEach
    void open() {
        store = Store.open("jdbc:sqlite:" + dir.resolve("b.db"), null, null, 2);
        budgets = new Budgets(LedgerBook.of(store), Clock.fixed(Instant.parse("2026-03-01T00:00:00Z"), ZoneOffset.UTC), "acme",
                Set.of("platform", "research"), Set.of("free", "mid", "high", "high-speed", "ultra"),
                (scope, name) -> switch (scope) {
                    case USER -> name.equals("alice");
                    case AGENT -> name.equals("agent-7.x");
                    case JOB -> name.equals("nightly");
                    default -> true;
                });
    }

    @AfterEach
    void close() { store.close(); }

    private static Budgets.Request req(String scope, String subject, String amount, Long tokens, String period, String zone,
                                       String currency, String soft, Map<String, String> tiers) {
        return new Budgets.Request(scope, subject, amount == null ? null : new BigDecimal(amount), tokens, period, zone,
                currency, soft, tiers);
    }

    private static Budgets.Request team(String amount) {
        return req("team", "platform", amount, null, null, null, null, null, null);
    }

    /** Asserts {@code r} is refused naming {@code param}, and that no budget was stored, in memory or in the store. */
    private void refused(Budgets.Request r, String param, String messagePart) {
        ApiException e = catchThrowableOfType(ApiException.class, () -> budgets.set(r));
        assertThat(e).as("refused: " + r).isNotNull();
        assertThat(e.kind()).isEqualTo(ApiException.Kind.INVALID_REQUEST);
        assertThat(e.param()).isEqualTo(param);
        assertThat(e.getMessage()).contains(messagePart);
        assertThat(LedgerBook.of(store).budgets()).as("nothing stored after " + r).isEmpty();
        assertThat(budgets.list()).isEmpty();
    }

    @Test
    void defaultsAndExactAmounts() {
        Budget b = budgets.set(team("12.345678901"));
        assertThat(b.id()).isEqualTo("team:platform");
        assertThat(b.limitNanos()).isEqualTo(12_345_678_901L);
        assertThat(b.limitTokens()).isNull();
        assertThat(b.period()).isEqualTo(Period.MONTH);
        assertThat(b.zone()).isEqualTo(ZoneId.of("UTC"));
        assertThat(b.currency()).isEqualTo("USD");
        assertThat(b.softPercents()).containsExactly(50, 80, 90);
        assertThat(b.tiers()).isEmpty();
        // a round trip through the store gives the same budget
        budgets.refresh();
        assertThat(budgets.get("team:platform")).isEqualTo(b);
        assertThat(LedgerBook.of(store).budgets()).hasSize(1);
    }

    @Test
    void everyFieldRoundTripsThroughTheStore() {
        Map<String, String> tiers = new LinkedHashMap<>();
        tiers.put("ultra", "0");
        tiers.put("high", "2.5");
        tiers.put("free", "exempt");
        Budget b = budgets.set(req("team", "research", "1000000000", 1_000_000_000_000_000L, "week", "Europe/Paris", "EUR",
                " 10, 20 ,99", tiers));
        assertThat(b.limitNanos()).isEqualTo(1_000_000_000_000_000_000L);
        assertThat(b.softPercents()).containsExactly(10, 20, 99);
        assertThat(b.tiers()).containsEntry("ultra", new Budget.TierRule(false, 0L))
                .containsEntry("high", new Budget.TierRule(false, 2_500_000_000L))
                .containsEntry("free", new Budget.TierRule(true, null));
        budgets.refresh();
        assertThat(budgets.get("team:research")).isEqualTo(b);

        Budget org = budgets.set(req("ORG", null, null, 5_000L, "none", "UTC", null, "", null));
        assertThat(org.id()).isEqualTo("org:acme");
        assertThat(org.softPercents()).isEmpty();
        assertThat(org.limitNanos()).isNull();
        Budget user = budgets.set(req("user", "alice", "0", null, "day", null, null, null, null));
        assertThat(user.limitNanos()).isZero();
        Budget agent = budgets.set(req("agent", "agent-7.x", "1", null, null, null, null, null, null));
        assertThat(agent.id()).isEqualTo("agent:agent-7.x");
        budgets.refresh();
        assertThat(budgets.list()).extracting(Budget::id).containsExactly("agent:agent-7.x", "org:acme", "team:research", "user:alice");
    }

    @Test
    void replacingABudgetKeepsOneRow() {
        budgets.set(team("1"));
        budgets.set(team("2"));
        assertThat(LedgerBook.of(store).budgets()).hasSize(1);
        assertThat(budgets.get("team:platform").limitNanos()).isEqualTo(2_000_000_000L);
    }

    @Test
    void refusesBadAmounts() {
        refused(team("-0.000000001"), "amount", "expected 0 to");
        refused(team("1000000000.000000001"), "amount", "expected 0 to");
        refused(team("1e10"), "amount", "expected 0 to");
        refused(team("1e400"), "amount", "expected 0 to");
        refused(team("0.0000000001"), "amount", "at most 9 decimals");
        refused(req("team", "platform", null, null, null, null, null, null, null), "amount", "money limit");
        refused(req("team", "platform", null, -1L, null, null, null, null, null), "tokens", "tokens: expected 0 to 1000000000000000");
        refused(req("team", "platform", null, 1_000_000_000_000_001L, null, null, null, null, null), "tokens",
                "tokens: expected 0 to 1000000000000000; got 1000000000000001");
        refused(req("team", "platform", null, Long.MAX_VALUE, null, null, null, null, null), "tokens", "tokens: expected 0 to");
    }

    @Test
    void refusesUnknownSubjects() {
        refused(req("team", "nobody", "1", null, null, null, null, null, null), "subject", "unknown team 'nobody'");
        refused(req("team", null, "1", null, null, null, null, null, null), "subject", "which team");
        refused(req("team", "  ", "1", null, null, null, null, null, null), "subject", "which team");
        refused(req("user", "mallory", "1", null, null, null, null, null, null), "subject", "unknown user 'mallory'");
        refused(req("org", "other-org", "1", null, null, null, null, null, null), "subject", "org is 'acme'");
        refused(req("agent", "-bad", "1", null, null, null, null, null, null), "subject", "not a valid agent id");
        refused(req("agent", "a".repeat(129), "1", null, null, null, null, null, null), "subject", "not a valid agent id");
        // regression: a budget for an agent or job that does not exist was accepted, and held nothing
        refused(req("agent", "nosuch", "1", null, null, null, null, null, null), "subject", "no agent 'nosuch' in the config");
        refused(req("job", "nosuch", "1", null, null, null, null, null, null), "subject", "no job 'nosuch'");
        refused(req("galaxy", "platform", "1", null, null, null, null, null, null), "scope", "expected org, team, user, agent or job");
        refused(req(null, "platform", "1", null, null, null, null, null, null), "scope", "expected org, team, user, agent or job");
    }

    @Test
    void refusesBadPeriodZoneAndCurrency() {
        refused(req("team", "platform", "1", null, "fortnight", null, null, null, null), "period", "expected day, week, month or none");
        refused(req("team", "platform", "1", null, "", null, null, null, null), "period", "expected day, week, month or none");
        refused(req("team", "platform", "1", null, null, "Mars/Olympus_Mons", null, null, null), "time_zone", "is not a time zone");
        refused(req("team", "platform", "1", null, null, "", null, null, null), "time_zone", "is not a time zone");
        refused(req("team", "platform", "1", null, null, "UTC+25", null, null, null), "time_zone", "is not a time zone");
        refused(req("team", "platform", "1", null, null, null, "usd", null, null), "currency", "3-letter code");
        refused(req("team", "platform", "1", null, null, null, "US", null, null), "currency", "3-letter code");
        refused(req("team", "platform", "1", null, null, null, "USDT", null, null), "currency", "3-letter code");
        refused(req("team", "platform", "1", null, null, null, "", null, null), "currency", "3-letter code");
    }

    @Test
    void refusesBadSoftLists() {
        for (String soft : List.of("abc", "50,,80", "50;80", "5O", "50.5")) {
            refused(req("team", "platform", "1", null, null, null, null, soft, null), "soft", "expected percentages");
        }
        refused(req("team", "platform", "1", null, null, null, null, "0", null), "soft", "1 to 99");
        refused(req("team", "platform", "1", null, null, null, null, "100", null), "soft", "1 to 99");
        refused(req("team", "platform", "1", null, null, null, null, "-5", null), "soft", "1 to 99");
        refused(req("team", "platform", "1", null, null, null, null, "80,50", null), "soft", "ascending");
        refused(req("team", "platform", "1", null, null, null, null, "50,50", null), "soft", "ascending");
    }

    @Test
    void refusesBadTierRules() {
        refused(req("team", "platform", "1", null, null, null, null, null, Map.of("platinum", "0")), "tiers", "unknown tier 'platinum'");
        refused(req("team", "platform", "1", null, null, null, null, null, Map.of("ultra", "-1")), "tiers", "tiers.ultra");
        refused(req("team", "platform", "1", null, null, null, null, null, Map.of("ultra", "lots")), "tiers", "tiers.ultra");
        refused(req("team", "platform", "1", null, null, null, null, null, Map.of("ultra", "Exempt")), "tiers", "tiers.ultra");
        refused(req("team", "platform", "1", null, null, null, null, null, Map.of("ultra", "1e10")), "tiers", "tiers.ultra");
        // one bad rule among good ones: still nothing stored
        Map<String, String> mixed = new LinkedHashMap<>();
        mixed.put("free", "exempt");
        mixed.put("mid", "5");
        mixed.put("nope", "1");
        refused(req("team", "platform", "1", null, null, null, null, null, mixed), "tiers", "unknown tier 'nope'");
    }

    @Test
    void aRefusedEditLeavesTheExistingBudgetUntouched() {
        Budget before = budgets.set(team("3"));
        ApiException e = catchThrowableOfType(ApiException.class,
                () -> budgets.set(req("team", "platform", "5", null, null, "Nowhere/Land", null, null, null)));
        assertThat(e).isNotNull();
        budgets.refresh();
        assertThat(budgets.get("team:platform")).isEqualTo(before);
        assertThat(LedgerBook.of(store).budgets()).singleElement().extracting(r -> r.limitNanos()).isEqualTo(3_000_000_000L);
    }

    @Test
    void unknownBudgetIsNotFound() {
        ApiException e = catchThrowableOfType(ApiException.class, () -> budgets.get("team:ghost"));
        assertThat(e.kind()).isEqualTo(ApiException.Kind.NOT_FOUND);
        assertThat(e.code()).isEqualTo("budget_not_found");
    }
}
