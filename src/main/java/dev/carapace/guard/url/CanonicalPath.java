package dev.carapace.guard.url;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The one spelling of a request path that network rules are matched against and that the egress proxy sends
 * upstream, so a server never sees another path than the one the policy judged. It is the path as common servers
 * (Tomcat, Jetty, Spring, nginx, IIS) would read it, or a refusal where they disagree:
 *
 * <ul>
 *   <li>every segment is percent-decoded once and re-encoded one way: unreserved characters, sub-delimiters,
 *       {@code :} and {@code @} literal, everything else as {@code %XX} in upper-case hex ({@code %7e} and {@code ~},
 *       {@code %21} and {@code !}, {@code %c3%bc} and a raw {@code ü} are each one spelling);</li>
 *   <li>empty segments ({@code //}) are dropped and dot segments ({@code .}, {@code ..}, also as {@code %2e}) are
 *       resolved;</li>
 *   <li>refused: {@code ..} above the root (servers clamp or reject it differently); an encoded slash or backslash
 *       and a raw backslash (some servers split on them, some do not); NUL and other control characters; bad or
 *       incomplete escapes; a decoded {@code %} that starts another escape ({@code %252e}: double encoding, which a
 *       second decode turns into {@code .}); bytes that are not shortest-form UTF-8 (overlong {@code %c0%ae} is a
 *       dot to some decoders); text a server's Unicode normalisation would change (full-width {@code ．}, ligatures);
 *       segments of three or more dots;</li>
 *   <li>refused: {@code ;} in any segment, raw or as {@code %3B}. Tomcat, Jetty and Spring drop
 *       {@code ;parameters} from each segment before routing, so {@code /secret;a/x} is served as {@code /secret/x}
 *       and {@code /public/..;/secret} as {@code /secret}; other servers keep them. Matching on the stripped form
 *       while the raw one travels would let a literal server and a stripping one see different paths, and stripping
 *       them before sending changes what {@code web_fetch}'s direct mode sends; refusing is the one choice no server
 *       can read around. Matrix parameters and {@code ;jsessionid} are rare enough to give up.</li>
 * </ul>
 *
 * Windows servers also drop trailing dots and spaces from a segment ({@code /secret./x} is {@code /secret/x}); such
 * names are legitimate elsewhere ({@code /wiki/Washington,_D.C.}), so they are kept here and {@link #lenientAlias}
 * gives the form deny rules must also be checked against. The query is not part of the path: callers split it off at
 * the first {@code ?} and refuse a {@code #} in what is sent.
 */
public final class CanonicalPath {

    private static final String LITERAL = "-._~!$&'()*+,=:@";

    private CanonicalPath() {}

    /**
     * @param raw the path part of a request target (no query, no fragment), starting with {@code /}
     * @return the canonical path, starting with {@code /}; canonicalising it again gives it back unchanged
     * @throws IllegalArgumentException naming what is refused
     */
    public static String of(String raw) {
        if (raw == null || raw.isEmpty() || raw.charAt(0) != '/') {
            throw new IllegalArgumentException("the path must start with '/'");
        }
        Deque<String> segments = new ArrayDeque<>();
        boolean trailingSlash = false;
        int i = 1;
        while (i <= raw.length()) {
            int end = raw.indexOf('/', i);
            if (end < 0) end = raw.length();
            String segment = segment(raw, i, end);
            trailingSlash = end == raw.length() ? segment.isEmpty() || isDots(segment) : trailingSlash;
            switch (segment) {
                case "", "." -> { }
                case ".." -> {
                    if (segments.isEmpty()) throw new IllegalArgumentException("the path climbs above the root ('..')");
                    segments.removeLast();
                }
                default -> segments.addLast(segment);
            }
            i = end + 1;
        }
        StringBuilder out = new StringBuilder(raw.length());
        for (String s : segments) out.append('/').append(s);
        if (out.isEmpty() || trailingSlash) out.append('/');
        return out.toString();
    }

    /**
     * The path a server that drops trailing dots and spaces from segments (Windows, IIS) would serve for canonical
     * {@code path}, or {@code path} itself. A deny rule that matches either form denies.
     */
    public static String lenientAlias(String path) {
        StringBuilder out = new StringBuilder(path.length());
        int i = 1;
        while (i <= path.length()) {
            int end = path.indexOf('/', i);
            if (end < 0) end = path.length();
            int cut = end;
            while (true) {
                if (cut > i && path.charAt(cut - 1) == '.') cut--;
                else if (cut - 3 >= i && path.startsWith("%20", cut - 3)) cut -= 3;
                else break;
            }
            if (cut > i) out.append('/').append(path, i, cut);
            else if (i == path.length()) out.append('/');
            i = end + 1;
        }
        return out.isEmpty() ? "/" : out.toString();
    }

    private static boolean isDots(String s) {
        return s.equals(".") || s.equals("..");
    }

    /** One segment, decoded, checked and re-encoded. */
    private static String segment(String raw, int from, int to) {
        byte[] bytes = new byte[(to - from) * 4];
        int n = 0;
        for (int i = from; i < to; i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= to) {
                    throw new IllegalArgumentException("the path has an incomplete percent escape");
                }
                int hi = Character.digit(raw.charAt(i + 1), 16);
                int lo = Character.digit(raw.charAt(i + 2), 16);
                if (hi < 0 || lo < 0 || raw.charAt(i + 1) > 0x7f || raw.charAt(i + 2) > 0x7f) {
                    throw new IllegalArgumentException("the path has an invalid percent escape");
                }
                bytes[n++] = (byte) (hi * 16 + lo);
                i += 2;
            } else if (c == '\\') {
                throw new IllegalArgumentException("the path has a backslash");
            } else if (c <= 0x20 || c == 0x7f) {
                throw new IllegalArgumentException("the path has a space or control character (encode a space as %20)");
            } else if (c < 0x80) {
                bytes[n++] = (byte) c;
            } else {
                // raw non-ASCII (an IRI): the same bytes as its UTF-8 percent-encoding
                int end = i + (Character.isHighSurrogate(c) && i + 1 < to ? 2 : 1);
                byte[] utf8 = raw.substring(i, end).getBytes(StandardCharsets.UTF_8);
                if (Character.isSurrogate(c) && end - i == 1) {
                    throw new IllegalArgumentException("the path has a broken UTF-16 surrogate");
                }
                System.arraycopy(utf8, 0, bytes, n, utf8.length);
                n += utf8.length;
                i = end - 1;
            }
        }
        return encode(check(bytes, n));
    }

    /** The segment's text, if its bytes mean the same to every server. */
    private static String check(byte[] bytes, int n) {
        boolean ascii = true;
        for (int i = 0; i < n; i++) {
            int b = bytes[i] & 0xff;
            if (b == '/' || b == '\\') {
                throw new IllegalArgumentException("the path has an encoded slash or backslash (%2F, %5C)");
            }
            if (b < 0x20 || b == 0x7f) throw new IllegalArgumentException("the path has an encoded control character "
                    + "(%00-%1F, %7F)");
            if (b == ';') {
                throw new IllegalArgumentException("the path has a ';' (path parameters, which some servers drop and "
                        + "others keep)");
            }
            if (b == '%' && i + 2 < n && Character.digit(bytes[i + 1], 16) >= 0 && Character.digit(bytes[i + 2], 16) >= 0) {
                throw new IllegalArgumentException("the path is percent-encoded twice (%25 followed by hex digits)");
            }
            if (b >= 0x80) ascii = false;
        }
        String text;
        if (ascii) {
            text = new String(bytes, 0, n, StandardCharsets.US_ASCII);
        } else {
            try {
                text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes, 0, n)).toString();
            } catch (CharacterCodingException e) {
                throw new IllegalArgumentException("the path has bytes that are not valid UTF-8 (e.g. overlong %C0%AE)");
            }
            if (!Normalizer.normalize(text, Normalizer.Form.NFKC).equals(text)) {
                throw new IllegalArgumentException("the path has Unicode text that normalisation would change (e.g. "
                        + "full-width letters or dots); write it in its normal (NFKC) form");
            }
        }
        if (text.length() >= 3 && text.chars().allMatch(c -> c == '.')) {
            throw new IllegalArgumentException("the path has a segment of only dots ('" + text + "')");
        }
        return text;
    }

    private static String encode(String text) {
        StringBuilder b = new StringBuilder(text.length());
        for (byte x : text.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            if (c < 0x80 && (Character.isLetterOrDigit(c) || LITERAL.indexOf(c) >= 0)) {
                b.append((char) c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return b.toString();
    }
}
