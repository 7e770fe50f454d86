package dev.carapace.config;

import dev.carapace.channel.KindSettings;
import dev.carapace.channel.telegram.TelegramSettings;
import dev.carapace.channel.telegram.TelegramSettings.Groups;
import dev.carapace.channel.telegram.TelegramSettings.Mode;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Scalar;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a Telegram channel's {@code telegram:} block.
 *
 * <pre>
 * telegram:
 *   token_secret: telegram-bot          # the name of the bot token in secrets:
 *   mode: polling                       # polling (default) | webhook
 *   webhook_secret_secret: telegram-hook  # webhook mode: the name of the secret_token given to setWebhook
 *   api_base: https://api.telegram.org  # default; http only to this machine (a local Bot API server)
 *   poll_timeout: 30s                   # 1s to 50s
 *   groups: mention                     # mention (default) | all | off
 * </pre>
 */
final class TelegramSection {

    /** A secret's name, as {@code secrets:} takes one. */
    private static final Pattern SECRET_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]{0,63}");
    private static final Set<String> LOOPBACK = Set.of("localhost", "127.0.0.1", "[::1]", "::1");
    private static final Map<String, Mode> MODES = words(Mode.values());
    private static final Map<String, Groups> GROUPS = words(Groups.values());

    private TelegramSection() {}

    private static <E extends Enum<E>> Map<String, E> words(E[] values) {
        Map<String, E> m = new LinkedHashMap<>();
        for (E e : values) m.put(e.name().toLowerCase(Locale.ROOT), e);
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The block's settings, or null when a mistake was reported. */
    static KindSettings read(MapReader r, String channelId) {
        String token = secretName(r, "token_secret", true);
        URI base = apiBase(r);
        Mode mode = r.choice("mode", MODES, Mode.POLLING);
        String hookSecret = secretName(r, "webhook_secret_secret", false);
        Duration pollTimeout = r.duration("poll_timeout", Duration.ofSeconds(1), TelegramSettings.DEFAULT_POLL_TIMEOUT);
        if (pollTimeout.compareTo(TelegramSettings.MAX_POLL_TIMEOUT) > 0) {
            r.error(r.value("poll_timeout"), "poll_timeout", "must be at most 50s (Telegram ends a long poll by then), got "
                    + YamlTree.describe(r.value("poll_timeout")));
            pollTimeout = TelegramSettings.MAX_POLL_TIMEOUT;
        }
        Groups groups = r.choice("groups", GROUPS, Groups.MENTION);
        r.finish();
        if (mode == Mode.WEBHOOK && hookSecret == null && r.entry("webhook_secret_secret") == null) {
            r.errorHere("mode: webhook needs webhook_secret_secret: the name in secrets: of the secret_token given to "
                    + "setWebhook, which Telegram sends back with every update (1-256 of A-Z, a-z, 0-9, _ and -)");
            return null;
        }
        if (token == null || base == null || mode == Mode.WEBHOOK && hookSecret == null) return null;
        return new TelegramSettings(token, base, mode, hookSecret, pollTimeout, groups);
    }

    private static String secretName(MapReader r, String key, boolean required) {
        String what = "the name of an entry of secrets:";
        Scalar s = required ? r.requiredScalar(key, what) : r.scalar(key, what);
        if (s == null) return null;
        if (!SECRET_NAME.matcher(s.text()).matches()) {
            // never echoed: it may be the secret itself
            r.error(s, key, "expected " + what + " (letters, digits, '_', '.', '-'), not a value; secrets are not "
                    + "written in the config");
            return null;
        }
        return s.text();
    }

    /** https, or http to this machine only: the bot token is in every request's path. */
    private static URI apiBase(MapReader r) {
        String what = "the Bot API's address, such as https://api.telegram.org";
        Scalar s = r.scalar("api_base", what);
        if (s == null) return TelegramSettings.DEFAULT_API_BASE;
        URI uri;
        try {
            uri = new URI(s.text().trim());
        } catch (URISyntaxException e) {
            r.error(s, "api_base", "expected " + what + ", got " + YamlTree.describe(s) + " (" + e.getReason() + ")");
            return null;
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!uri.isAbsolute() || uri.getHost() == null || !scheme.equals("https") && !scheme.equals("http")) {
            r.error(s, "api_base", "expected " + what + ", got " + YamlTree.describe(s));
            return null;
        }
        if (uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null) {
            r.error(s, "api_base", "must not have user info, a query or a fragment; method paths are appended to it");
            return null;
        }
        if (scheme.equals("http") && !LOOPBACK.contains(uri.getHost().toLowerCase(Locale.ROOT))) {
            r.error(s, "api_base", "must be https (the bot token is in every request's path); http is only for a Bot API "
                    + "server on this machine (localhost, 127.0.0.1, [::1])");
            return null;
        }
        String text = uri.toString();
        return URI.create(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
    }
}
