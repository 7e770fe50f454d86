package dev.carapace.store;

import org.jdbi.v3.core.mapper.RowMapper;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The outbound webhooks' queue ({@code webhook_deliveries}): each delivery until it is delivered or given up, with
 * the gateway trying it now and until when. A delivery is claimed by one conditional update, so two gateways never
 * both take it while a claim holds.
 */
public final class WebhookDeliveryRows {

    /** A queued delivery; {@code secrets} are key names, one a line. */
    public record Row(String id, String origin, String caller, String url, String secrets, byte[] body,
                      int maxAttempts, int attempts, Instant nextAt) {}

    /** Where one stands. */
    public record StatusRow(String state, int attempts, String detail) {}

    private static final RowMapper<Row> ROW = (rs, ctx) -> new Row(rs.getString("id"), rs.getString("origin"),
            rs.getString("caller"), rs.getString("url"), rs.getString("secrets"), rs.getBytes("body"),
            rs.getInt("max_attempts"), rs.getInt("attempts"), Instant.ofEpochMilli(rs.getLong("next_at")));

    private final Store store;

    WebhookDeliveryRows(Store store) { this.store = store; }

    /** Queues it as pending; false, and nothing written, when its id is there already. */
    public boolean add(Row r, Instant at) {
        return store.write("queue webhook delivery", h -> h.createUpdate("INSERT INTO webhook_deliveries (id, origin, "
                        + "caller, url, secrets, body, max_attempts, attempts, next_at, state, created_at, updated_at) "
                        + "VALUES (:id, :origin, :caller, :url, :secrets, :body, :maxAttempts, :attempts, :nextAt, "
                        + "'pending', :at, :at) ON CONFLICT (id) DO NOTHING")
                .bind("id", r.id()).bind("origin", r.origin()).bind("caller", r.caller()).bind("url", r.url())
                .bind("secrets", r.secrets()).bind("body", r.body()).bind("maxAttempts", r.maxAttempts())
                .bind("attempts", r.attempts()).bind("nextAt", r.nextAt().toEpochMilli()).bind("at", at.toEpochMilli())
                .execute()) == 1;
    }

    /** Claims up to {@code limit} due pending deliveries whose claim is free or lapsed, oldest due first. */
    public List<Row> claimDue(String owner, Instant now, Instant until, int limit) {
        long t = now.toEpochMilli();
        List<String> ids = store.read("read due webhook deliveries", h -> h.createQuery("SELECT id FROM "
                        + "webhook_deliveries WHERE state = 'pending' AND next_at <= :now AND (claimed_until IS NULL "
                        + "OR claimed_until < :now) ORDER BY next_at LIMIT :limit")
                .bind("now", t).bind("limit", limit).mapTo(String.class).list());
        List<Row> claimed = new ArrayList<>();
        for (String id : ids) {
            Optional<Row> r = store.write("claim webhook delivery", h -> {
                int n = h.createUpdate("UPDATE webhook_deliveries SET claimed_by = :owner, claimed_until = :until "
                                + "WHERE id = :id AND state = 'pending' AND next_at <= :now AND (claimed_until IS NULL "
                                + "OR claimed_until < :now)")
                        .bind("owner", owner).bind("until", until.toEpochMilli()).bind("id", id).bind("now", t).execute();
                if (n == 0) return Optional.<Row>empty();
                return h.createQuery("SELECT * FROM webhook_deliveries WHERE id = :id").bind("id", id).map(ROW).findOne();
            });
            r.ifPresent(claimed::add);
        }
        return claimed;
    }

    /** When the earliest pending delivery can be claimed next (its due time, or its claim's end when later). */
    public Optional<Instant> nextDue() {
        return store.read("read next webhook delivery", h -> h.createQuery("SELECT MIN(CASE WHEN claimed_until IS NOT "
                        + "NULL AND claimed_until > next_at THEN claimed_until ELSE next_at END) FROM webhook_deliveries "
                        + "WHERE state = 'pending'")
                .mapTo(Long.class).findOne().map(Instant::ofEpochMilli));
    }

    /**
     * Records an attempt's outcome and releases the claim: {@code state} pending (with the next try's time),
     * delivered or failed.
     */
    public void settle(String id, String state, int attempts, Instant next, String detail, Instant at) {
        store.write("record webhook delivery attempt", h -> h.createUpdate("UPDATE webhook_deliveries SET state = :state, "
                        + "attempts = :attempts, next_at = COALESCE(:next, next_at), detail = :detail, claimed_by = NULL, "
                        + "claimed_until = NULL, updated_at = :at WHERE id = :id")
                .bind("state", state).bind("attempts", attempts).bind("next", next == null ? null : next.toEpochMilli())
                .bind("detail", detail).bind("at", at.toEpochMilli()).bind("id", id).execute());
    }

    /** Releases every claim of {@code owner}. */
    public void release(String owner) {
        store.write("release webhook deliveries", h -> h.createUpdate("UPDATE webhook_deliveries SET claimed_by = NULL, "
                + "claimed_until = NULL WHERE claimed_by = :owner AND state = 'pending'").bind("owner", owner).execute());
    }

    /** Deletes delivered and given-up deliveries last touched before {@code before}; how many went. */
    public int prune(Instant before) {
        return store.write("prune webhook deliveries", h -> h.createUpdate("DELETE FROM webhook_deliveries WHERE state "
                + "<> 'pending' AND updated_at < :before").bind("before", before.toEpochMilli()).execute());
    }

    public Optional<StatusRow> status(String id) {
        return store.read("read webhook delivery", h -> h.createQuery("SELECT state, attempts, detail FROM "
                        + "webhook_deliveries WHERE id = :id").bind("id", id)
                .map((rs, ctx) -> new StatusRow(rs.getString("state"), rs.getInt("attempts"), rs.getString("detail")))
                .findOne());
    }
}
