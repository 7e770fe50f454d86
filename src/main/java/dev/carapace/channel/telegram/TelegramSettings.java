package dev.carapace.channel.telegram;

import dev.carapace.channel.KindSettings;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * A Telegram channel's own settings (the {@code telegram:} block of a channel).
 *
 * @param tokenSecret         the name, in {@code secrets:}, of the bot token BotFather gave
 * @param apiBase             the Bot API's address ({@code https://api.telegram.org}, or a local Bot API server);
 *                            no trailing slash
 * @param mode                how updates arrive
 * @param webhookSecretSecret webhook mode: the name, in {@code secrets:}, of the {@code secret_token} given to
 *                            {@code setWebhook}, which Telegram sends back on every request; null in polling mode
 * @param pollTimeout         polling mode: how long one {@code getUpdates} waits for an update
 * @param groups              which messages of group chats are taken
 */
public record TelegramSettings(String tokenSecret, URI apiBase, Mode mode, String webhookSecretSecret,
                               Duration pollTimeout, Groups groups) implements KindSettings {

    public static final URI DEFAULT_API_BASE = URI.create("https://api.telegram.org");
    public static final Duration DEFAULT_POLL_TIMEOUT = Duration.ofSeconds(30);
    /** Telegram answers a longer long poll after about this long anyway. */
    public static final Duration MAX_POLL_TIMEOUT = Duration.ofSeconds(50);

    public TelegramSettings {
        Objects.requireNonNull(tokenSecret, "tokenSecret");
        Objects.requireNonNull(apiBase, "apiBase");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(pollTimeout, "pollTimeout");
        Objects.requireNonNull(groups, "groups");
        if (mode == Mode.WEBHOOK && webhookSecretSecret == null) {
            throw new IllegalArgumentException("webhook mode needs webhook_secret_secret");
        }
    }

    /** How updates arrive. */
    public enum Mode {
        /** {@code getUpdates} in a loop on the channel's own thread: no public address needed. */
        POLLING,
        /** Telegram posts each update to {@code /hooks/CHANNEL}, registered with {@code setWebhook}. */
        WEBHOOK
    }

    /** Which messages of group chats the bot takes (private chats are always taken). */
    public enum Groups {
        /** Those that mention the bot ({@code @botname}, a command to it) or reply to one of its messages. */
        MENTION,
        /** Every message the bot sees (with BotFather's privacy mode on, Telegram sends fewer). */
        ALL,
        /** None: group messages are dropped without being stored. */
        OFF
    }
}
