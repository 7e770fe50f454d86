package dev.carapace.server;

import dev.carapace.channel.webhook.WebhookDeliveries;
import dev.carapace.channel.webhook.WebhookPoster;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.guard.egress.EgressProxy;
import dev.carapace.guard.egress.SecretStore;
import dev.carapace.schedule.ResultDelivery;
import dev.carapace.server.adapter.ProxyWebhooks;
import dev.carapace.server.adapter.QueuedResultDelivery;
import dev.carapace.server.adapter.ChannelSecrets;
import dev.carapace.server.adapter.StoreWebhookDeliveries;
import dev.carapace.store.Store;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.function.Function;

/**
 * Builds the outbound webhook deliveries for {@link Carapace}: the store's queue, the egress proxy as the way out
 * (without one every delivery is refused, saying how to turn it on), the config's secrets for signing. Webhook
 * channels' answers and jobs' results both go through it.
 */
final class WebhookWiring implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WebhookWiring.class);

    final WebhookDeliveries deliveries;

    WebhookWiring(CarapaceConfig config, Store store, EgressProxy egress, Function<String, String> env, Clock clock,
                  String gateway) {
        WebhookPoster poster = egress == null ? (caller, uri, headers, body, timeout) -> {
            throw new WebhookPoster.Refused("webhook deliveries need the egress proxy: set tools.web_fetch: proxy "
                    + "(or exec: bwrap) in the config");
        } : new ProxyWebhooks(egress);
        deliveries = new WebhookDeliveries(new StoreWebhookDeliveries(store.webhookDeliveries()), poster,
                new ChannelSecrets(SecretStore.of(config.secrets(), env)), clock, gateway,
                WebhookDeliveries.Tuning.DEFAULT);
    }

    /** Jobs' results, signed with {@code scheduler.deliver_secrets} (unsigned, with a warning, when none is set). */
    ResultDelivery jobResults(CarapaceConfig config) {
        CarapaceConfig.Scheduler s = config.scheduler();
        boolean delivers = config.jobs().stream().anyMatch(j -> j.deliverTo() != null);
        if (s.deliverSecrets().isEmpty() && delivers) {
            log.warn("jobs' results are delivered unsigned: set scheduler.deliver_secrets: [NAME] (a secret in "
                    + "secrets:) so receivers can check they come from Carapace");
        }
        return new QueuedResultDelivery(deliveries, s.deliverSecrets(), s.deliverAttempts());
    }

    void start() { deliveries.start(); }

    @Override
    public void close() { deliveries.close(); }
}
