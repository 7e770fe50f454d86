package dev.carapace.server;

import dev.carapace.channel.Channel;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.webhook.WebhookChannel;
import dev.carapace.channel.webhook.WebhookDeliveries;

/**
 * Builds each configured channel from its spec: one line per kind. A new kind adds its line here, its sub-package
 * under {@code channel}, and its block reader in {@code config.ChannelsSection}.
 */
final class ChannelWiring {

    private ChannelWiring() {}

    /** @param deliveries the outbound webhooks ({@link WebhookWiring}), for the kinds that answer by webhook */
    static Channel build(ChannelContext context, WebhookDeliveries deliveries) {
        return switch (context.spec().kind()) {
            case "webhook" -> new WebhookChannel(context, deliveries);
            default -> throw new IllegalArgumentException("channel '" + context.spec().id() + "': no channel of kind '"
                    + context.spec().kind() + "' is built in");
        };
    }
}
