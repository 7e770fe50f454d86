package dev.carapace.ledger;

import dev.carapace.identity.Principal;
import dev.carapace.ledger.book.LedgerBook;
import dev.carapace.model.ApiException;
import dev.carapace.store.LedgerTables.BudgetRow;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiPredicate;

import static dev.carapace.text.Excerpt.clip;

/**
 * The budgets, kept in the store and mirrored in memory so the request path finds a caller's budgets with three
 * map lookups. Edits go through {@link #set}, which validates everything before anything is written.
 */
public final class Budgets {

    /** Largest token limit: 10^15, far from where sums in the store could overflow. */
    static final long MAX_TOKENS = 1_000_000_000_000_000L;

    private final LedgerBook book;
    private final Clock clock;
    private final String org;
    private final Set<String> teams;
    private final Set<String> tiers;
    private final BiPredicate<Budget.Scope, String> known;
    private volatile Map<String, Budget> byId = Map.of();
    /** Counts the changes of {@link #byId}: a call that began under other budgets is charged on these instead. */
    private volatile long version;
    /** False until the first read: the budgets found then are not new, whatever the mirror held (nothing). */
    private boolean loaded;
    /**
     * Held from reading a budget's old version to mirroring the store again: edits apply one at a time, so the
     * mirror ends as the store ends, and a period change moves the windows of the version it replaces.
     */
    private final ReentrantLock edits = new ReentrantLock();

    /**
     * @param known whether a user (one that has had a key), an agent or a job of that name exists; budgets for
     *              unknown ones are refused
     */
    public Budgets(LedgerBook book, Clock clock, String org, Set<String> teams, Set<String> tiers,
                   BiPredicate<Budget.Scope, String> known) {
        this.book = book;
        this.clock = clock;
        this.org = org;
        this.teams = teams;
        this.tiers = tiers;
        this.known = known;
        refresh();
    }

    /**
     * Re-reads the budgets from the store (other gateways, or the CLI, may have changed them). A budget that is new
     * since the last read starts its window with what its subject already spent in it ({@link LedgerBook#seedWindow}),
     * before any call is held to it; whoever creates a budget, this process or another, sees it here first.
     */
    public void refresh() {
        edits.lock();
        try {
            Map<String, Budget> before = byId;
            Map<String, Budget> m = new HashMap<>();
            for (BudgetRow r : book.budgets()) m.put(r.id(), fromRow(r));
            if (!loaded) {
                byId = Map.copyOf(m);
                loaded = true;
                return;
            }
            if (m.equals(before)) return;
            Instant now = clock.instant();
            // One step that no call's charge comes in the middle of: a call that ended before it is in the records a
            // new or moved budget's window is set from; one that ends after it finds the budgets changed and counts
            // on theirs (Ledger). A moved budget's holds move again: what reached the old window since the editor
            // moved them (another process cannot fold this one's journal) goes to the new one. And a gateway that
            // keeps windows in memory reads them again before its calls use them (edits are rare; a read is cheap).
            book.resync(() -> {
                for (Budget b : m.values()) {
                    Budget old = before.get(b.id());
                    boolean moved = old != null && (old.period() != b.period() || !old.zone().equals(b.zone()));
                    if (old != null && !moved) continue;
                    long start = b.period().start(now, b.zone()).toEpochMilli();
                    if (moved) {
                        book.moveHolds(b.id(), old.period().start(now, old.zone()).toEpochMilli(), start,
                                b.scope() == Budget.Scope.JOB);
                    }
                    Set<String> exempt = new HashSet<>();
                    Set<String> capped = new HashSet<>();
                    b.tiers().forEach((tier, rule) -> {
                        if (rule.exempt()) exempt.add(tier);
                        if (rule.capNanos() != null) capped.add(tier);
                    });
                    book.seedWindow(b.id(), b.scope().name().toLowerCase(Locale.ROOT), b.subject(), start, exempt, capped);
                }
                byId = Map.copyOf(m);
                version++;
            });
        } finally {
            edits.unlock();
        }
    }

    /** Moves on each change of the budgets (see {@link #refresh}); a cheap read for every call's charge. */
    long version() { return version; }

    /**
     * The budgets a call by {@code p} must satisfy: its agent's (when an agent calls), its user's, its team's and the
     * org's.
     */
    public List<Budget> path(Principal p) {
        Map<String, Budget> m = byId;
        if (m.isEmpty()) return List.of();
        List<Budget> out = new ArrayList<>(4);
        Budget b;
        if (p.job() != null && (b = m.get(Budget.id(Budget.Scope.JOB, p.job()))) != null) out.add(b);
        if (p.agent() != null && (b = m.get(Budget.id(Budget.Scope.AGENT, p.agent()))) != null) out.add(b);
        if (p.user() != null && (b = m.get(Budget.id(Budget.Scope.USER, p.user()))) != null) out.add(b);
        if ((b = m.get(Budget.id(Budget.Scope.TEAM, p.team()))) != null) out.add(b);
        if ((b = m.get(Budget.id(Budget.Scope.ORG, p.org()))) != null) out.add(b);
        return out;
    }

    public List<Budget> list() {
        List<Budget> l = new ArrayList<>(byId.values());
        l.sort(java.util.Comparator.comparing(Budget::id));
        return l;
    }

    public Budget get(String id) {
        Budget b = byId.get(id);
        if (b == null) {
            throw new ApiException(ApiException.Kind.NOT_FOUND, "No budget '" + clip(id, 40) + "'. Budgets are named SCOPE:NAME,"
                    + " e.g. team:platform.", "id", "budget_not_found", null, false);
        }
        return b;
    }

    public boolean delete(String id) {
        edits.lock();
        try {
            boolean deleted = book.deleteBudget(id);
            refresh();
            return deleted;
        } finally {
            edits.unlock();
        }
    }

    /** What an admin asks for; every field is checked by {@link #set}. Null means "not given". */
    public record Request(String scope, String subject, BigDecimal amount, Long tokens, String period, String timeZone,
                          String currency, String soft, Map<String, String> tiers) {}

    /** Creates or replaces a budget. Throws {@link ApiException} naming the first invalid field; nothing changes then. */
    public Budget set(Request r) {
        Budget.Scope scope = parseScope(r.scope());
        String subject = r.subject();
        if (scope == Budget.Scope.ORG && subject == null) subject = org;
        checkSubject(scope, subject);
        if (r.amount() == null && r.tokens() == null) {
            throw ApiException.invalid("amount", "a budget needs a money limit (amount), a token limit (tokens), or both");
        }
        Long limitNanos = null;
        if (r.amount() != null) {
            if (r.amount().signum() < 0 || r.amount().compareTo(Money.MAX) > 0) {
                throw ApiException.invalid("amount", "amount: expected 0 to " + Money.MAX.toPlainString() + "; got " + clip(r.amount().toString(), 40));
            }
            if (r.amount().scale() > 9) throw ApiException.invalid("amount", "amount: at most 9 decimals");
            limitNanos = Money.nanos(r.amount());
        }
        if (r.tokens() != null && (r.tokens() < 0 || r.tokens() > MAX_TOKENS)) {
            throw ApiException.invalid("tokens", "tokens: expected 0 to " + MAX_TOKENS + "; got " + r.tokens());
        }
        Period period = parsePeriod(r.period() == null ? "month" : r.period());
        ZoneId zone;
        try {
            zone = ZoneId.of(r.timeZone() == null ? "UTC" : r.timeZone());
        } catch (DateTimeException e) {
            throw ApiException.invalid("time_zone", "time_zone: '" + clip(r.timeZone(), 40) + "' is not a time zone (expected e.g. UTC, Europe/Paris, America/New_York)");
        }
        String currency = r.currency() == null ? "USD" : r.currency();
        if (!currency.matches("[A-Z]{3}")) {
            throw ApiException.invalid("currency", "currency: expected a 3-letter code such as USD or EUR; got '" + clip(currency, 40) + "'");
        }
        List<Integer> soft = parseSoft(r.soft() == null ? "50,80,90" : r.soft());
        Map<String, Budget.TierRule> tierRules = new LinkedHashMap<>();
        if (r.tiers() != null) {
            for (var e : r.tiers().entrySet()) {
                if (!tiers.contains(e.getKey())) {
                    throw ApiException.invalid("tiers", "tiers: unknown tier '" + clip(e.getKey(), 40) + "' (tiers: " + String.join(", ", tiers) + ")");
                }
                tierRules.put(e.getKey(), parseTierRule(e.getKey(), e.getValue()));
            }
        }
        Budget b = new Budget(scope, subject, period, zone, currency, limitNanos, r.tokens(), soft, tierRules);
        edits.lock();
        try {
            Budget old = byId.get(b.id());
            Instant now = clock.instant();
            if (old != null && (old.period() != period || !old.zone().equals(zone))) {
                // Windows are keyed by their start, so a new period or zone means a new window: carry what the
                // current one spent and holds, or an admin's edit would hand the period's money back.
                book.putBudget(toRow(b, clock), old.period().start(now, old.zone()).toEpochMilli(),
                        period.start(now, zone).toEpochMilli());
            } else {
                book.putBudget(toRow(b, clock));
            }
            refresh();
        } finally {
            edits.unlock();
        }
        return b;
    }

    private void checkSubject(Budget.Scope scope, String subject) {
        if (subject == null || subject.isBlank()) throw ApiException.invalid("subject", "subject: which " + scope.name().toLowerCase() + " the budget is for");
        switch (scope) {
            case ORG -> {
                if (!subject.equals(org)) throw ApiException.invalid("subject", "subject: this gateway's org is '" + org + "', not '" + clip(subject, 40) + "'");
            }
            case TEAM -> {
                if (!teams.contains(subject)) {
                    throw ApiException.invalid("subject", "subject: unknown team '" + clip(subject, 40) + "' (teams: " + String.join(", ", teams.stream().sorted().toList()) + ")");
                }
            }
            case USER -> {
                if (!known.test(scope, subject)) throw ApiException.invalid("subject", "subject: unknown user '" + clip(subject, 40) + "' (no API key was ever created for it)");
            }
            case AGENT, JOB -> {
                String what = scope.name().toLowerCase(Locale.ROOT);
                if (!subject.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
                    throw ApiException.invalid("subject", "subject: not a valid " + what + " id");
                }
                if (!known.test(scope, subject)) {
                    throw ApiException.invalid("subject", "subject: no " + what + " '" + subject + "'"
                            + (scope == Budget.Scope.AGENT ? " in the config" : " (a job's budget is set with the job)"));
                }
            }
        }
    }

    static Budget.Scope parseScope(String s) {
        try {
            return Budget.Scope.valueOf(s == null ? "" : s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("scope", "scope: expected org, team, user, agent or job; got '" + clip(s, 40) + "'");
        }
    }

    static Period parsePeriod(String s) {
        try {
            return Period.valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("period", "period: expected day, week, month or none; got '" + clip(s, 40) + "'");
        }
    }

    static List<Integer> parseSoft(String s) {
        if (s.isBlank()) return List.of();
        List<Integer> out = new ArrayList<>();
        for (String part : s.split(",")) {
            int p;
            try {
                p = Integer.parseInt(part.strip());
            } catch (NumberFormatException e) {
                throw ApiException.invalid("soft", "soft: expected percentages like 50,80,90; got '" + clip(s, 40) + "'");
            }
            if (p < 1 || p > 99) throw ApiException.invalid("soft", "soft: each percentage must be 1 to 99; got " + p);
            if (!out.isEmpty() && p <= out.get(out.size() - 1)) throw ApiException.invalid("soft", "soft: percentages must be ascending");
            out.add(p);
        }
        return out;
    }

    static Budget.TierRule parseTierRule(String tier, String v) {
        if ("exempt".equals(v)) return new Budget.TierRule(true, null);
        try {
            BigDecimal cap = new BigDecimal(v == null ? "" : v);
            // More than 9 decimals would round to another amount (0.0000000004 to 0, which forbids the tier).
            if (cap.signum() < 0 || cap.compareTo(Money.MAX) > 0 || cap.stripTrailingZeros().scale() > 9) {
                throw new NumberFormatException();
            }
            return new Budget.TierRule(false, Money.nanos(cap));
        } catch (NumberFormatException | ArithmeticException e) {
            throw ApiException.invalid("tiers", "tiers." + tier + ": expected an amount from 0 (forbids the tier) to "
                    + Money.MAX.toPlainString() + " with at most 9 decimals, or 'exempt'; got '" + clip(v, 40) + "'");
        }
    }

    static BudgetRow toRow(Budget b, Clock clock) {
        StringBuilder rules = new StringBuilder();
        b.tiers().forEach((t, r) -> {
            if (!rules.isEmpty()) rules.append(';');
            rules.append(t).append('=').append(r.exempt() ? "exempt" : Money.amount(r.capNanos()).toPlainString());
        });
        return new BudgetRow(b.id(), b.scope().name().toLowerCase(), b.subject(), b.period().label(), b.zone().getId(),
                b.currency(), b.limitNanos(), b.limitTokens(),
                String.join(",", b.softPercents().stream().map(String::valueOf).toList()), rules.toString(), clock.instant());
    }

    static Budget fromRow(BudgetRow r) {
        Map<String, Budget.TierRule> tierRules = new LinkedHashMap<>();
        for (String rule : r.tierRules().split(";")) {
            if (rule.isEmpty()) continue;
            String[] kv = rule.split("=", 2);
            tierRules.put(kv[0], parseTierRule(kv[0], kv[1]));
        }
        List<Integer> soft = r.softPercents().isEmpty() ? List.of()
                : Arrays.stream(r.softPercents().split(",")).map(Integer::parseInt).toList();
        return new Budget(Budget.Scope.valueOf(r.scope().toUpperCase(Locale.ROOT)), r.subject(),
                Period.valueOf(r.period().toUpperCase(Locale.ROOT)), ZoneId.of(r.timeZone()), r.currency(),
                r.limitNanos(), r.limitTokens(), soft, tierRules);
    }

}
