package dev.carapace.schedule.heartbeat;

import dev.carapace.text.Excerpt;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * A URL a heartbeat watches ({@code watch_urls}): absolute http or https with a host, without credentials in it.
 * A URL may carry a secret in its query ({@code ?token=...}), so everything that is shown or logged uses
 * {@link #label}, which leaves the query out.
 */
final class WatchedUrl {

    static final int MAX_CHARS = 2048;

    private WatchedUrl() {}

    /** {@code raw} unchanged when acceptable, else an {@link IllegalArgumentException} naming {@code field}. */
    static String check(String raw, String field) {
        if (raw == null || raw.isBlank()) {
            throw new IllegalArgumentException(field + ": empty; expected an http or https URL");
        }
        if (raw.length() > MAX_CHARS) {
            throw new IllegalArgumentException(field + ": longer than " + MAX_CHARS + " characters");
        }
        URI uri;
        try {
            uri = new URI(raw);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(field + ": '" + Excerpt.clip(raw.replaceAll("[?#].*", ""), 80)
                    + "' is not a URL (" + Excerpt.clip(e.getReason(), 80) + "); expected e.g. https://example.com/status");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException(field + ": '" + Excerpt.clip(scheme.isEmpty() ? raw : scheme + ":", 80)
                    + "' is not an http or https URL; only those are watched");
        }
        if (uri.getRawUserInfo() != null) {
            // never quoted: the user-info is a secret
            throw new IllegalArgumentException(field + ": the URL carries credentials (user:password@); give them "
                    + "to the egress proxy's credential injection instead");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw new IllegalArgumentException(field + ": '" + label(raw) + "' has no host; expected e.g. "
                    + "https://example.com/status");
        }
        return raw;
    }

    /** The URL as shown in prompts, problems and logs: scheme, host, port and path; a query is shown as "?...". */
    static String label(String url) {
        try {
            URI uri = new URI(url);
            String path = uri.getRawPath() == null ? "" : uri.getRawPath();
            String shown = uri.getScheme() + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort())
                    + path + (uri.getRawQuery() == null ? "" : "?...");
            return Excerpt.clip(shown, 200);
        } catch (URISyntaxException e) {
            return Excerpt.clip(url.replaceAll("[?#@].*", ""), 200);
        }
    }
}
