package dev.carapace.store;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parsing and redaction of the JDBC URLs the store accepts. */
final class JdbcUrls {

    static final String SQLITE = "jdbc:sqlite:";
    static final String POSTGRES = "jdbc:postgresql:";

    /** {@code //user:password@host} */
    private static final Pattern USER_INFO = Pattern.compile("//[^/?#@]*@");
    /** {@code ?password=x}, {@code &user=x}, {@code ;pwd=x} ... ; the key is kept, the value masked */
    private static final Pattern SECRET_PARAM = Pattern.compile(
            "([?&;](?:[^=&;#]*(?:user|password|passwd|pwd|secret|token|credential)[^=&;#]*)=)[^&;#]*",
            Pattern.CASE_INSENSITIVE);

    private JdbcUrls() {}

    static boolean isSqlite(String url) { return url.regionMatches(true, 0, SQLITE, 0, SQLITE.length()); }

    static boolean isPostgres(String url) { return url.regionMatches(true, 0, POSTGRES, 0, POSTGRES.length()); }

    /** The URL with any user name, password or token removed; safe for messages and logs. */
    static String redact(String url) {
        if (url == null) return "null";
        String r = USER_INFO.matcher(url).replaceAll("//***@");
        return SECRET_PARAM.matcher(r).replaceAll(m -> Matcher.quoteReplacement(m.group(1)) + "***");
    }

    /**
     * True for SQLite URLs that name no file: {@code jdbc:sqlite:}, {@code jdbc:sqlite::memory:},
     * {@code jdbc:sqlite:file::memory:?cache=shared}, {@code jdbc:sqlite:file:x?mode=memory}.
     */
    static boolean isSqliteMemory(String url) {
        String rest = url.substring(SQLITE.length());
        String lower = rest.toLowerCase(Locale.ROOT);
        return rest.isEmpty() || lower.startsWith(":memory:") || lower.startsWith("file::memory:")
                || lower.matches(".*[?&]mode=memory(&.*)?");
    }

    /** The database file a SQLite URL names, or empty for in-memory and resource databases. */
    static Optional<Path> sqliteFile(String url) {
        if (!isSqlite(url) || isSqliteMemory(url)) return Optional.empty();
        String rest = url.substring(SQLITE.length());
        if (rest.startsWith(":resource:")) return Optional.empty();
        int q = rest.indexOf('?');
        if (q >= 0) rest = rest.substring(0, q);
        if (rest.regionMatches(true, 0, "file:", 0, 5)) {
            rest = rest.substring(5);
            if (rest.startsWith("///")) rest = rest.substring(2);   // file:///abs/path -> /abs/path
        }
        if (rest.isEmpty()) return Optional.empty();
        return Optional.of(Path.of(rest).toAbsolutePath().normalize());
    }
}
