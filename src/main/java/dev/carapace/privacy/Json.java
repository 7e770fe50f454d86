package dev.carapace.privacy;

/** The escapes of a JSON string's contents, for values found in (or put back into) tool-call arguments. */
final class Json {

    private Json() {}

    static String escape(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String rep = switch (c) {
                case '"' -> "\\\"";
                case '\\' -> "\\\\";
                case '\n' -> "\\n";
                case '\r' -> "\\r";
                case '\t' -> "\\t";
                default -> c < 0x20 ? String.format("\\u%04x", (int) c) : null;
            };
            if (rep != null && b == null) b = new StringBuilder(s.length() + 16).append(s, 0, i);
            if (b != null) {
                if (rep != null) b.append(rep);
                else b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }

    /** Undoes JSON escapes; a malformed escape is kept as written. */
    static String unescape(String s) {
        int i = s.indexOf('\\');
        if (i < 0) return s;
        StringBuilder b = new StringBuilder(s.length()).append(s, 0, i);
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c != '\\' || i + 1 >= s.length()) {
                b.append(c);
                i++;
                continue;
            }
            char e = s.charAt(i + 1);
            switch (e) {
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case '"', '\\', '/' -> b.append(e);
                case 'u' -> {
                    if (i + 6 <= s.length()) {
                        try {
                            b.append((char) Integer.parseInt(s, i + 2, i + 6, 16));
                            i += 6;
                            continue;
                        } catch (NumberFormatException ignored) {
                            // kept as written below
                        }
                    }
                    b.append("\\u");
                }
                default -> b.append('\\').append(e);
            }
            i += 2;
        }
        return b.toString();
    }
}
