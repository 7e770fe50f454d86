package dev.carapace.store;

import dev.carapace.store.LedgerTables.Charge;
import dev.carapace.store.LedgerTables.Progress;
import dev.carapace.store.LedgerTables.Reservation;
import dev.carapace.store.LedgerTables.WindowKey;
import dev.carapace.store.LedgerTables.WindowRow;
import dev.carapace.store.UsageLog.UsageRecord;
import org.jdbi.v3.core.Handle;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * Budget windows decided by the database, for a store that several gateways share (PostgreSQL), that lives in
 * memory, or whose ledger journal another store owns (the CLI while a gateway serves the file; it edits budgets and
 * reads, and does not reserve). Each reservation and each settlement is one transaction.
 *
 * <p>Exactness under concurrency comes from one conditional update per window: {@code reserved += n} only where
 * {@code spent + reserved + n <= limit}. On PostgreSQL the row lock makes concurrent reservations on the same window
 * take turns, and the condition is re-checked against the committed row; on SQLite writes are serialized. Windows are
 * always updated in the same (sorted) order, so two reservations never deadlock.
 */
final class SqlReservations implements Reservations {

    /** Positional, in the order of {@link #bindReservation}. */
    static final String INSERT_RESERVATION = """
            INSERT INTO reservations (id, owner, heartbeat_at, request_id, created_at, state, nanos, tokens, windows,
                                      org, team, user_id, agent, key_prefix, api, model, tier, input_tokens, output_tokens, stream)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""";

    /** Ends an open reservation (state, id) and says what it held and where. */
    static final String CLAIM = "UPDATE reservations SET state = ? WHERE id = ? AND state = 'open' RETURNING nanos, tokens, windows";

    /** A stream's progress (nanos, input tokens, output tokens, id), on its reservation while it is open. */
    static final String PROGRESS = "UPDATE reservations SET progress_nanos = ?, progress_input_tokens = ?, "
            + "progress_output_tokens = ? WHERE id = ? AND state = 'open'";

    private static final String CHARGE = """
            UPDATE budget_windows SET reserved_nanos = reserved_nanos - ?, spent_nanos = spent_nanos + ?,
                                      reserved_tokens = reserved_tokens - ?, spent_tokens = spent_tokens + ?
            WHERE budget_id = ? AND window_start = ? AND tier = ?
            RETURNING *""";

    /** A charge on a window the reservation did not hold (see {@link #settle}): its spend only, the row made if new. */
    private static final String CHARGE_ALSO = """
            INSERT INTO budget_windows (budget_id, window_start, tier, spent_nanos, reserved_nanos, spent_tokens, reserved_tokens)
            VALUES (?, ?, ?, ?, 0, ?, 0)
            ON CONFLICT (budget_id, window_start, tier) DO UPDATE SET spent_nanos = budget_windows.spent_nanos + excluded.spent_nanos,
                spent_tokens = budget_windows.spent_tokens + excluded.spent_tokens
            RETURNING *""";

    private static final String HOLD = """
            UPDATE budget_windows SET reserved_nanos = reserved_nanos + ?, reserved_tokens = reserved_tokens + ?
            WHERE budget_id = ? AND window_start = ? AND tier = ?
              AND spent_nanos + reserved_nanos + ? <= ? AND spent_tokens + reserved_tokens + ? <= ?""";

    private final Store store;

    SqlReservations(Store store) { this.store = store; }

    @Override
    public Optional<WindowKey> reserve(Reservation r, String owner, List<Charge> charges) {
        List<Charge> sorted = new ArrayList<>(charges);
        sorted.sort(Comparator.comparing(Charge::window));
        try {
            store.write("reserve budget", h -> {
                for (Charge c : sorted) {
                    WindowKey k = c.window();
                    // The window's row usually exists: create it only when the hold finds none.
                    if (hold(h, r, c) == 0) {
                        h.execute("INSERT INTO budget_windows (budget_id, window_start, tier) VALUES (?, ?, ?) "
                                + "ON CONFLICT (budget_id, window_start, tier) DO NOTHING", k.budgetId(), k.windowStart(), k.tier());
                        if (hold(h, r, c) == 0) throw new Refused(k);   // rolls back the windows held so far
                    }
                }
                try (PreparedStatement ps = h.getConnection().prepareStatement(INSERT_RESERVATION)) {
                    bindReservation(ps, r, owner, "open");
                    ps.executeUpdate();
                } catch (SQLException e) {
                    throw StoreException.of("reserve budget", e);
                }
                return null;
            });
            return Optional.empty();
        } catch (Refused refused) {
            return Optional.of(refused.window);
        }
    }

    private static int hold(Handle h, Reservation r, Charge c) {
        WindowKey k = c.window();
        long ln = c.limitNanos() == null ? UNLIMITED : c.limitNanos();
        long lt = c.limitTokens() == null ? UNLIMITED : c.limitTokens();
        return h.execute(HOLD, r.nanos(), r.tokens(), k.budgetId(), k.windowStart(), k.tier(), r.nanos(), ln, r.tokens(), lt);
    }

    private static final class Refused extends RuntimeException {
        final WindowKey window;

        Refused(WindowKey window) {
            super(null, null, false, false);
            this.window = window;
        }
    }

    @Override
    public List<WindowRow> settle(String reservationId, String state, long nanos, long tokens, UsageRecord record,
                                  List<WindowKey> chargedOn, BooleanSupplier unchanged) {
        return store.write(state.equals("settled") ? "settle reservation" : "reconcile reservation", h -> {
            if (!unchanged.getAsBoolean()) return null;
            // One statement claims the reservation and says what it held: a concurrent settle finds it no longer open.
            Optional<Object[]> held = h.createQuery(CLAIM).bind(0, state).bind(1, reservationId)
                    .map((rs, ctx) -> new Object[] {rs.getLong(1), rs.getLong(2), rs.getString(3)}).findOne();
            if (held.isEmpty()) return List.<WindowRow>of();
            long heldNanos = (Long) held.get()[0];
            long heldTokens = (Long) held.get()[1];
            List<WindowKey> heldOn = WindowKey.decode((String) held.get()[2]);
            List<WindowKey> charged = chargedOn == null ? heldOn : chargedOn;
            List<WindowKey> keys = new ArrayList<>(heldOn);
            for (WindowKey k : charged) if (!heldOn.contains(k)) keys.add(k);
            keys.sort(null);   // rows locked in one order by every writer
            List<WindowRow> after = new ArrayList<>();
            for (WindowKey k : keys) {
                boolean isHeld = heldOn.contains(k), isCharged = charged.contains(k);
                WindowRow row = isHeld
                        ? h.createQuery(CHARGE).bind(0, heldNanos).bind(1, isCharged ? nanos : 0).bind(2, heldTokens)
                                .bind(3, isCharged ? tokens : 0).bind(4, k.budgetId()).bind(5, k.windowStart())
                                .bind(6, k.tier()).map(LedgerTables.WINDOW).one()
                        : h.createQuery(CHARGE_ALSO).bind(0, k.budgetId()).bind(1, k.windowStart()).bind(2, k.tier())
                                .bind(3, nanos).bind(4, tokens).map(LedgerTables.WINDOW).one();
                if (isCharged) after.add(row);
            }
            UsageLog.insert(h, List.of(record));
            return after;
        });
    }

    @Override
    public void record(UsageRecord record) {
        // One transaction per call, before its response: a round trip on PostgreSQL, the price of not losing it.
        store.write("insert usage record", h -> {
            UsageLog.insert(h, List.of(record));
            return null;
        });
    }

    @Override
    public void progress(String reservationId, Progress p) {
        store.write("record progress", h -> h.execute(PROGRESS, p.nanos(), p.inputTokens(), p.outputTokens(), reservationId));
    }

    /** The database is the authority: there is no view of its own to offer. */
    @Override
    public Optional<WindowRow> window(WindowKey k) { return Optional.empty(); }

    @Override
    public void resync(Runnable change) { change.run(); }

    static void bindReservation(PreparedStatement ps, Reservation r, String owner, String state) throws SQLException {
        UsageRecord u = r.context();
        int i = 1;
        ps.setString(i++, r.id());
        ps.setString(i++, owner);
        ps.setLong(i++, r.createdAt().toEpochMilli());   // heartbeat_at
        ps.setString(i++, u.requestId());
        ps.setLong(i++, r.createdAt().toEpochMilli());
        ps.setString(i++, state);
        ps.setLong(i++, r.nanos());
        ps.setLong(i++, r.tokens());
        ps.setString(i++, WindowKey.encode(r.windows()));
        ps.setString(i++, u.org());
        ps.setString(i++, u.team());
        ps.setString(i++, u.user());
        ps.setString(i++, u.agent());
        ps.setString(i++, u.keyPrefix());
        ps.setString(i++, u.api());
        ps.setString(i++, u.model());
        ps.setString(i++, u.tier());
        ps.setLong(i++, u.inputTokens());
        ps.setLong(i++, u.outputTokens());
        ps.setBoolean(i, u.stream());
    }
}
