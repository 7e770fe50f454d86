package dev.carapace.text;

/**
 * Strict UTF-8 (RFC 3629): what a client's JSON must be (RFC 8259 8.1). Jackson decodes some invalid forms as if
 * they were characters (an overlong {@code C0 AF} as '/', an encoded surrogate) and reads UTF-16 and UTF-32 by
 * their zero bytes; Carapace would then screen one text while the upstream got bytes it reads differently, or not
 * at all.
 */
public final class Utf8 {

    private Utf8() {}

    /**
     * The offset of the first byte that does not begin a valid UTF-8 character (overlong, a surrogate, past U+10FFFF,
     * a stray or missing continuation byte) or is zero, which no JSON text in UTF-8 contains; -1 if there is none.
     */
    public static int firstInvalidOrZero(byte[] b) {
        int i = 0, n = b.length;
        while (i < n) {
            int c = b[i];
            if (c > 0) {   // ASCII, nearly every byte of a request
                i++;
                continue;
            }
            if (c == 0) return i;
            c &= 0xff;
            int len, min2 = 0x80, max2 = 0xbf;
            if (c >= 0xc2 && c <= 0xdf) {
                len = 2;
            } else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                if (c == 0xe0) min2 = 0xa0;        // overlong
                else if (c == 0xed) max2 = 0x9f;   // U+D800..U+DFFF, surrogates
            } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                if (c == 0xf0) min2 = 0x90;        // overlong
                else if (c == 0xf4) max2 = 0x8f;   // past U+10FFFF
            } else {
                return i;                          // a continuation byte, C0/C1 (overlong), F5..FF
            }
            if (i + len > n) return i;
            int second = b[i + 1] & 0xff;
            if (second < min2 || second > max2) return i;
            for (int k = 2; k < len; k++) {
                if ((b[i + k] & 0xc0) != 0x80) return i;
            }
            i += len;
        }
        return -1;
    }
}
