package dev.carapace.config;

import dev.carapace.guard.egress.SecretStore;
import dev.carapace.yaml.KeyPath;
import dev.carapace.yaml.Problems;
import dev.carapace.yaml.YamlTree.Entry;
import dev.carapace.yaml.YamlTree.ListNode;
import dev.carapace.yaml.YamlTree.MapNode;
import dev.carapace.yaml.YamlTree.Node;
import dev.carapace.yaml.YamlTree.Scalar;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Keeps secrets out of the config: refuses every key named like a secret, wherever it is, and reads the
 * {@code secrets:} section, which holds references to secrets ({@code env:VAR}, {@code file:/path}) and never a value.
 */
final class SecretsSection {

    private static final Set<String> SECRET_WORDS =
            Set.of("api_key", "apikey", "password", "passwd", "secret", "token", "authorization");
    private static final Set<String> NAMED_SECTIONS = Set.of("providers", "models", "teams", "agents");

    private final Problems problems;

    SecretsSection(Problems problems) {
        this.problems = problems;
    }

    /**
     * Refuses every key named like a secret (api_key, password, token, ...), at any depth, except the names of
     * providers, models and teams and the provider headers (checked by {@link #headers}).
     */
    void refuseSecrets(MapNode root) {
        for (Entry e : root.entries().values()) {
            String path = KeyPath.key("", e.key());
            String hint = switch (e.key()) {
                case "providers" -> "api_key_env";
                case "store" -> "password_env";
                default -> null;
            };
            if (e.key().equals("secrets")) {
                continue; // names of secrets, each checked to hold a reference by secrets()
            } else if (isSecretKey(e.key())) {
                problems.error(e.line(), e.column(), path, secretMessage(null));
            } else if (e.key().equals("privacy")) {
                continue;   // its names are classes and dictionaries (a "secret" class), never credentials
            } else if (NAMED_SECTIONS.contains(e.key()) && e.value() instanceof MapNode named) {
                for (Entry n : named.entries().values()) {
                    refuseSecrets(n.value(), KeyPath.key(path, n.key()), hint, e.key().equals("providers"));
                }
            } else {
                refuseSecrets(e.value(), path, hint, false);
            }
        }
    }

    void refuseSecrets(Node node, String path, String hint, boolean provider) {
        if (node instanceof MapNode map) {
            for (Entry e : map.entries().values()) {
                if (isSecretKey(e.key()) && !namesSecret(path, e.key())) {
                    problems.error(e.line(), e.column(), KeyPath.key(path, e.key()), secretMessage(hint));
                } else if (!(provider && e.key().equals("headers"))) {
                    refuseSecrets(e.value(), KeyPath.key(path, e.key()), hint, false);
                }
            }
        } else if (node instanceof ListNode list) {
            for (int i = 0; i < list.items().size(); i++) {
                refuseSecrets(list.items().get(i), KeyPath.index(path, i), hint, false);
            }
        }
    }

    /** Whether a settings key names a secret: api_key, password, secret, token, authorization (any case), ... */
    static boolean isSecretKey(String key) {
        String k = key.toLowerCase(Locale.ROOT).replace('-', '_');
        if (SECRET_WORDS.contains(k)) {
            return true;
        }
        for (String word : SECRET_WORDS) {
            if (k.endsWith("_" + word)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a key under {@code channels:} names a secret rather than holding one: {@code secret} or
     * {@code *_secret} ({@code token_secret}, {@code password_secret}) takes the name of an entry of {@code secrets:},
     * which its kind's reader checks is a name.
     */
    static boolean namesSecret(String path, String key) {
        String k = key.toLowerCase(Locale.ROOT);
        return (path.equals("channels") || path.startsWith("channels.") || path.startsWith("channels["))
                && (k.equals("secret") || k.endsWith("_secret"));
    }

    static boolean isSecretHeader(String lowerName) {
        String n = lowerName.replace('_', '-');
        return n.contains("authorization") || n.contains("api-key") || n.contains("apikey") || n.contains("token")
                || n.contains("secret") || n.contains("password") || n.equals("cookie");
    }

    static String secretMessage(String envKey) {
        return envKey == null
                ? "secrets are not written in the config; put the value in an environment variable"
                : "secrets are not written in the config; put the value in an environment variable and name it with "
                + envKey;
    }

    /**
     * {@code secrets: {NAME: env:VAR | file:/abs/path}}: references only. A value that is not a reference is refused
     * without being echoed (it may be the secret itself).
     */
    Map<String, String> secrets(MapReader root) {
        Map<String, String> secrets = new LinkedHashMap<>();
        for (Entry e : root.entries("secrets")) {
            String path = KeyPath.key("secrets", e.key());
            if (!(e.value() instanceof Scalar s) || s.isNull() || s.isOpaque()) {
                problems.error(e.line(), e.column(), path, "expected a reference, env:VAR or file:/absolute/path");
                continue;
            }
            String problem = SecretStore.problem(e.key(), s.text());
            if (problem != null) {
                problems.error(s.line(), s.column(), path, problem);
            } else {
                secrets.put(e.key(), s.text());
            }
        }
        return Collections.unmodifiableMap(secrets);
    }
}
