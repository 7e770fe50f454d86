package dev.carapace.guard.egress;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.carapace.guard.egress.CredentialForms.forms;
import static dev.carapace.guard.egress.CredentialForms.values;
import static dev.carapace.guard.egress.Spelled.HEX;
import static dev.carapace.guard.egress.Spelled.lower;

/**
 * Masks the credentials the proxy injected into a request wherever the response carries them back: an allowed server
 * that echoes request headers (httpbin's {@code /anything}, a debug endpoint, an error page quoting the request)
 * would otherwise hand the token to the agent. Every occurrence is replaced by {@code *} of the same length in bytes,
 * so a {@code Content-Length} stays true and no re-framing is needed.
 *
 * <p>One file past 500 lines on purpose: most of it is {@link Search}, one matcher state machine whose spellings
 * read best side by side, and {@link Scrubbing}, whose hold-back is bounded by the same tables. What to look for is
 * in {@link CredentialForms}, a value's per-character spellings in {@link Spelled}.
 *
 * <p>Each value is looked for with every one of its characters in any of the per-character spellings an echo
 * commonly gives it, mixed freely within one occurrence: the character itself (an ASCII letter in either case, so
 * an upper-cased echo is caught); URL-encoded {@code %XX} (either case
 * of hex, {@code +} for a space, {@code %uXXXX}); quoted-printable {@code =XX} (and its soft line breaks); an HTML
 * character reference ({@code &#47;}, {@code &#x2F;} in any case, leading zeros, with or without the {@code ;}, or
 * the named ones for ASCII punctuation such as {@code &sol;} {@code &amp;} {@code &quot;} {@code &lt;}); and the
 * backslash escapes of JSON, JavaScript, Python, Java and C (<code>&#92;uXXXX</code> as Gson writes {@code =}
 * {@code +} {@code <} {@code >} {@code &} {@code '}, <code>&#92;u{..}</code>, {@code \UXXXXXXXX},
 * {@code \xNN}, octal {@code \NNN}, and a backslash before punctuation as in {@code \/} or {@code \"}). Up to
 * three NUL bytes may follow any byte, so the UTF-16 (LE or BE) and UTF-32 text of an ASCII value is caught as well;
 * those NUL bytes are left as they are, so the masked text stays valid UTF-16. One matcher reads these spellings as
 * it goes (see {@link Search}) rather than a list of precomputed forms. Whole-value encodings are precomputed: hex,
 * and Base64 (standard and URL-safe, without padding, so a padded copy is caught too, and at every alignment inside a
 * larger Base64 text). For an injected {@code Basic} header the decoded {@code user:password} and the password alone
 * are looked for too, in all of the above.
 *
 * <p>It cannot catch a value the server transforms rather than encodes: reversed, hashed, cut,
 * re-encoded inside a larger Base64 blob, spelled with more leading zeros in a character reference than
 * {@value #MAX_DIGITS} digits, or with non-ASCII characters in UTF-16. What the proxy does not terminate (a CONNECT
 * tunnel) it cannot see at all, which is why credentials are never injected into tunnels.
 *
 * <p>A body is scrubbed as it streams: the bytes at the end of what has arrived that could be the start of a value
 * in any of these spellings are held back until the next read shows whether they are (at most the longest spelling
 * of a value, {@value #MAX_UNIT} bytes a character), so a value split across two reads or two chunks is still
 * caught, and everything else passes on at once. Names of the credentials found (never their values) are counted
 * for the audit record.
 */
final class CredentialScrubber {

    /** One injected credential: the secret's name (safe to audit) and the header value put on the wire. */
    record Injected(String secret, String value, String header, String headerValue) {
        @Override
        public String toString() {
            return "Injected[" + secret + " into " + header + "]";
        }
    }

    private static final byte MASK = '*';
    private static final int READ = 16 * 1024;
    /** The most NUL bytes that may follow any byte of an occurrence: 1 for UTF-16 of ASCII, 3 for UTF-32. */
    private static final int MAX_NULS = 3;
    /** The most digits of a numeric character reference, leading zeros included. */
    static final int MAX_DIGITS = 10;
    /**
     * The most bytes one character of a value can take: a QP soft line break (3) before the longest spelling,
     * {@code &DiacriticalGrave;} (18), every byte followed by {@value #MAX_NULS} NUL bytes.
     */
    static final int MAX_UNIT = (3 + 18) * (1 + MAX_NULS);

    /** The named references a browser reads without their {@code ;}. */
    private static final Set<String> LEGACY = Set.of("amp", "AMP", "lt", "LT", "gt", "GT", "quot", "QUOT");

    private final byte[][] patterns;     // whole-value encodings (hex, Base64), matched byte for byte
    private final String[] owners;
    private final int[][] byFirstByte;
    private final Spelled[] spelled;     // values matched with each character in any per-character spelling
    private final int[][] spelledByFirstByte;
    private final boolean[] starts;      // a byte that can start any of the above
    private final boolean[] pairs;       // two bytes that can start any of the above (first * 256 + second)
    private final int longest;
    private final Map<String, Long> hits = new LinkedHashMap<>();

    private CredentialScrubber(List<byte[]> patterns, List<String> owners, List<Spelled> spelled) {
        this.patterns = patterns.toArray(byte[][]::new);
        this.owners = owners.toArray(String[]::new);
        this.spelled = spelled.toArray(Spelled[]::new);
        List<List<Integer>> first = new ArrayList<>(256);
        List<List<Integer>> spelledFirst = new ArrayList<>(256);
        for (int i = 0; i < 256; i++) {
            first.add(new ArrayList<>());
            spelledFirst.add(new ArrayList<>());
        }
        int max = 0;
        for (int i = 0; i < this.patterns.length; i++) {
            first.get(this.patterns[i][0] & 0xff).add(i);
            max = Math.max(max, this.patterns[i].length);
        }
        for (int i = 0; i < this.spelled.length; i++) {
            boolean[] f = this.spelled[i].firstBytes();
            for (int b = 0; b < 256; b++) if (f[b]) spelledFirst.get(b).add(i);
            max = Math.max(max, this.spelled[i].v().length * MAX_UNIT);
        }
        this.byFirstByte = first.stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray())
                .toArray(int[][]::new);
        this.spelledByFirstByte = spelledFirst.stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray())
                .toArray(int[][]::new);
        this.starts = new boolean[256];
        for (int b = 0; b < 256; b++) starts[b] = byFirstByte[b].length > 0 || spelledByFirstByte[b].length > 0;
        this.pairs = new boolean[256 * 256];
        for (byte[] p : this.patterns) {
            for (int b = 0; b < 256; b++) pairs[(p[0] & 0xff) << 8 | b] |= p.length == 1 || b == (p[1] & 0xff);
        }
        for (Spelled s : this.spelled) s.markPairs(pairs);
        this.longest = max;
    }

    static CredentialScrubber of(List<Injected> injected) {
        List<byte[]> patterns = new ArrayList<>();
        List<String> owners = new ArrayList<>();
        List<Spelled> spelled = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (Injected i : injected) {
            for (String v : values(i)) {
                if (!v.isEmpty() && seen.add(v)) spelled.add(Spelled.of(i.secret(), v));
            }
            for (String form : forms(i)) {
                byte[] bytes = form.getBytes(StandardCharsets.UTF_8);
                if (bytes.length == 0 || patterns.stream().anyMatch(p -> Arrays.equals(p, bytes))) continue;
                patterns.add(bytes);
                owners.add(i.secret());
            }
        }
        return new CredentialScrubber(patterns, owners, spelled);
    }

    boolean active() {
        return patterns.length > 0 || spelled.length > 0;
    }

    /** The names of the credentials found so far (in headers or bodies), with how often. */
    synchronized Map<String, Long> hits() {
        return Map.copyOf(hits);
    }

    private synchronized void hit(String owner) {
        hits.merge(owner, 1L, Long::sum);
    }

    /** A header name or value, status reason or any other text read as ISO-8859-1 bytes, with every value masked. */
    String text(String s) {
        if (!active()) return s;
        byte[] bytes = s.getBytes(StandardCharsets.ISO_8859_1);
        boolean[] masked = new boolean[bytes.length];
        new Search().scan(bytes, bytes.length, true, masked, 0);
        boolean changed = false;
        for (int i = 0; i < bytes.length; i++) {
            if (masked[i] && bytes[i] != 0) {
                bytes[i] = MASK;
                changed = true;
            }
        }
        return changed ? new String(bytes, StandardCharsets.ISO_8859_1) : s;
    }

    /** A decoded body with every value masked, streamed. */
    InputStream body(InputStream in) {
        return active() ? new Scrubbing(in) : in;
    }

    /** How many bytes of {@code p} match at {@code at} (stopping at {@code end}); p.length for a whole match. */
    private static int matched(byte[] b, int at, int end, byte[] p) {
        int n = 0;
        while (n < p.length && at + n < end && b[at + n] == p[n]) n++;
        return n;
    }

    /**
     * Finds the values in a buffer. For a {@link Spelled} value it reads, from each byte that can start one, the
     * spellings of one character after another, keeping for each character of the value the set of places in the
     * buffer where its spelling could start (usually one, and never more than the spellings of one character
     * allow), so the work for a start is bounded by the value's length and no spelling is tried twice at one place.
     * Scratch for one stream or one header, not shared between threads.
     */
    private final class Search {
        private static final int MORE = -2;   // the data ends before it is decided
        private static final int NONE = -1;   // no such byte (at the end of the data, or after too many NUL bytes)

        private byte[] b;
        private int end;
        private boolean eof;
        private boolean more;          // some spelling ran into the end of the data undecided
        private int val;               // what the last hex() decoded
        private int hold;              // scan(): the first place that is still undecided
        int lastEnd;                   // scan(): the furthest end of a value found, or -1
        private int top;               // the highest character index with a place to try
        private int[][] at = new int[1][];
        private int[] count = new int[1];

        /**
         * Finds every value in {@code buf[0, size)}, marking it in {@code masked} and counting those ending past
         * {@code scanned} whose start was not masked yet; returns where the first byte that could still start one
         * (with more data) is, so that everything before it is decided.
         */
        int scan(byte[] buf, int size, boolean eof, boolean[] masked, int scanned) {
            boolean[] pairs = CredentialScrubber.this.pairs;
            hold = size;
            lastEnd = -1;
            int last = size - 1;
            for (int i = 0; i < last; i++) {
                if (pairs[(buf[i] & 0xff) << 8 | (buf[i + 1] & 0xff)]) at(buf, i, size, eof, masked, scanned);
            }
            if (last >= 0 && starts[buf[last] & 0xff]) at(buf, last, size, eof, masked, scanned);
            return hold;
        }

        /** The values that start at {@code i}, if any. */
        private void at(byte[] buf, int i, int size, boolean eof, boolean[] masked, int scanned) {
            int first = buf[i] & 0xff;
            for (int p : byFirstByte[first]) {
                byte[] pattern = patterns[p];
                int m = matched(buf, i, size, pattern);
                if (m == pattern.length) {
                    if (i + m > scanned && !masked[i]) hit(owners[p]);   // one count per masked stretch
                    Arrays.fill(masked, i, i + m, true);
                    lastEnd = Math.max(lastEnd, i + m);
                } else if (i + m == size && !eof) {
                    hold = Math.min(hold, i);
                }
            }
            for (int k : spelledByFirstByte[first]) {
                int e = match(spelled[k], buf, i, size, eof);
                if (e > i) {
                    if (e > scanned && !masked[i]) hit(spelled[k].owner());
                    Arrays.fill(masked, i, e, true);
                    lastEnd = Math.max(lastEnd, e);
                }
                if (more) hold = Math.min(hold, i);
            }
        }

        /**
         * Where the longest occurrence of {@code s} starting at {@code start} ends (exclusive), or -1; sets
         * {@link #more} if one could still be found, or end later, with more data.
         */
        int match(Spelled s, byte[] buf, int start, int size, boolean eof) {
            this.b = buf;
            this.end = size;
            this.eof = eof;
            this.more = false;
            int n = s.v().length;
            if (at.length < n + 1) {
                at = Arrays.copyOf(at, n + 1);
                count = Arrays.copyOf(count, n + 1);
            }
            top = 0;
            add(0, start);
            for (int j = 0; j < n && j <= top; j++) {
                for (int k = 0; k < count[j]; k++) {
                    int p = at[j][k];
                    if (j == 0) {
                        unit(s, j, p);
                    } else {
                        next(s, j, p);
                    }
                }
                count[j] = 0;
            }
            int best = -1;
            for (int k = 0; k < count[n]; k++) best = Math.max(best, at[n][k]);
            count[n] = 0;
            return best;
        }

        /** A place where the spelling of character {@code level} can start. */
        private void add(int level, int pos) {
            int[] a = at[level];
            int c = count[level];
            if (a == null) at[level] = a = new int[4];
            for (int k = 0; k < c; k++) if (a[k] == pos) return;
            if (c == a.length) at[level] = a = Arrays.copyOf(a, 2 * c);
            a[c] = pos;
            count[level] = c + 1;
            top = Math.max(top, level);
        }

        /** The index of the first byte from {@code p} on that is not NUL (skipping at most MAX_NULS), or NONE, MORE. */
        private int nx(int p) {
            for (int k = 0; k <= MAX_NULS; k++, p++) {
                if (p >= end) return eof ? NONE : MORE;
                if (b[p] != 0) return p;
            }
            return NONE;
        }

        /** Whether {@code q} is a byte (true), else notes MORE. */
        private boolean ok(int q) {
            if (q == MORE) more = true;
            return q >= 0;
        }

        /** Character {@code j} of the value after the one ending at {@code p}: past NUL bytes and a QP soft break. */
        private void next(Spelled s, int j, int p) {
            p = nx(p);
            if (!ok(p)) return;
            unit(s, j, p);
            if (b[p] == '=') {   // "=" CRLF or "=" LF: a quoted-printable soft line break
                int q = nx(p + 1);
                if (q >= 0 && b[q] == '\r') q = nx(q + 1);
                if (!ok(q) || b[q] != '\n') return;
                q = nx(q + 1);
                if (ok(q)) unit(s, j, q);
            }
        }

        /** The spellings of character {@code j} of the value at {@code p} (a byte that is not NUL). */
        private void unit(Spelled s, int j, int p) {
            byte c = b[p];
            byte want = s.v()[j];
            if (lower(c & 0xff) == lower(want & 0xff)) add(j + 1, p + 1);
            switch (c) {
                case '+' -> {
                    if (want == ' ') add(j + 1, p + 1);
                }
                case '%' -> {
                    int q = nx(p + 1);
                    if (!ok(q)) return;
                    if (b[q] == 'u' || b[q] == 'U') {
                        if ((q = hex(q + 1, 4)) >= 0) asChar(s, j, q);
                    } else if ((q = hex(q, 2)) >= 0) {
                        asByte(s, j, q);
                    }
                }
                case '=' -> {
                    int q = hex(p + 1, 2);
                    if (q >= 0) asByte(s, j, q);
                }
                case '&' -> reference(s, j, p);
                case '\\' -> backslash(s, j, p);
                default -> { }
            }
        }

        /** Exactly {@code digits} hex digits from {@code q} on: where they end (with their value in val), or -1. */
        private int hex(int q, int digits) {
            int v = 0;
            for (int d = 0; d < digits; d++) {
                q = nx(q);
                if (!ok(q) || HEX[b[q] & 0xff] < 0) return -1;
                v = v * 16 + HEX[b[q] & 0xff];
                q++;
            }
            val = v;
            return q;
        }

        /** One to {@code max} digits in {@code radix} from {@code q} on, as many as there are: as hex(). */
        private int digits(int q, int radix, int max) {
            int v = 0;
            int n = 0;
            int after = -1;
            while (true) {
                int t = nx(q);
                if (t == MORE) {
                    more = true;
                    return -1;
                }
                int d = t < 0 ? -1 : HEX[b[t] & 0xff];
                if (d < 0 || d >= radix) break;
                if (++n > max) return -1;
                v = Math.min(v * radix + d, 0x110000);
                q = t + 1;
                after = q;
            }
            val = v;
            return after;
        }

        private void asByte(Spelled s, int j, int e) {
            if (lower(val) == lower(s.v()[j] & 0xff)) add(j + 1, e);
        }

        private void asChar(Spelled s, int j, int e) {
            if (lower(val) == lower(s.cp()[j])) add(j + s.cpLen()[j], e);
        }

        /** {@code &#NN;}, {@code &#xNN;} or a named reference, the {@code ;} optional where a browser allows it. */
        private void reference(Spelled s, int j, int p) {
            int q = nx(p + 1);
            if (!ok(q)) return;
            if (b[q] == '#') {
                int r = nx(q + 1);
                if (!ok(r)) return;
                boolean hex = b[r] == 'x' || b[r] == 'X';
                int e = digits(hex ? r + 1 : q + 1, hex ? 16 : 10, MAX_DIGITS);
                if (e < 0 || lower(val) != lower(s.cp()[j])) return;
                int semi = nx(e);
                if (!ok(semi) && semi == MORE) return;
                asChar(s, j, semi >= 0 && b[semi] == ';' ? semi + 1 : e);
                return;
            }
            for (byte[] name : s.names()[j]) {
                int r = q;
                int k = 0;
                for (; k < name.length; k++) {
                    r = nx(r);
                    if (!ok(r) || b[r] != name[k]) break;
                    r++;
                }
                if (k < name.length) continue;
                int semi = nx(r);
                if (semi == MORE) {
                    more = true;
                } else if (semi >= 0 && b[semi] == ';') {
                    add(j + 1, semi + 1);
                } else if (LEGACY.contains(new String(name, StandardCharsets.US_ASCII))) {
                    add(j + 1, r);
                }
            }
        }

        /**
         * <code>&#92;uXXXX</code>, <code>&#92;u{X..}</code>, {@code \UXXXXXXXX}, {@code \xNN}, octal, or a backslash
         * before punctuation.
         */
        private void backslash(Spelled s, int j, int p) {
            int q = nx(p + 1);
            if (!ok(q)) return;
            byte c = b[q];
            if (c == 'u') {
                int r = nx(q + 1);
                if (!ok(r)) return;
                if (b[r] == '{') {
                    int e = digits(r + 1, 16, 6);
                    if (e < 0) return;
                    int close = nx(e);
                    if (ok(close) && b[close] == '}') asChar(s, j, close + 1);
                } else if ((r = hex(q + 1, 4)) >= 0) {
                    asChar(s, j, r);
                }
            } else if (c == 'U') {
                int r = hex(q + 1, 8);
                if (r >= 0) asChar(s, j, r);
            } else if (c == 'x') {
                int r = hex(q + 1, 2);
                if (r >= 0) {
                    asByte(s, j, r);
                    asChar(s, j, r);
                }
            } else if (c >= '0' && c <= '7') {
                int r = digits(q, 8, 3);
                if (r >= 0 && val <= 0xff) asByte(s, j, r);
            } else if (c == s.v()[j] && c > ' ' && c < 0x7f && !Character.isLetterOrDigit(c)) {
                add(j + 1, q + 1);
            }
        }
    }

    private final class Scrubbing extends BlockInputStream {
        private final InputStream in;
        private final Search search = new Search();
        private byte[] pending = new byte[READ + longest];
        private int size;
        private boolean[] masked = new boolean[READ + longest];   // pending[i] is part of a found value
        private int maskedTo;     // masked[i] is false from here on
        private int scanned;      // pending[0, scanned) was there at the last scan: matches ending in it are counted
        private byte[] ready = new byte[0];
        private int readyAt;
        private boolean eof;

        Scrubbing(InputStream in) {
            this.in = in;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) return 0;
            while (readyAt == ready.length) {
                if (eof) return -1;
                if (pending.length - size < READ) {
                    pending = Arrays.copyOf(pending, size + READ);
                    masked = Arrays.copyOf(masked, size + READ);
                }
                int n = in.read(pending, size, READ);
                if (n < 0) {
                    eof = true;
                    scan();
                    emit(size);
                } else {
                    size += n;
                    emit(scan());
                }
            }
            int n = Math.min(len, ready.length - readyAt);
            System.arraycopy(ready, readyAt, b, off, n);
            readyAt += n;
            return n;
        }

        @Override
        public int available() {
            return ready.length - readyAt;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }

        /** Finds every value in what is pending; returns how much of it is decided. */
        private int scan() {
            int hold = search.scan(pending, size, eof, masked, scanned);
            maskedTo = Math.max(maskedTo, search.lastEnd);
            scanned = size;
            return hold;
        }

        /** Hands on pending[0, n), masked (NUL bytes inside a value kept, for UTF-16), and keeps the rest. */
        private void emit(int n) {
            ready = Arrays.copyOf(pending, n);
            for (int i = 0; i < Math.min(n, maskedTo); i++) if (masked[i] && ready[i] != 0) ready[i] = MASK;
            readyAt = 0;
            System.arraycopy(pending, n, pending, 0, size - n);
            System.arraycopy(masked, n, masked, 0, size - n);
            Arrays.fill(masked, size - n, size, false);
            size -= n;
            scanned = Math.max(0, scanned - n);
            maskedTo = Math.max(0, maskedTo - n);
        }
    }
}