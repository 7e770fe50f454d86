package dev.carapace.config;

import dev.carapace.channel.KindSettings;
import dev.carapace.channel.slack.SlackSettings;
import dev.carapace.channel.slack.SlackSettings.Mode;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Scalar;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a Slack channel's {@code slack:} block. Credentials are named, never written: each {@code *_secret} key
 * holds the name of an entry of {@code secrets:}.
 *
 * <pre>
 * slack:
 *   bot_token_secret: slack-bot          # xoxb-... (chat:write, files:read, files:write, app_mentions:read, im:history)
 *   mode: events                         # events (default: Slack posts to /hooks/CHANNEL) | socket
 *   signing_secret_secret: slack-signing # events mode: the app's signing secret
 *   app_token_secret: slack-app          # socket mode: an app-level token xapp-... (connections:write)
 *   api_base: https://slack.com/api/     # default
 *   files_base: https://files.slack.com/ # default: the only origin files are fetched from with the bot token
 * </pre>
 */
final class SlackSection {

    /** A name in {@code secrets:} ({@code SecretStore}'s rule). */
    private static final Pattern SECRET_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]{0,63}");
    /** Slack's tokens ({@code xoxb-}, {@code xoxp-}, {@code xapp-}...) and signing secrets (32 hex digits). */
    private static final Pattern LOOKS_LIKE_A_CREDENTIAL = Pattern.compile("(?i)(xox[a-z]-|xapp-).*|[0-9a-f]{32}");
    private static final Map<String, Mode> MODES = modes();
    private static final Set<String> LOOPBACK = Set.of("127.0.0.1", "localhost", "[::1]", "::1");

    private SlackSection() {}

    private static Map<String, Mode> modes() {
        Map<String, Mode> m = new LinkedHashMap<>();
        for (Mode mode : Mode.values()) m.put(mode.name().toLowerCase(Locale.ROOT), mode);
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The settings, or null when the block has errors (reported). */
    static KindSettings read(MapReader r, String channelId) {
        String bot = secretName(r, "bot_token_secret", "the name of the bot token (xoxb-...) in secrets:", true);
        Mode mode = r.choice("mode", MODES, Mode.EVENTS);
        String signing = secretName(r, "signing_secret_secret",
                "the name of the app's signing secret in secrets: (events mode)", mode == Mode.EVENTS);
        String app = secretName(r, "app_token_secret",
                "the name of an app-level token (xapp-...) in secrets: (socket mode)", mode == Mode.SOCKET);
        URI api = base(r, "api_base", SlackSettings.DEFAULT_API_BASE);
        URI files = base(r, "files_base", SlackSettings.DEFAULT_FILES_BASE);
        r.finish();
        if (bot == null || mode == null || api == null || files == null
                || mode == Mode.EVENTS && signing == null || mode == Mode.SOCKET && app == null) {
            return null;
        }
        return new SlackSettings(bot, mode == Mode.EVENTS ? signing : null, mode == Mode.SOCKET ? app : null, mode,
                api, files);
    }

    /** A secret's name; a value that is not a name is not echoed (it may be the secret itself). */
    private static String secretName(MapReader r, String key, String what, boolean required) {
        Scalar s = required ? r.requiredScalar(key, what) : r.scalar(key, what);
        if (s == null) return null;
        if (!SECRET_NAME.matcher(s.text()).matches() || LOOKS_LIKE_A_CREDENTIAL.matcher(s.text()).matches()) {
            r.error(s, key, "expected " + what + " (letters, digits, '_', '.' or '-'); the value is not shown, as it "
                    + "may be the secret itself: put that in an environment variable and name it in secrets:");
            return null;
        }
        return s.text();
    }

    /** An https base URL ({@code http} only on loopback, for a scripted Slack), ending in {@code /}. */
    private static URI base(MapReader r, String key, URI defaultValue) {
        Scalar s = r.scalar(key, "an https URL");
        if (s == null) return defaultValue;
        String text = s.text().strip();
        URI uri;
        try {
            uri = new URI(text.endsWith("/") ? text : text + "/");
        } catch (URISyntaxException e) {
            r.error(s, key, "not a URL: " + YamlTree.describe(s));
            return null;
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        boolean loopback = uri.getHost() != null && LOOPBACK.contains(uri.getHost().toLowerCase(Locale.ROOT));
        if (uri.getHost() == null || uri.getRawUserInfo() != null || uri.getRawQuery() != null
                || uri.getRawFragment() != null || !(scheme.equals("https") || scheme.equals("http") && loopback)) {
            // a URL with a user part may hold a password: not echoed
            r.error(s, key, "expected an https URL with a host and no user, query or fragment (http only on "
                    + "127.0.0.1 or localhost)" + (uri.getRawUserInfo() != null ? "" : ", got " + YamlTree.describe(s)));
            return null;
        }
        return uri;
    }
}
