package dev.carapace.privacy;

import java.util.List;
import java.util.Locale;

/**
 * Finds credentials by where they are written: a high-entropy value assigned to a name like password, secret or
 * token ({@code DB_PASSWORD=...}, {@code "apiKey": "..."}, {@code Authorization: Bearer ...}). The finding is the
 * value; the name stays readable.
 */
final class Assignments {

    /** The type of what this finds. */
    static final String TYPE = "credential";

    /** Endings of a name (lowercase, without '_', '-' and '.') that say its value is a credential. */
    private static final String[] NAMES = {"password", "passwd", "pwd", "passphrase", "secret", "secretkey", "token",
            "apikey", "accesskey", "privatekey", "authkey", "credential", "credentials", "authorization", "passwort",
            "motdepasse", "contrasena", "contraseña"};
    /** Values that are references or stand-ins, not the secret itself. */
    private static final String[] STAND_INS = {"changeme", "example", "placeholder", "redacted", "your_", "your-",
            "xxxx", "****", "${", "{{", "%(", "getenv", "process.env", "os.environ", "secrets.", "vault:", "<", ">",
            "...", "dummy", "sample", "password"};
    /** The last char of each of {@link #NAMES}. */
    private static final String LAST_CHARS = lastChars();
    private static final int MAX_VALUE = 200;
    private static final int MIN_VALUE = 8;

    private Assignments() {}

    /** {@code i} is a ':' or '='; returns where scanning goes on. */
    static int scan(String s, int i, List<Finding> out) {
        int n = s.length();
        char op = s.charAt(i);
        if (op == '=' && ((i + 1 < n && s.charAt(i + 1) == '=') || (i > 0 && "=!<>".indexOf(s.charAt(i - 1)) >= 0))) return i + 1;
        if (op == ':' && i + 1 < n && s.charAt(i + 1) == ':') return i + 2;
        int q = i - 1;
        while (q >= 0 && (s.charAt(q) == ' ' || s.charAt(q) == '\t')) q--;
        if (q >= 0 && (s.charAt(q) == '"' || s.charAt(q) == '\'')) q--;
        if (q >= 0 && s.charAt(q) == '\\') q--;                          // a JSON-escaped quote: \"password\":
        int idEnd = q + 1;
        while (q >= 0 && idEnd - q <= 64 && identifierChar(s.charAt(q))) q--;
        int idStart = q + 1;
        if (idEnd - idStart < 3 || !credentialName(s, idStart, idEnd)) return i + 1;

        int v = i + 1;
        if (v < n && (s.charAt(v) == '=' || s.charAt(v) == '>')) v++;    // := and =>
        while (v < n && (s.charAt(v) == ' ' || s.charAt(v) == '\t')) v++;
        boolean escapedQuote = v + 1 < n && s.charAt(v) == '\\' && s.charAt(v + 1) == '"';
        if (escapedQuote) v++;
        char quote = v < n && (s.charAt(v) == '"' || s.charAt(v) == '\'' || s.charAt(v) == '`') ? s.charAt(v) : 0;
        if (quote != 0) v++;
        int vs = v, ve;
        if (quote != 0) {
            ve = vs;
            while (ve < n && ve - vs <= MAX_VALUE && s.charAt(ve) != quote && s.charAt(ve) != '\n') ve++;
            if (ve >= n || s.charAt(ve) != quote) return i + 1;
            if (escapedQuote && s.charAt(ve - 1) == '\\') ve--;
        } else {
            ve = valueEnd(s, vs);
            if (ve < n && s.charAt(ve) == '(') return i + 1;             // a function call: password = getpass()
            String word = s.substring(vs, ve);
            if ((word.equalsIgnoreCase("bearer") || word.equalsIgnoreCase("basic") || word.equalsIgnoreCase("token"))
                    && ve + 1 < n && s.charAt(ve) == ' ') {
                vs = ve + 1;
                ve = valueEnd(s, vs);
            } else if (dottedName(s, vs, ve)) {
                return i + 1;                                            // password = settings.DB_PASSWORD
            }
        }
        int len = ve - vs;
        if (len < MIN_VALUE || len > MAX_VALUE || standIn(s, vs, ve)) return i + 1;
        double h = Text.entropy(s, vs, ve);
        double needed = Math.min(3.0, 0.8 * (Math.log(len) / Math.log(2)));
        if (h < needed) return i + 1;
        out.add(new Finding(TYPE, Finding.SECRET, vs, ve, Math.min(0.9, 0.6 + (h - needed) * 0.25)));
        return vs;      // the value may also have a known format (sk-..., a JWT): let its detector name it
    }

    private static String lastChars() {
        StringBuilder b = new StringBuilder();
        for (String w : NAMES) if (b.indexOf(w.substring(w.length() - 1)) < 0) b.append(w.charAt(w.length() - 1));
        return b.toString();
    }

    private static int valueEnd(String s, int from) {
        int ve = from;
        while (ve < s.length() && ve - from <= MAX_VALUE) {
            char c = s.charAt(ve);
            if (c <= ' ' || c == '"' || c == '\'' || c == '`' || c == ',' || c == ';' || c == ')' || c == '(' || c == ']'
                    || c == '}' || c == '<' || c == '>' || (c == '\\' && ve + 1 < s.length() && s.charAt(ve + 1) == 'n')) break;
            ve++;
        }
        while (ve > from && s.charAt(ve - 1) == '.') ve--;               // the end of a sentence
        return ve;
    }

    private static boolean identifierChar(char c) {
        return Text.asciiAlnum(c) || c == '_' || c == '-' || c == '.' || (c >= 128 && Character.isLetter(c));
    }

    /** Whether a name (a JSON key, say) says its value is a credential, as {@code "apiKey"} and {@code DB_PASSWORD} do. */
    static boolean credentialName(String name) {
        return name.length() >= 3 && name.length() <= 64 && credentialName(name, 0, name.length());
    }

    private static boolean credentialName(String s, int from, int to) {
        // Most names before a ':' or '=' end in a letter no credential name ends in: one test turns them away.
        int p = to - 1;
        while (p >= from && (s.charAt(p) == '_' || s.charAt(p) == '-' || s.charAt(p) == '.')) p--;
        if (p < from) return false;
        char c = s.charAt(p);
        if (LAST_CHARS.indexOf(c) < 0 && LAST_CHARS.indexOf(Character.toLowerCase(c)) < 0) return false;
        for (String w : NAMES) if (endsWith(s, from, to, w)) return true;
        return false;
    }

    /** Whether the name {@code s[from, to)} ends with {@code word}, ignoring case and '_', '-', '.' (DB_PASS_WORD). */
    private static boolean endsWith(String s, int from, int to, String word) {
        int p = to - 1;
        for (int k = word.length() - 1; k >= 0; k--) {
            while (p >= from && (s.charAt(p) == '_' || s.charAt(p) == '-' || s.charAt(p) == '.')) p--;
            if (p < from) return false;
            char c = s.charAt(p);
            if (c != word.charAt(k) && Character.toLowerCase(c) != word.charAt(k)) return false;
            p--;
        }
        return true;
    }

    /** {@code settings.DB_PASSWORD}, {@code config.secret}: a reference to where the value is. */
    private static boolean dottedName(String s, int from, int to) {
        boolean dot = false;
        for (int p = from; p < to; p++) {
            char c = s.charAt(p);
            if (c == '.') {
                if (p == from || s.charAt(p - 1) == '.') return false;
                dot = true;
            } else if (!(Text.asciiAlnum(c) || c == '_')) {
                return false;
            } else if (Text.digit(c) && (p == from || s.charAt(p - 1) == '.')) {
                return false;
            }
        }
        return dot;
    }

    private static boolean standIn(String s, int from, int to) {
        String v = s.substring(from, to).toLowerCase(Locale.ROOT);
        for (String w : STAND_INS) if (v.contains(w)) return true;
        if (v.equals("null") || v.equals("none") || v.equals("true") || v.equals("false") || v.equals("undefined")) return true;
        char first = v.charAt(0);
        if (first == '$' || first == '%') return true;
        for (int p = 1; p < v.length(); p++) if (v.charAt(p) != first) return false;
        return true;                                                     // one char repeated
    }
}
