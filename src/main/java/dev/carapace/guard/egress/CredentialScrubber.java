package dev.carapace.guard.egress;

import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Masks the credentials the proxy injected into a request wherever the response carries them back: an allowed server
 * that echoes request headers (httpbin's {@code /anything}, a debug endpoint, an error page quoting the request)
 * would otherwise hand the token to the agent. Every occurrence is replaced by {@code *} of the same length, so a
 * {@code Content-Length} stays true and no re-framing is needed.
 *
 * <p>Besides each value itself it catches the forms an echo commonly takes: URL-encoded ({@code +} or {@code %20}
 * for a space, either case of hex), JSON-escaped, hex, Base64 (standard and URL-safe, without padding, so a padded copy
 * is caught too, and at every alignment inside a larger Base64 text), and for an injected {@code Basic} header the decoded {@code user:password} and the password alone.
 * It cannot catch a value the server transforms in other ways (hashed, cut, re-encoded inside a larger Base64 blob);
 * what the proxy does not terminate (a CONNECT tunnel) it cannot see at all, which is why credentials are never
 * injected into tunnels.
 *
 * <p>A body is scrubbed as it streams: the bytes at the end of what has arrived that could be the start of a value
 * are held back until the next read shows whether they are, so a value split across two reads or two chunks is
 * still caught, and everything else passes on at once. Names of the credentials found (never their values) are
 * counted for the audit record.
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

    private final byte[][] patterns;
    private final String[] owners;
    private final int[][] byFirstByte;
    private final int longest;
    private final Map<String, Long> hits = new LinkedHashMap<>();

    private CredentialScrubber(List<byte[]> patterns, List<String> owners) {
        this.patterns = patterns.toArray(byte[][]::new);
        this.owners = owners.toArray(String[]::new);
        List<List<Integer>> first = new ArrayList<>(256);
        for (int i = 0; i < 256; i++) first.add(new ArrayList<>());
        int max = 0;
        for (int i = 0; i < this.patterns.length; i++) {
            first.get(this.patterns[i][0] & 0xff).add(i);
            max = Math.max(max, this.patterns[i].length);
        }
        this.byFirstByte = first.stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
        this.longest = max;
    }

    static CredentialScrubber of(List<Injected> injected) {
        List<byte[]> patterns = new ArrayList<>();
        List<String> owners = new ArrayList<>();
        for (Injected i : injected) {
            for (String form : forms(i)) {
                byte[] bytes = form.getBytes(StandardCharsets.UTF_8);
                if (bytes.length == 0 || patterns.stream().anyMatch(p -> Arrays.equals(p, bytes))) continue;
                patterns.add(bytes);
                owners.add(i.secret());
            }
        }
        return new CredentialScrubber(patterns, owners);
    }

    /** The spellings of one credential to look for. */
    static Set<String> forms(Injected i) {
        Set<String> values = new LinkedHashSet<>();
        values.add(i.value());
        if (i.headerValue().regionMatches(true, 0, "Basic ", 0, 6)) {
            String decoded = base64Text(i.value());
            if (decoded != null) {
                values.add(decoded);
                int colon = decoded.indexOf(':');
                if (colon >= 0 && decoded.length() - colon - 1 >= 4) values.add(decoded.substring(colon + 1));
            }
        }
        Set<String> forms = new LinkedHashSet<>();
        for (String v : values) {
            forms.add(v);
            String url = URLEncoder.encode(v, StandardCharsets.UTF_8);
            forms.add(url);
            forms.add(url.replace("+", "%20"));
            forms.add(lowerHex(url));
            forms.add(lowerHex(url.replace("+", "%20")));
            forms.add(v.replace("\\", "\\\\").replace("\"", "\\\"").replace("/", "\\/"));
            forms.add(v.replace("\\", "\\\\").replace("\"", "\\\""));
            byte[] utf8 = v.getBytes(StandardCharsets.UTF_8);
            forms.add(Base64.getEncoder().withoutPadding().encodeToString(utf8));
            forms.add(Base64.getUrlEncoder().withoutPadding().encodeToString(utf8));
            forms.add(HexFormat.of().formatHex(utf8));
            forms.add(HexFormat.of().withUpperCase().formatHex(utf8));
            if (utf8.length >= 12) {
                for (int offset = 1; offset <= 2; offset++) {
                    forms.add(embeddedBase64(utf8, offset, Base64.getEncoder()));
                    forms.add(embeddedBase64(utf8, offset, Base64.getUrlEncoder()));
                }
            }
        }
        return forms;
    }

    /**
     * The characters of a Base64 text that depend only on {@code value}, when the value starts {@code offset} bytes
     * (1 or 2) past a 3-byte boundary of a larger encoded text, e.g. a server that Base64-encodes the whole request
     * it echoes. (At offset 0 the plain encoding is a prefix of what appears.) The characters that mix in the bytes
     * before or after are left out.
     */
    private static String embeddedBase64(byte[] value, int offset, Base64.Encoder encoder) {
        byte[] shifted = new byte[offset + value.length];
        System.arraycopy(value, 0, shifted, offset, value.length);
        String encoded = encoder.withoutPadding().encodeToString(shifted);
        int skip = offset == 1 ? 2 : 3;   // characters holding bits of the bytes before the value
        int end = shifted.length % 3 == 0 ? encoded.length() : encoded.length() - 1;   // ... and of the bytes after
        return encoded.substring(skip, end);
    }

    private static String base64Text(String s) {
        try {
            byte[] raw = Base64.getDecoder().decode(s.strip());
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw)).toString();
            return text.length() >= 4 && text.chars().allMatch(c -> c >= 0x20 && c != 0x7f) ? text : null;
        } catch (IllegalArgumentException | CharacterCodingException e) {
            return null;
        }
    }

    private static String lowerHex(String urlEncoded) {
        StringBuilder b = new StringBuilder(urlEncoded);
        for (int i = 0; i + 2 < b.length(); i++) {
            if (b.charAt(i) == '%') {
                b.setCharAt(i + 1, Character.toLowerCase(b.charAt(i + 1)));
                b.setCharAt(i + 2, Character.toLowerCase(b.charAt(i + 2)));
            }
        }
        return b.toString();
    }

    boolean active() {
        return patterns.length > 0;
    }

    /** The names of the credentials found so far (in headers or bodies), with how often. */
    synchronized Map<String, Long> hits() {
        return Map.copyOf(hits);
    }

    private synchronized void hit(int pattern) {
        hits.merge(owners[pattern], 1L, Long::sum);
    }

    /** A header name or value, status reason or any other text read as ISO-8859-1 bytes, with every value masked. */
    String text(String s) {
        if (!active()) return s;
        byte[] bytes = s.getBytes(StandardCharsets.ISO_8859_1);
        int maskEnd = 0;
        boolean changed = false;
        for (int i = 0; i < bytes.length; i++) {
            for (int p : byFirstByte[bytes[i] & 0xff]) {
                if (matched(bytes, i, bytes.length, patterns[p]) == patterns[p].length) {
                    if (i >= maskEnd) hit(p);   // one count per masked stretch, however many forms overlap in it
                    maskEnd = Math.max(maskEnd, i + patterns[p].length);
                }
            }
            if (i < maskEnd) {
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

    private final class Scrubbing extends InputStream {
        private final InputStream in;
        private byte[] pending = new byte[READ + longest];
        private int size;
        private boolean[] masked = new boolean[READ + longest];   // pending[i] is part of a found value
        private int scanned;      // pending[0, scanned) was there at the last scan: matches ending in it are counted
        private byte[] ready = new byte[0];
        private int readyAt;
        private boolean eof;

        Scrubbing(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
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

        /**
         * Finds every whole value in what is pending; returns where the first byte that could still start one (with
         * more data) is, so that everything before it is decided.
         */
        private int scan() {
            int hold = size;
            for (int i = 0; i < size; i++) {
                for (int p : byFirstByte[pending[i] & 0xff]) {
                    int m = matched(pending, i, size, patterns[p]);
                    if (m == patterns[p].length) {
                        if (i + m > scanned && !masked[i]) hit(p);   // one count per masked stretch
                        Arrays.fill(masked, i, i + m, true);
                    } else if (i + m == size && !eof) {
                        hold = Math.min(hold, i);
                    }
                }
            }
            scanned = size;
            return hold;
        }

        /** Hands on pending[0, n), masked, and keeps the rest. */
        private void emit(int n) {
            ready = Arrays.copyOf(pending, n);
            for (int i = 0; i < n; i++) if (masked[i]) ready[i] = MASK;
            readyAt = 0;
            System.arraycopy(pending, n, pending, 0, size - n);
            System.arraycopy(masked, n, masked, 0, size - n);
            Arrays.fill(masked, size - n, size, false);
            size -= n;
            scanned = Math.max(0, scanned - n);
        }
    }
}
