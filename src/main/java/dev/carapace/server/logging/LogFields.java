package dev.carapace.server.logging;

/**
 * {@code key=value} fields for log lines that are read by machines as well as people (the access log). A value a
 * client chose, such as the name of a model that does not exist, could otherwise carry fields of its own: a model
 * named {@code x team=finance tokens_in=999999} made the line say so. A value that is not a plain token is written
 * in double quotes, with {@code "} and {@code \} escaped, so every field a reader finds is one Carapace wrote.
 * (Control characters are escaped for every line by {@link EscapedMessageConverter}.)
 */
public final class LogFields {

    private LogFields() {}

    /** Appends {@code " key=value"}: {@code -} for null, the value quoted unless it is a plain token. */
    public static StringBuilder field(StringBuilder line, String key, String value) {
        line.append(' ').append(key).append('=');
        if (value == null) return line.append('-');
        if (plain(value)) return line.append(value);
        line.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') line.append('\\');
            line.append(c);
        }
        return line.append('"');
    }

    /**
     * Letters, digits and {@code . _ - : / @ +}: what model ids, deployments, teams and users are made of; not empty,
     * and not {@code -}, which stands for none.
     */
    private static boolean plain(String s) {
        if (s.isEmpty() || s.equals("-")) return false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || c == '.' || c == '_' || c == '-' || c == ':' || c == '/' || c == '@' || c == '+';
            if (!ok) return false;
        }
        return true;
    }
}
