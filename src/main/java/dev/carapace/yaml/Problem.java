package dev.carapace.yaml;

import java.io.Serializable;

/**
 * One problem in a YAML file (a config, an agent definition, a policy).
 *
 * @param file    the file as named to the loader
 * @param line    1-based; 0 for the file as a whole (missing, unreadable)
 * @param column  1-based; 0 when unknown
 * @param path    the key path, like {@code providers.openai.base_url}; empty for the whole file
 * @param message what is wrong and what is expected
 */
public record Problem(String file, int line, int column, String path, String message) implements Serializable {

    /** {@code FILE:LINE:COL: PATH: MESSAGE}, leaving out the parts that are unknown or empty. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(file);
        if (line > 0) {
            sb.append(':').append(line);
            if (column > 0) sb.append(':').append(column);
        }
        sb.append(": ");
        if (!path.isEmpty()) sb.append(path).append(": ");
        return sb.append(message).toString();
    }
}
