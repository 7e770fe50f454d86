package dev.carapace.server;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.channel.Channel;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.ChannelEvents;
import dev.carapace.channel.ChannelHub;
import dev.carapace.channel.ChannelPrivacy;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.ChannelStore;
import dev.carapace.channel.Identities;
import dev.carapace.channel.ChannelAudit;
import dev.carapace.channel.Secrets;
import dev.carapace.channel.Voice;
import dev.carapace.channel.email.EmailChannel;
import dev.carapace.channel.slack.SlackChannel;
import dev.carapace.channel.telegram.TelegramChannel;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.guard.audit.AuditLog;
import dev.carapace.guard.egress.SecretStore;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.privacy.Scanner;
import dev.carapace.server.adapter.AuditedChannels;
import dev.carapace.server.adapter.ChannelPrivacyScreen;
import dev.carapace.server.adapter.ChannelSecrets;
import dev.carapace.server.adapter.StoreChannels;
import dev.carapace.store.Store;

import java.time.Clock;
import java.time.Duration;
import java.util.function.Function;
import dev.carapace.channel.webhook.WebhookChannel;
import dev.carapace.channel.webhook.WebhookDeliveries;
import dev.carapace.identity.KeyAdmin;

/**
 * Builds the channels for {@link Carapace}: the hub over the store, the config's identity bindings, the privacy
 * policy's screen (the defaults when the config has none), the audit chain; then one channel per spec, one line per
 * kind. A new kind adds its line in {@link #build}, its sub-package under {@code channel}, and its block reader in
 * {@code config.ChannelsSection}.
 */
final class ChannelWiring {

    final ChannelHub hub;

    ChannelWiring(CarapaceConfig config, Store store, AgentRuntime runtime, AuditLog audit, Function<String, String> env,
                  Voice voice, WebhookDeliveries deliveries, Clock clock) {
        ChannelStore channels = new StoreChannels(store.channelRows());
        PrivacySpec spec = config.privacy() != null ? config.privacy() : PrivacySpec.DEFAULT;
        ChannelPrivacy privacy = new ChannelPrivacyScreen(spec, new Scanner(spec));
        ChannelAudit channelAudit = new AuditedChannels(audit, clock);
        this.hub = new ChannelHub(config.channels().channels(), channels, identities(config, store, audit, clock),
                runtime.agents(), runtime, privacy, channelAudit, new ChannelEvents(), voice, clock, Duration.ofSeconds(1));
        Secrets secrets = new ChannelSecrets(SecretStore.of(config.secrets(), env));
        for (ChannelSpec s : config.channels().channels()) {
            hub.add(build(new ChannelContext(s, secrets, channels, clock), deliveries));
        }
    }

    /** Who is speaking, over the store: for the hub, and for the CLI's {@code channels pair} and {@code bindings}. */
    static Identities identities(CarapaceConfig config, Store store, AuditLog audit, Clock clock) {
        return new Identities(config.org(), config.channels().identities(), new StoreChannels(store.channelRows()),
                new AuditedChannels(audit, clock), clock, user -> KeyAdmin.teamOf(store.apiKeys(), user));
    }

    /** A channel, built for {@code carapace channels test} without a gateway (it sends nothing: no deliveries). */
    static Channel build(CarapaceConfig config, ChannelSpec spec, Store store, Function<String, String> env, Clock clock) {
        return build(new ChannelContext(spec, new ChannelSecrets(SecretStore.of(config.secrets(), env)),
                new StoreChannels(store.channelRows()), clock), null);
    }

    /** @param deliveries the outbound webhooks ({@link WebhookWiring}), for the kinds that answer by webhook */
    static Channel build(ChannelContext context, WebhookDeliveries deliveries) {
        return switch (context.spec().kind()) {
            case "email" -> new EmailChannel(context);
            case "webhook" -> new WebhookChannel(context, deliveries);
            case "slack" -> new SlackChannel(context);
            case "telegram" -> new TelegramChannel(context);
            default -> throw new IllegalArgumentException("channel '" + context.spec().id() + "': no channel of kind '"
                    + context.spec().kind() + "' is built in");
        };
    }
}
