package dev.carapace.server;

import dev.carapace.channel.Channel;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.telegram.TelegramChannel;

/**
 * Builds each configured channel from its spec: one line per kind. A new kind adds its line here, its sub-package
 * under {@code channel}, and its block reader in {@code config.ChannelsSection}.
 */
final class ChannelWiring {

    private ChannelWiring() {}

    static Channel build(ChannelContext context) {
        return switch (context.spec().kind()) {
            case "telegram" -> new TelegramChannel(context);
            default -> throw new IllegalArgumentException("channel '" + context.spec().id() + "': no channel of kind '"
                    + context.spec().kind() + "' is built in");
        };
    }
}
