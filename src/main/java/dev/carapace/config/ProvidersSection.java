package dev.carapace.config;

import dev.carapace.model.ProviderSpec;
import dev.carapace.model.WireApi;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.Scalar;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import static dev.carapace.config.SecretsSection.isSecretHeader;
import static dev.carapace.config.SecretsSection.secretMessage;

/** Reads the {@code providers:} section: each upstream's API, base URL, key variable, timeouts and extra headers. */
final class ProvidersSection {

    private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    private static final Set<String> MANAGED_HEADERS =
            Set.of("host", "content-length", "content-type", "transfer-encoding", "connection", "upgrade", "expect", "te");

    /** Provider kinds: the API each upstream speaks. */
    static final Map<String, WireApi> KINDS = kinds();

    /** The kind of a local provider: speech by espeak-ng on this machine, no upstream. */
    static final String ESPEAK = "espeak";
    private static final Duration DEFAULT_ESPEAK_TIMEOUT = Duration.ofSeconds(20);
    /** Every kind, as a mistyped one is told: the APIs, and espeak (read before, with no API of its own). */
    private static final Map<String, WireApi> KIND_NAMES = kindNames();
    private static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(120);

    private final ConfigChecks checks;
    private final Problems problems;

    ProvidersSection(ConfigChecks checks) {
        this.checks = checks;
        this.problems = checks.problems();
    }

    Map<String, ProviderSpec> providers(MapReader root) {
        Map<String, ProviderSpec> providers = new LinkedHashMap<>();
        for (Entry e : root.entries("providers")) {
            providers.put(e.key(), provider(e));
        }
        return Collections.unmodifiableMap(providers);
    }

    private ProviderSpec provider(Entry e) {
        String path = KeyPath.key("providers", e.key());
        checks.checkName(e.line(), e.column(), path, e.key(), "provider name");
        MapReader r = MapReader.of(e.value(), path, e.line(), e.column(), problems);
        if (r.value("kind") instanceof Scalar k && k.text().equals(ESPEAK)) {
            r.entry("kind");
            // A local engine: no server to reach, so no URL, key or headers; its time limit is its read timeout's.
            Duration timeout = r.duration("timeout", Duration.ofMillis(100), DEFAULT_ESPEAK_TIMEOUT);
            r.finish();
            return ProviderSpec.local(e.key(), ProviderSpec.Local.ESPEAK, timeout);
        }
        WireApi kind = r.requiredChoice("kind", KIND_NAMES);
        URI baseUrl = baseUrl(r);
        String apiKeyEnv = checks.envName(r, "api_key_env");
        Duration connectTimeout = r.duration("connect_timeout", Duration.ofMillis(1), DEFAULT_CONNECT_TIMEOUT);
        Duration readTimeout = r.duration("read_timeout", Duration.ofMillis(1), DEFAULT_READ_TIMEOUT);
        Map<String, String> headers = headers(r);
        r.finish();
        return new ProviderSpec(e.key(), kind, baseUrl, apiKeyEnv, connectTimeout, readTimeout, headers);
    }

    /** An absolute http(s) URL without credentials, query or fragment; a trailing '/' is dropped. */
    private URI baseUrl(MapReader r) {
        String what = "an absolute http(s) URL like https://api.openai.com/v1";
        Scalar s = r.requiredScalar("base_url", what);
        if (s == null) {
            return null;
        }
        URI uri;
        try {
            uri = new URI(s.text().trim());
        } catch (URISyntaxException ex) {
            r.error(s, "base_url", "expected " + what + ", got " + YamlTree.describe(s) + " (" + ex.getReason() + ")");
            return null;
        }
        if (uri.getRawUserInfo() != null) {
            r.error(s, "base_url", secretMessage("api_key_env"));
            return null;
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!uri.isAbsolute() || !(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
            r.error(s, "base_url", "expected " + what + ", got " + YamlTree.describe(s));
            return null;
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
            r.error(s, "base_url", "must not have a query (?...) or fragment (#...); request paths are appended to it");
            return null;
        }
        String text = uri.toString();
        while (text.endsWith("/")) {
            text = text.substring(0, text.length() - 1);
        }
        return URI.create(text);
    }

    private Map<String, String> headers(MapReader r) {
        Map<String, String> headers = new LinkedHashMap<>();
        Map<String, Entry> seen = new HashMap<>();
        for (Entry h : r.entries("headers")) {
            String path = KeyPath.key(r.pathOf("headers"), h.key());
            String lower = h.key().toLowerCase(Locale.ROOT);
            if (!HEADER_NAME.matcher(h.key()).matches()) {
                problems.error(h.line(), h.column(), path, "invalid header name '" + h.key() + "'");
                continue;
            }
            if (isSecretHeader(lower)) {
                problems.error(h.line(), h.column(), path, secretMessage("api_key_env")
                        + "; the provider sends the key in the header its API expects");
                continue;
            }
            if (MANAGED_HEADERS.contains(lower)) {
                problems.error(h.line(), h.column(), path,
                        "header '" + h.key() + "' is set by Carapace for each request and cannot be configured");
                continue;
            }
            Entry first = seen.putIfAbsent(lower, h);
            if (first != null) {
                problems.error(h.line(), h.column(), path, "header '" + h.key() + "' is already given at line "
                        + first.line() + " (header names ignore case)");
                continue;
            }
            if (h.value() instanceof Scalar s && s.isOpaque()) {
                continue;
            }
            if (!(h.value() instanceof Scalar value) || value.isNull()) {
                problems.error(h.value().line(), h.value().column(), path,
                        "expected the header's value as text, got " + YamlTree.describe(h.value()));
                continue;
            }
            if (value.text().indexOf('\r') >= 0 || value.text().indexOf('\n') >= 0) {
                problems.error(value.line(), value.column(), path, "a header value must be on one line");
                continue;
            }
            headers.put(h.key(), value.text());
        }
        return headers;
    }

    private static Map<String, WireApi> kindNames() {
        Map<String, WireApi> names = new LinkedHashMap<>(KINDS);
        names.put(ESPEAK, null);
        return Collections.unmodifiableMap(names);
    }

    private static Map<String, WireApi> kinds() {
        Map<String, WireApi> kinds = new LinkedHashMap<>();
        kinds.put("openai", WireApi.OPENAI);
        kinds.put("anthropic", WireApi.ANTHROPIC);
        kinds.put("openai-responses", WireApi.RESPONSES);
        return Collections.unmodifiableMap(kinds);
    }
}
