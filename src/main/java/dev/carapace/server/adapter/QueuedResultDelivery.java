package dev.carapace.server.adapter;

import dev.carapace.channel.webhook.WebhookDeliveries;
import dev.carapace.schedule.ResultDelivery;

import java.net.URI;
import java.util.List;

/**
 * Jobs' results through the durable webhook deliveries: queued in the store, signed with the scheduler's
 * {@code deliver_secrets}, retried, and sent as the job's caller through the egress proxy.
 */
public final class QueuedResultDelivery implements ResultDelivery {

    private final WebhookDeliveries deliveries;
    private final List<String> secrets;
    private final int maxAttempts;

    public QueuedResultDelivery(WebhookDeliveries deliveries, List<String> secrets, int maxAttempts) {
        this.deliveries = deliveries;
        this.secrets = List.copyOf(secrets);
        this.maxAttempts = maxAttempts;
    }

    @Override
    public void deliver(String job, String caller, URI to, String key, byte[] body) {
        deliveries.enqueue("job:" + job, caller, to, secrets, body, maxAttempts, key);
    }
}
