package dev.carapace.channel.slack;

import dev.carapace.channel.KindSettings;

import java.net.URI;
import java.util.Objects;

/**
 * A Slack channel's own settings (its {@code slack:} block): the names of its credentials in {@code secrets:}, how
 * events reach it, and where the Web API and the files are.
 *
 * @param botTokenSecret     the bot token ({@code xoxb-...}): every Web API call, and file downloads
 * @param signingSecretSecret the app's signing secret: the Events API's request signatures (events mode; null in
 *                           socket mode)
 * @param appTokenSecret     the app-level token ({@code xapp-...}) that opens Socket Mode connections (socket mode;
 *                           null in events mode)
 * @param mode               how events arrive
 * @param apiBase            the Web API's base, ending in {@code /} ({@code https://slack.com/api/})
 * @param filesBase          the only origin files are downloaded from and uploaded to: the bot token is sent to this
 *                           origin and to {@code apiBase}, nowhere else ({@code https://files.slack.com/})
 */
public record SlackSettings(String botTokenSecret, String signingSecretSecret, String appTokenSecret, Mode mode,
                            URI apiBase, URI filesBase) implements KindSettings {

    public static final URI DEFAULT_API_BASE = URI.create("https://slack.com/api/");
    public static final URI DEFAULT_FILES_BASE = URI.create("https://files.slack.com/");

    /** How events reach Carapace. */
    public enum Mode {
        /** Slack posts them to {@code POST /hooks/CHANNEL} (a public HTTPS endpoint), signed. */
        EVENTS,
        /** Carapace opens a WebSocket to Slack ({@code apps.connections.open}): no public endpoint needed. */
        SOCKET
    }

    public SlackSettings {
        Objects.requireNonNull(botTokenSecret, "botTokenSecret");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(apiBase, "apiBase");
        Objects.requireNonNull(filesBase, "filesBase");
        if (mode == Mode.EVENTS) Objects.requireNonNull(signingSecretSecret, "signingSecretSecret");
        if (mode == Mode.SOCKET) Objects.requireNonNull(appTokenSecret, "appTokenSecret");
    }
}
