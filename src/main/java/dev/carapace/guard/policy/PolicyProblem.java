package dev.carapace.guard.policy;

/**
 * One problem in a policy file.
 *
 * @param file    the file as named to the loader
 * @param line    1-based; 0 for the file as a whole (missing, unreadable)
 * @param column  1-based; 0 when unknown
 * @param path    the field path, like {@code network_policies.github.endpoints[0].port}; empty for the whole file
 * @param message what is wrong and what is expected
 */
public record PolicyProblem(String file, int line, int column, String path, String message) {

    /** {@code FILE:LINE:COL: PATH: MESSAGE}, leaving out the parts that are unknown. */
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
