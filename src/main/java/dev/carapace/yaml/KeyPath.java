package dev.carapace.yaml;

import java.util.regex.Pattern;

/**
 * Key paths for messages: {@code providers.openai.base_url}, {@code models.gpt-4o.deployments[0].provider}. A key
 * that is not a plain word (a model id such as {@code gpt-4.1} or {@code meta/llama}) is written in brackets,
 * {@code models["gpt-4.1"].tier}, so the dots stay unambiguous.
 */
public final class KeyPath {

    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_-]+");

    private KeyPath() {}

    public static String key(String parent, String key) {
        if (!isPlain(key)) {
            return parent + "[\"" + key.replace("\\", "\\\\").replace("\"", "\\\"") + "\"]";
        }
        return parent.isEmpty() ? key : parent + "." + key;
    }

    public static String index(String parent, int index) {
        return parent + "[" + index + "]";
    }

    /** Whether {@code key} can stand in a path as it is: letters, digits, '_' and '-'. */
    public static boolean isPlain(String key) {
        return PLAIN.matcher(key).matches();
    }
}
