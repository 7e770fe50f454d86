package dev.carapace.server.adapter;

import dev.carapace.channel.webhook.Delivery;
import dev.carapace.channel.webhook.DeliveryQueue;
import dev.carapace.store.WebhookDeliveryRows;
import dev.carapace.store.WebhookDeliveryRows.Row;

import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** The outbound webhooks' queue in the store's {@code webhook_deliveries}: key names one a line. */
public final class StoreWebhookDeliveries implements DeliveryQueue {

    private final WebhookDeliveryRows rows;

    public StoreWebhookDeliveries(WebhookDeliveryRows rows) { this.rows = rows; }

    @Override
    public boolean add(Delivery d, Instant at) {
        return rows.add(new Row(d.id(), d.origin(), d.caller(), d.url().toString(), String.join("\n", d.secrets()),
                d.body(), d.maxAttempts(), d.attempts(), d.nextAt()), at);
    }

    @Override
    public List<Delivery> claimDue(String owner, Instant now, Instant until, int limit) {
        return rows.claimDue(owner, now, until, limit).stream().map(r -> new Delivery(r.id(), r.origin(), r.caller(),
                URI.create(r.url()), r.secrets().isEmpty() ? List.of() : List.of(r.secrets().split("\n")), r.body(),
                r.maxAttempts(), r.attempts(), r.nextAt())).toList();
    }

    @Override
    public Optional<Instant> nextDue() { return rows.nextDue(); }

    @Override
    public void delivered(String id, int attempts, String detail, Instant at) {
        rows.settle(id, "delivered", attempts, null, detail, at);
    }

    @Override
    public void retry(String id, int attempts, Instant next, String detail, Instant at) {
        rows.settle(id, "pending", attempts, next, detail, at);
    }

    @Override
    public void failed(String id, int attempts, String detail, Instant at) {
        rows.settle(id, "failed", attempts, null, detail, at);
    }

    @Override
    public void release(String owner) { rows.release(owner); }

    @Override
    public int prune(Instant before) { return rows.prune(before); }

    @Override
    public Optional<Status> status(String id) {
        return rows.status(id).map(s -> new Status(s.state(), s.attempts(), s.detail()));
    }
}
