package dev.carapace.config;

import java.util.regex.Pattern;

/**
 * Key paths for messages: {@code providers.openai.base_url}, {@code models.gpt-4o.deployments[0].provider}. A key
 * that is not a plain word (a model id such as {@code gpt-4.1} or {@code meta/llama}) is written in brackets,
 * {@code models["gpt-4.1"].tier}, so the dots stay unambiguous.
 */
final class KeyPath {

    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_-]+");

    private KeyPath() {}

    static String key(String parent, String key) {
        if (!PLAIN.matcher(key).matches()) {
            return parent + "[\"" + key.replace("\\", "\\\\").replace("\"", "\\\"") + "\"]";
        }
        return parent.isEmpty() ? key : parent + "." + key;
    }

    static String index(String parent, int index) {
        return parent + "[" + index + "]";
    }
}
