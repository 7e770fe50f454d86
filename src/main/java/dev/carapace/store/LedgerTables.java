package dev.carapace.store;

import dev.carapace.store.UsageLog.UsageRecord;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The ledger's tables and their SQL: budgets, their period windows (spent and reserved), reservations, alerts sent,
 * prices, spend reports; and the plain records the ledger reads and writes them with.
 *
 * <p>Nothing here decides whether a reservation fits: that is a {@link Reservations} decider's job, the database's
 * ({@link SqlReservations}) or, for a SQLite file this process owns, the one in
 * {@code dev.carapace.ledger.book.MemoryReservations}. The ledger reaches both through
 * {@code dev.carapace.ledger.book.LedgerBook}. Reads fold the {@link Journal} first, so they see every decision made
 * so far; the ones named "as stored" do not, for the decider that folds it itself.
 */
public final class LedgerTables {

    public record BudgetRow(String id, String scope, String subject, String period, String timeZone, String currency,
                            Long limitNanos, Long limitTokens, String softPercents, String tierRules, Instant updatedAt) {}

    /** One period window of one budget; {@code tier} is {@code *} for the budget's total. */
    public record WindowKey(String budgetId, long windowStart, String tier) implements Comparable<WindowKey> {
        @Override
        public int compareTo(WindowKey o) {
            return Comparator.comparing(WindowKey::budgetId).thenComparingLong(WindowKey::windowStart)
                    .thenComparing(WindowKey::tier).compare(this, o);
        }

        /** "budget|window_start|tier;..." as the reservations table keeps them. */
        static String encode(List<WindowKey> keys) {
            StringBuilder b = new StringBuilder();
            for (WindowKey k : keys) {
                if (!b.isEmpty()) b.append(';');
                b.append(k.budgetId).append('|').append(k.windowStart).append('|').append(k.tier);
            }
            return b.toString();
        }

        static List<WindowKey> decode(String windows) {
            List<WindowKey> keys = new ArrayList<>();
            for (String w : windows.split(";")) {
                if (w.isEmpty()) continue;
                String[] p = w.split("\\|", 3);
                keys.add(new WindowKey(p[0], Long.parseLong(p[1]), p[2]));
            }
            return keys;
        }
    }

    /** Reserve against {@code window}, refusing past these limits (null: no limit of that kind). */
    public record Charge(WindowKey window, Long limitNanos, Long limitTokens) {}

    public record WindowRow(WindowKey key, long spentNanos, long reservedNanos, long spentTokens, long reservedTokens) {}

    /**
     * An amount held against windows until the request's real usage is known. {@code context} carries what a
     * usage record needs if the process dies and the reservation is reconciled at restart (its token fields are
     * the estimate).
     */
    public record Reservation(String id, Instant createdAt, long nanos, long tokens, List<WindowKey> windows,
                              UsageRecord context) {}

    /**
     * What a call holding a reservation has produced so far, by the gateway's own count: a stream's tokens at its
     * last progress entry, and what they cost. A call interrupted by a crash is charged this, not its reservation.
     */
    public record Progress(long nanos, long inputTokens, long outputTokens) {}

    /**
     * A reservation still open, with the gateway that holds it, when that gateway last said it was alive, and the
     * call's last progress (null if it reported none: not a stream, or no interval passed).
     */
    public record OpenReservation(Reservation reservation, String owner, Instant heartbeatAt, Progress progress) {}

    public record PriceRow(String model, Instant effectiveAt, String input, String output, String cachedInput) {}

    private static final RowMapper<BudgetRow> BUDGET = (rs, ctx) -> new BudgetRow(rs.getString("id"),
            rs.getString("scope"), rs.getString("subject"), rs.getString("period"), rs.getString("time_zone"),
            rs.getString("currency"), Times.nullableLong(rs, "limit_nanos"), Times.nullableLong(rs, "limit_tokens"),
            rs.getString("soft_percents"), rs.getString("tier_rules"), Instant.ofEpochMilli(rs.getLong("updated_at")));

    static final RowMapper<WindowRow> WINDOW = (rs, ctx) -> new WindowRow(
            new WindowKey(rs.getString("budget_id"), rs.getLong("window_start"), rs.getString("tier")),
            rs.getLong("spent_nanos"), rs.getLong("reserved_nanos"), rs.getLong("spent_tokens"), rs.getLong("reserved_tokens"));

    private final Store store;

    LedgerTables(Store store) {
        this.store = store;
    }

    // ---- budgets ----

    /** Creates or replaces a budget; its windows (what was spent) are kept. */
    public void putBudget(BudgetRow b) {
        store.write("save budget", h -> {
            upsertBudget(h, b);
            return null;
        });
    }

    /**
     * Replaces a budget whose period or time zone changed, and moves the holds of its calls in flight from the window
     * that started at {@code fromStart} to the one that starts at {@code toStart} ({@link #moveHolds}), in one
     * transaction. What the new window has spent is its subject's records in it ({@link #seedWindow}); a job's
     * budget, whose calls the records do not name, carries its old window's spend.
     */
    public void putBudget(BudgetRow b, long fromStart, long toStart) {
        store.write("save budget", h -> {
            upsertBudget(h, b);
            moveHolds(h, b.id(), fromStart, toStart, b.scope().equals("job"));
            return null;
        });
    }

    /**
     * Moves the holds of a budget's calls in flight from its window that started at {@code fromStart} to the one that
     * starts at {@code toStart} (a new period or time zone), with their reservations, so they settle where the limit
     * is now checked. Moving again moves only what reached the old window since: the journal's owner moves after
     * folding what another process (the CLI) could not see when it moved. Run it inside {@link Reservations#resync}.
     */
    public void moveHolds(String budgetId, long fromStart, long toStart, boolean spentToo) {
        if (fromStart == toStart) return;
        store.write("move budget holds", h -> {
            moveHolds(h, budgetId, fromStart, toStart, spentToo);
            return null;
        });
    }

    /** @param spentToo whether the old window's spend moves too (a job's budget, which no record names) */
    private void moveHolds(Handle h, String budgetId, long fromStart, long toStart, boolean spentToo) {
        if (fromStart == toStart) return;
        // Locked as read on PostgreSQL: two gateways moving at once must not both add the same figures.
        List<WindowRow> old = h.createQuery("SELECT * FROM budget_windows WHERE budget_id = :b AND window_start = :w"
                        + (store.postgres() ? " FOR UPDATE" : ""))
                .bind("b", budgetId).bind("w", fromStart).map(WINDOW).list();
        for (WindowRow o : old) {
            long n = spentToo ? o.spentNanos() : 0, tk = spentToo ? o.spentTokens() : 0;
            if (o.reservedNanos() == 0 && o.reservedTokens() == 0 && n == 0 && tk == 0) continue;
            String tier = o.key().tier();
            h.createUpdate("""
                            INSERT INTO budget_windows (budget_id, window_start, tier, spent_nanos, reserved_nanos, spent_tokens, reserved_tokens)
                            VALUES (:b, :w, :t, :n, :rn, :tk, :rt)
                            ON CONFLICT (budget_id, window_start, tier) DO UPDATE SET
                                spent_nanos = budget_windows.spent_nanos + excluded.spent_nanos,
                                reserved_nanos = budget_windows.reserved_nanos + excluded.reserved_nanos,
                                spent_tokens = budget_windows.spent_tokens + excluded.spent_tokens,
                                reserved_tokens = budget_windows.reserved_tokens + excluded.reserved_tokens""")
                    .bind("b", budgetId).bind("w", toStart).bind("t", tier).bind("n", n).bind("tk", tk)
                    .bind("rn", o.reservedNanos()).bind("rt", o.reservedTokens()).execute();
            h.createUpdate("UPDATE budget_windows SET reserved_nanos = 0, reserved_tokens = 0"
                            + (spentToo ? ", spent_nanos = 0, spent_tokens = 0" : "")
                            + " WHERE budget_id = :b AND window_start = :w AND tier = :t")
                    .bind("b", budgetId).bind("w", fromStart).bind("t", tier).execute();
        }
        // Ids cannot contain '|', and no id ends with another (scopes are whole words before the ':'), so the
        // text "id|start|" names exactly this budget's window in a reservation's list.
        h.createUpdate("UPDATE reservations SET windows = REPLACE(windows, :from, :to) WHERE state = 'open'")
                .bind("from", budgetId + "|" + fromStart + "|").bind("to", budgetId + "|" + toStart + "|").execute();
    }

    private static void upsertBudget(Handle h, BudgetRow b) {
        h.createUpdate("""
                        INSERT INTO budgets (id, scope, subject, period, time_zone, currency, limit_nanos, limit_tokens,
                                             soft_percents, tier_rules, updated_at)
                        VALUES (:id, :scope, :subject, :period, :tz, :currency, :ln, :lt, :soft, :tiers, :at)
                        ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, subject = excluded.subject,
                            period = excluded.period, time_zone = excluded.time_zone, currency = excluded.currency,
                            limit_nanos = excluded.limit_nanos, limit_tokens = excluded.limit_tokens,
                            soft_percents = excluded.soft_percents, tier_rules = excluded.tier_rules,
                            updated_at = excluded.updated_at""")
                .bind("id", b.id()).bind("scope", b.scope()).bind("subject", b.subject()).bind("period", b.period())
                .bind("tz", b.timeZone()).bind("currency", b.currency()).bind("ln", b.limitNanos())
                .bind("lt", b.limitTokens()).bind("soft", b.softPercents()).bind("tiers", b.tierRules())
                .bind("at", b.updatedAt().toEpochMilli()).execute();
        countChange(h);
    }

    public boolean deleteBudget(String id) {
        return store.write("delete budget", h -> {
            int deleted = h.createUpdate("DELETE FROM budgets WHERE id = :id").bind("id", id).execute();
            if (deleted > 0) countChange(h);
            return deleted;
        }) > 0;
    }

    // ---- budget changes: how a running gateway learns of another process's edit at once ----

    /** In the transaction of a budget write: running gateways see the count move and read the budgets again. */
    private static void countChange(Handle h) {
        h.createUpdate("UPDATE budget_changes SET seq = seq + 1").execute();
    }

    /** How many budget writes the store has seen: one row, cheap enough to read every few milliseconds. */
    public long budgetChanges() {
        return store.readLong("read budget changes", "SELECT seq FROM budget_changes");
    }

    /**
     * Says that {@code gateway} has applied the budgets as of change {@code seq} and is running at {@code at}; a
     * gateway gone for a day is forgotten.
     */
    public void acknowledgeBudgets(String gateway, long seq, Instant at) {
        store.write("acknowledge budgets", h -> {
            h.createUpdate("INSERT INTO budget_acks (gateway, seq, at) VALUES (:g, :s, :at) "
                            + "ON CONFLICT (gateway) DO UPDATE SET seq = excluded.seq, at = excluded.at")
                    .bind("g", gateway).bind("s", seq).bind("at", at.toEpochMilli()).execute();
            h.createUpdate("DELETE FROM budget_acks WHERE at < :old").bind("old", at.minusSeconds(86_400).toEpochMilli()).execute();
            return null;
        });
    }

    /** A gateway that stops says so: the CLI no longer waits for it. */
    public void forgetAcknowledgement(String gateway) {
        store.write("forget budget acknowledgement", h -> h.createUpdate("DELETE FROM budget_acks WHERE gateway = :g")
                .bind("g", gateway).execute());
    }

    /**
     * The gateways that said they were running since {@code since}, and how many of them have applied change
     * {@code seq} or a later one.
     */
    public record Acknowledgements(int running, int applied) {}

    public Acknowledgements acknowledgements(long seq, Instant since) {
        return store.read("read budget acknowledgements", h -> h.createQuery(
                        "SELECT COUNT(*) AS running, COALESCE(SUM(CASE WHEN seq >= :s THEN 1 ELSE 0 END), 0) AS applied "
                                + "FROM budget_acks WHERE at >= :since")
                .bind("s", seq).bind("since", since.toEpochMilli())
                .map((rs, ctx) -> new Acknowledgements(rs.getInt("running"), rs.getInt("applied"))).one());
    }

    // ---- a budget's window from its subject's records ----

    /**
     * Sets what a budget's current window has spent to what its subject spent in it, for a new budget or one moved to
     * a new period or time zone (issue 14: a budget created mid-month showed 0 spent while its team had spent 29,267
     * tokens that month, and let it spend its whole limit again). The figures come from the usage records for the
     * part of the window's first UTC day that it covers, and from the daily rollups for every whole day after it, so
     * that a month's window reads a few hundred rollup rows rather than every record of the month. The total window
     * ({@code *}) counts every tier but the exempt ones; each capped tier's window counts that tier. Set, not added:
     * seeding again, a window left by a deleted budget of the same id, or a period flipped back and forth, never
     * counts a call twice (an outside tester found a window moved onto such a leftover counting it twice). Holds of
     * calls in flight are kept. Inside {@link Reservations#resync}: every call recorded so far is folded first, none
     * ends meanwhile, and a process keeping windows in memory reads them again after.
     *
     * @param scope  org, team, user or agent: which column of the records names the subject; a job's budget
     *               (scope job) is not seeded, since records do not name jobs: it is set when its job is made
     * @param exempt tiers whose calls the budget does not count
     * @param capped tiers with a window of their own
     */
    public void seedWindow(String budgetId, String scope, String subject, long windowStart, Set<String> exempt,
                           Set<String> capped) {
        String column = switch (scope) {
            case "org" -> "org";
            case "team" -> "team";
            case "user" -> "user_id";
            case "agent" -> "agent";
            case "job" -> null;
            default -> throw new IllegalArgumentException("no budget scope " + scope);
        };
        if (column == null) return;
        List<WindowKey> seeded = new ArrayList<>();
        seeded.add(new WindowKey(budgetId, windowStart, "*"));
        for (String tier : capped) seeded.add(new WindowKey(budgetId, windowStart, tier));
        store.write("seed budget window", h -> {
            for (WindowKey k : seeded) {
                h.createUpdate("INSERT INTO budget_windows (budget_id, window_start, tier) VALUES (:b, :w, :t) "
                                + "ON CONFLICT (budget_id, window_start, tier) DO NOTHING")
                        .bind("b", k.budgetId()).bind("w", k.windowStart()).bind("t", k.tier()).execute();
                if (store.postgres()) {
                    // Locked before the records are summed: a call another gateway charges meanwhile waits, and is
                    // then in the sums or added after them, never lost between.
                    h.createQuery("SELECT spent_nanos FROM budget_windows WHERE budget_id = :b AND window_start = :w "
                                    + "AND tier = :t FOR UPDATE")
                            .bind("b", k.budgetId()).bind("w", k.windowStart()).bind("t", k.tier()).mapTo(Long.class).one();
                }
            }
            Map<String, long[]> byTier = new HashMap<>();
            LocalDate firstDay = Instant.ofEpochMilli(windowStart).atZone(ZoneOffset.UTC).toLocalDate();
            long firstDayStart = firstDay.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
            LocalDate wholeDays = firstDayStart == windowStart ? firstDay : firstDay.plusDays(1);
            if (!wholeDays.equals(firstDay)) {
                long end = wholeDays.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
                h.createQuery("SELECT tier, SUM(cost_nanos) AS n, SUM(input_tokens + output_tokens) AS t FROM usage_records "
                                + "WHERE at >= :from AND at < :to AND " + column + " = :subject GROUP BY tier")
                        .bind("from", windowStart).bind("to", end).bind("subject", subject)
                        .map((rs, ctx) -> add(byTier, rs.getString("tier"), rs.getLong("n"), rs.getLong("t"))).list();
            }
            h.createQuery("SELECT tier, SUM(cost_nanos) AS n, SUM(input_tokens + output_tokens) AS t FROM spend_daily "
                            + "WHERE day >= :from AND " + column + " = :subject GROUP BY tier")
                    .bind("from", wholeDays.toString()).bind("subject", subject)
                    .map((rs, ctx) -> add(byTier, rs.getString("tier"), rs.getLong("n"), rs.getLong("t"))).list();
            long[] total = new long[2];
            byTier.forEach((tier, sums) -> {
                if (exempt.contains(tier)) return;
                total[0] += sums[0];
                total[1] += sums[1];
            });
            for (WindowKey k : seeded) setSpent(h, k, k.tier().equals("*") ? total : byTier.getOrDefault(k.tier(), new long[2]));
            return null;
        });
    }

    private static boolean add(Map<String, long[]> byTier, String tier, long nanos, long tokens) {
        long[] sums = byTier.computeIfAbsent(tier == null ? "" : tier, t -> new long[2]);
        sums[0] += nanos;
        sums[1] += tokens;
        return true;
    }

    /** Sets a window's spent figures to {@code spent} (nanos, tokens); its holds stay. */
    private static void setSpent(Handle h, WindowKey k, long[] spent) {
        h.createUpdate("UPDATE budget_windows SET spent_nanos = :n, spent_tokens = :tk "
                        + "WHERE budget_id = :b AND window_start = :w AND tier = :t")
                .bind("n", spent[0]).bind("tk", spent[1])
                .bind("b", k.budgetId()).bind("w", k.windowStart()).bind("t", k.tier()).execute();
    }

    public List<BudgetRow> budgets() {
        return store.read("list budgets", h -> h.createQuery("SELECT * FROM budgets ORDER BY id").map(BUDGET).list());
    }

    public Optional<BudgetRow> budget(String id) {
        return store.read("read budget", h -> h.createQuery("SELECT * FROM budgets WHERE id = :id").bind("id", id).map(BUDGET).findOne());
    }

    public List<WindowRow> windows(String budgetId) {
        store.foldJournal();
        return store.read("read budget windows", h -> h.createQuery(
                "SELECT * FROM budget_windows WHERE budget_id = :id ORDER BY window_start DESC, tier")
                .bind("id", budgetId).map(WINDOW).list());
    }

    /** A window as the tables hold it, once the journal is folded. */
    public Optional<WindowRow> window(WindowKey k) {
        store.foldJournal();
        return windowAsStored(k);
    }

    /** A window as the tables hold it now, without folding the journal. */
    public Optional<WindowRow> windowAsStored(WindowKey k) {
        return store.read("read budget window", h -> window(h, k));
    }

    static Optional<WindowRow> window(Handle h, WindowKey k) {
        return h.createQuery("SELECT * FROM budget_windows WHERE budget_id = :b AND window_start = :w AND tier = :t")
                .bind("b", k.budgetId()).bind("w", k.windowStart()).bind("t", k.tier()).map(WINDOW).findOne();
    }

    // ---- reservations ----

    /** Tells other gateways that {@code owner} is alive and still serving its open reservations. */
    public void heartbeat(String owner, Instant now) {
        store.foldJournal();
        store.write("reservation heartbeat", h -> h.createUpdate(
                        "UPDATE reservations SET heartbeat_at = :now WHERE owner = :o AND state = 'open'")
                .bind("now", now.toEpochMilli()).bind("o", owner).execute());
    }

    /** Every open reservation, oldest first. */
    public List<OpenReservation> openReservations() {
        store.foldJournal();
        return openReservationsAsStored();
    }

    /** Every open reservation as the tables hold it now, without folding the journal. */
    public List<OpenReservation> openReservationsAsStored() {
        return store.read("list open reservations", LedgerTables::openReservations);
    }

    static List<OpenReservation> openReservations(Handle h) {
        return h.createQuery("SELECT * FROM reservations WHERE state = 'open' ORDER BY created_at")
                .map((rs, ctx) -> {
                    Instant at = Instant.ofEpochMilli(rs.getLong("created_at"));
                    UsageRecord ctxRecord = new UsageRecord(rs.getString("request_id"), at, rs.getString("org"),
                            rs.getString("team"), rs.getString("user_id"), rs.getString("key_prefix"), rs.getString("api"),
                            rs.getString("model"), rs.getString("tier"), null, rs.getLong("input_tokens"), 0, 0,
                            rs.getLong("output_tokens"), 0, true, rs.getBoolean("stream"), 0, null, 0, null,
                            rs.getString("agent"), rs.getLong("nanos"));
                    Long progressNanos = Times.nullableLong(rs, "progress_nanos");
                    Progress progress = progressNanos == null ? null : new Progress(progressNanos,
                            rs.getLong("progress_input_tokens"), rs.getLong("progress_output_tokens"));
                    return new OpenReservation(new Reservation(rs.getString("id"), at, rs.getLong("nanos"),
                            rs.getLong("tokens"), WindowKey.decode(rs.getString("windows")), ctxRecord),
                            rs.getString("owner"), Instant.ofEpochMilli(rs.getLong("heartbeat_at")), progress);
                }).list();
    }

    // ---- alerts ----

    /** Notes that an alert was sent; false if it had already been sent for this window and threshold. */
    public boolean markAlert(String budgetId, long windowStart, int threshold, Instant at) {
        return store.write("record budget alert", h -> h.createUpdate(
                        "INSERT INTO budget_alerts (budget_id, window_start, threshold, at) VALUES (:b, :w, :th, :at) "
                                + "ON CONFLICT (budget_id, window_start, threshold) DO NOTHING")
                .bind("b", budgetId).bind("w", windowStart).bind("th", threshold).bind("at", at.toEpochMilli())
                .execute()) > 0;
    }

    // ---- prices ----

    /** Records a price from {@code at}, unless it is already the model's latest price. @return true if recorded */
    public boolean putPrice(PriceRow p) {
        return store.write("record price", h -> {
            Optional<PriceRow> latest = h.createQuery("SELECT * FROM prices WHERE model = :m ORDER BY effective_at DESC LIMIT 1")
                    .bind("m", p.model()).map(PRICE).findOne();
            if (latest.isPresent() && latest.get().input().equals(p.input()) && latest.get().output().equals(p.output())
                    && latest.get().cachedInput().equals(p.cachedInput())) {
                return false;
            }
            h.createUpdate("INSERT INTO prices (model, effective_at, input, output, cached_input) VALUES (:m, :at, :i, :o, :c) "
                            + "ON CONFLICT (model, effective_at) DO UPDATE SET input = excluded.input, output = excluded.output, "
                            + "cached_input = excluded.cached_input")
                    .bind("m", p.model()).bind("at", p.effectiveAt().toEpochMilli()).bind("i", p.input())
                    .bind("o", p.output()).bind("c", p.cachedInput()).execute();
            return true;
        });
    }

    /** Every price ever recorded, oldest first per model. */
    public List<PriceRow> prices() {
        return store.read("list prices", h -> h.createQuery("SELECT * FROM prices ORDER BY model, effective_at").map(PRICE).list());
    }

    private static final RowMapper<PriceRow> PRICE = (rs, ctx) -> new PriceRow(rs.getString("model"),
            Instant.ofEpochMilli(rs.getLong("effective_at")), rs.getString("input"), rs.getString("output"),
            rs.getString("cached_input"));

    // ---- reports ----

    /**
     * One group of a spend report.
     *
     * @param requests the calls that got an answer
     * @param unserved the calls that did not: refused (budget, policy, privacy), invalid, or failed upstream
     */
    public record SpendRow(String key, long requests, long unserved, long inputTokens, long cachedInputTokens,
                           long outputTokens, long reasoningTokens, long costNanos) {}

    /**
     * Spend from the daily rollups, grouped by one dimension.
     *
     * @param by    team, user, agent, model or tier
     * @param user  when not null, only this user's spend
     */
    public List<SpendRow> spend(String by, LocalDate since, LocalDate until, String user) {
        String column = switch (by) {
            case "team" -> "team";
            case "user" -> "user_id";
            case "agent" -> "agent";
            case "model" -> "model";
            case "tier" -> "tier";
            default -> throw new IllegalArgumentException("cannot group spend by " + by);
        };
        store.foldJournal();
        return store.read("spend report", h -> h.createQuery("SELECT " + column + " AS k, SUM(requests) AS requests, "
                        + "SUM(unserved) AS u, SUM(input_tokens) AS i, SUM(cached_input_tokens) AS c, SUM(output_tokens) AS o, "
                        + "SUM(reasoning_tokens) AS r, SUM(cost_nanos) AS cost FROM spend_daily "
                        + "WHERE day >= :since AND day <= :until" + (user != null ? " AND user_id = :user" : "")
                        + " GROUP BY " + column + " ORDER BY SUM(cost_nanos) DESC, " + column)
                .bind("since", since.toString()).bind("until", until.toString()).bind("user", user)
                .map((rs, ctx) -> new SpendRow(rs.getString("k"), rs.getLong("requests"), rs.getLong("u"), rs.getLong("i"), rs.getLong("c"),
                        rs.getLong("o"), rs.getLong("r"), rs.getLong("cost")))
                .list());
    }
}
