package dev.carapace.guard.egress;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;


/**
 * A value looked for with each character in any of its per-character spellings: its UTF-8 bytes, and for each
 * byte that starts a character, the code point and its length (a character reference or a <code>&#92;u</code>
 * escape stands for a whole character), and the named references of ASCII punctuation.
 */
record Spelled(String owner, byte[] v, int[] cp, int[] cpLen, byte[][][] names) {

    /** The HTML named character references of ASCII punctuation, by character. */
    private static final Map<Character, List<String>> ENTITIES = Map.ofEntries(
            Map.entry('!', List.of("excl")), Map.entry('"', List.of("quot", "QUOT")), Map.entry('#', List.of("num")),
            Map.entry('$', List.of("dollar")), Map.entry('%', List.of("percnt")), Map.entry('&', List.of("amp", "AMP")),
            Map.entry('\'', List.of("apos")), Map.entry('(', List.of("lpar")), Map.entry(')', List.of("rpar")),
            Map.entry('*', List.of("ast", "midast")), Map.entry('+', List.of("plus")), Map.entry(',', List.of("comma")),
            Map.entry('.', List.of("period")), Map.entry('/', List.of("sol")), Map.entry(':', List.of("colon")),
            Map.entry(';', List.of("semi")), Map.entry('<', List.of("lt", "LT")), Map.entry('=', List.of("equals")),
            Map.entry('>', List.of("gt", "GT")), Map.entry('?', List.of("quest")), Map.entry('@', List.of("commat")),
            Map.entry('[', List.of("lsqb", "lbrack")), Map.entry('\\', List.of("bsol")),
            Map.entry(']', List.of("rsqb", "rbrack")), Map.entry('^', List.of("Hat")),
            Map.entry('_', List.of("lowbar", "UnderBar")), Map.entry('`', List.of("grave", "DiacriticalGrave")),
            Map.entry('{', List.of("lcub", "lbrace")), Map.entry('|', List.of("verbar", "vert", "VerticalLine")),
            Map.entry('}', List.of("rcub", "rbrace")));
    /** Each byte's value as a hex digit, or -1. */
    static final byte[] HEX = new byte[256];

    static {
        Arrays.fill(HEX, (byte) -1);
        for (int c = '0'; c <= '9'; c++) HEX[c] = (byte) (c - '0');
        for (int c = 'a'; c <= 'f'; c++) HEX[c] = (byte) (c - 'a' + 10);
        for (int c = 'A'; c <= 'F'; c++) HEX[c] = (byte) (c - 'A' + 10);
    }

    /**
     * ASCII letters compared regardless of case: a server that upper-cases what it echoes would otherwise hand the
     * agent the value up to case, a few bits of guessing per letter. A string equal to a credential but for case is
     * masked too, which costs nothing anyone needs.
     */
    static int lower(int c) {
        return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
    }

    static int upper(int c) {
        return c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c;
    }

    static Spelled of(String owner, String value) {
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        int[] cp = new int[v.length];
        int[] cpLen = new int[v.length];
        byte[][][] names = new byte[v.length][][];
        Arrays.fill(cp, -1);
        for (int j = 0, c = 0; c < value.length(); ) {
            int point = value.codePointAt(c);
            int len = new String(Character.toChars(point)).getBytes(StandardCharsets.UTF_8).length;
            cp[j] = point;
            cpLen[j] = len;
            List<String> named = point < 0x80 ? ENTITIES.getOrDefault((char) point, List.of()) : List.of();
            names[j] = named.stream().map(n -> n.getBytes(StandardCharsets.US_ASCII)).toArray(byte[][]::new);
            j += len;
            c += Character.charCount(point);
        }
        for (int j = 0; j < v.length; j++) if (names[j] == null) names[j] = new byte[0][];
        return new Spelled(owner, v, cp, cpLen, names);
    }

    /** The bytes an occurrence can start with: its first byte, or that of an escape. */
    boolean[] firstBytes() {
        boolean[] first = new boolean[256];
        first[lower(v[0] & 0xff)] = true;
        first[upper(v[0] & 0xff)] = true;
        for (char c : "%&\\=".toCharArray()) first[c] = true;
        if (v[0] == ' ') first['+'] = true;
        return first;
    }

    /**
     * Marks in {@code pairs} (indexed by first byte * 256 + second) every two bytes an occurrence can start with,
     * as {@code CredentialScrubber.Search#unit} reads them: a superset, to skip at once the places where none can start.
     */
    void markPairs(boolean[] pairs) {
        boolean[] after = new boolean[256];   // what can follow the first character when it is spelled raw
        if (v.length == 1) {
            Arrays.fill(after, true);
        } else {
            for (char c : "\0%&\\=".toCharArray()) after[c] = true;
            after[lower(v[1] & 0xff)] = true;
            after[upper(v[1] & 0xff)] = true;
            if (v[1] == ' ') after['+'] = true;
        }
        for (int b = 0; b < 256; b++) {
            if (!after[b]) continue;
            pairs[lower(v[0] & 0xff) << 8 | b] = true;
            pairs[upper(v[0] & 0xff) << 8 | b] = true;
            if (v[0] == ' ') pairs['+' << 8 | b] = true;
        }
        for (int b = 0; b < 256; b++) {
            boolean hex = HEX[b] >= 0;
            pairs['%' << 8 | b] |= hex || b == 0 || b == 'u' || b == 'U';
            pairs['=' << 8 | b] |= hex || b == 0;
            pairs['\\' << 8 | b] |= b == 0 || b == 'u' || b == 'U' || b == 'x' || (b >= '0' && b <= '7')
                    || b == (v[0] & 0xff);
        }
        pairs['&' << 8] = true;
        pairs['&' << 8 | '#'] = true;
        for (byte[] name : names[0]) pairs['&' << 8 | name[0]] = true;
    }
}
