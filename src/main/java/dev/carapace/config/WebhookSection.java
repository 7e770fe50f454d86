package dev.carapace.config;

import dev.carapace.channel.KindSettings;
import dev.carapace.channel.webhook.WebhookSettings;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Scalar;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a webhook channel's {@code webhook:} block.
 *
 * <pre>
 * webhook:
 *   secrets: [crm_hook_key]            # names in secrets:; a caller's signature must match one (two while rotating)
 *   tolerance: 5m                      # webhook-timestamp within this of our clock, either way
 *   deliver_to: https://crm.example/carapace/answers
 *   deliver_secrets: [crm_answer_key]  # answers are signed with each (the receiver accepts any); none: unsigned
 *   max_attempts: 8
 *   reply_to_prefixes: [https://crm.example/callbacks/]   # a message's reply_to must start with one; none: refused
 *   max_body_bytes: 10mb                # default: the server's own limit (server.max_body_bytes, 10mb), which bounds every endpoint
 * </pre>
 */
final class WebhookSection {

    private WebhookSection() {}

    static KindSettings read(MapReader r, String channelId) {
        List<String> secrets = SettingsSections.secretNames(r, "secrets", null);
        if (secrets.isEmpty()) {
            r.errorHere("a webhook channel names the keys callers sign with: 'secrets: [NAME]', NAME an entry of "
                    + "secrets: (Standard Webhooks: whsec_BASE64, or any text)");
        }
        Duration tolerance = r.duration("tolerance", Duration.ofSeconds(1), WebhookSettings.DEFAULT_TOLERANCE);
        if (tolerance.compareTo(Duration.ofHours(1)) > 0) {
            r.error(r.entry("tolerance").value(), "tolerance", "at most 1h: a signed request is good for this long");
        }
        URI deliverTo = url(r, "deliver_to");
        List<String> deliverSecrets = SettingsSections.secretNames(r, "deliver_secrets", null);
        int maxAttempts = r.integer("max_attempts", 1, 100, WebhookSettings.DEFAULT_MAX_ATTEMPTS);
        List<String> prefixes = new ArrayList<>();
        List<Scalar> items = r.scalars("reply_to_prefixes", "a list of URL prefixes", "an http(s) URL prefix with a path");
        for (Scalar s : items == null ? List.<Scalar>of() : items) {
            URI u = parse(s.text());
            // the host must be closed by a path, or https://a.example would let https://a.example.evil.test through
            if (u == null || u.getRawPath() == null || !u.getRawPath().startsWith("/") || u.getRawQuery() != null) {
                r.errorAt(s, r.pathOf("reply_to_prefixes"), "not a URL prefix: " + YamlTree.describe(s)
                        + " (expected https://HOST/PATH..., with at least the '/' after the host)");
            } else {
                prefixes.add(s.text());
            }
        }
        int maxBody = (int) r.size("max_body_bytes", 1024, 64L << 20, WebhookSettings.DEFAULT_MAX_BODY_BYTES);
        r.finish();
        if (secrets.isEmpty()) return null;
        return new WebhookSettings(secrets, tolerance, deliverTo, deliverSecrets, maxAttempts, prefixes, maxBody);
    }

    private static URI url(MapReader r, String key) {
        Scalar s = r.scalar(key, "an http(s) URL");
        if (s == null || s.isNull()) return null;
        URI u = parse(s.text());
        if (u == null) {
            r.errorAt(s, r.pathOf(key), "not an absolute http(s) URL without a user: " + YamlTree.describe(s));
        }
        return u;
    }

    /** An absolute http(s) URL with a host and no user, or null. */
    private static URI parse(String text) {
        try {
            URI u = new URI(text);
            boolean web = "https".equals(u.getScheme()) || "http".equals(u.getScheme());
            return web && u.getHost() != null && u.getRawUserInfo() == null && u.getRawFragment() == null ? u : null;
        } catch (URISyntaxException e) {
            return null;
        }
    }
}
