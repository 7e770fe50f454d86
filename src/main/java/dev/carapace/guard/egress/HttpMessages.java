package dev.carapace.guard.egress;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * HTTP/1.x message heads and bodies, read strictly. Whatever two parsers could read differently is refused rather
 * than guessed at: bare LF line ends, obsolete line folding, whitespace before a colon, more than one
 * Content-Length, Content-Length together with Transfer-Encoding, a Transfer-Encoding other than exactly
 * {@code chunked}, malformed chunk sizes. That leaves no room for request smuggling between the proxy and a server.
 */
final class HttpMessages {

    static final int MAX_LINE = 8192;
    static final int MAX_HEAD = 64 * 1024;
    static final int MAX_HEADERS = 100;

    /** Headers about one hop's connection, never passed on (RFC 9110 7.6.1, plus the proxy's own). */
    static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "proxy-authorization",
            "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade", "content-length", "expect", "host");

    private HttpMessages() {}

    record Header(String name, String value) {
        boolean is(String lowerName) {
            return name.equalsIgnoreCase(lowerName);
        }
    }

    /** How a body is delimited. */
    sealed interface Framing {
        record None() implements Framing {}

        record Fixed(long length) implements Framing {}

        record Chunked() implements Framing {}

        /** Response only: the body ends when the server closes the connection. */
        record UntilClose() implements Framing {}
    }

    record Request(String method, String target, String version, List<Header> headers, Framing framing) {
        boolean http11() {
            return version.equals("HTTP/1.1");
        }

        String header(String lowerName) {
            return HttpMessages.header(headers, lowerName);
        }

        /** Whether the client wants the connection kept for another request. */
        boolean keepAlive() {
            return http11() && !connectionTokens(headers).contains("close");
        }
    }

    record Response(String version, int status, String reason, List<Header> headers) {
        String header(String lowerName) {
            return HttpMessages.header(headers, lowerName);
        }
    }

    /** The next request head, or null if the client closed the connection before sending a byte. */
    static Request readRequest(InputStream in) throws IOException {
        Lines lines = new Lines(in);
        String start = lines.next(true);
        if (start == null) return null;
        String[] parts = start.split(" ", -1);
        if (parts.length != 3 || parts[0].isEmpty() || parts[1].isEmpty()) {
            throw new BadMessageException("the request line must be 'METHOD TARGET HTTP/1.1' with single spaces");
        }
        if (!parts[0].chars().allMatch(c -> c >= 'A' && c <= 'Z')) {
            throw new BadMessageException("the method must be upper-case letters, e.g. GET");
        }
        if (!parts[2].equals("HTTP/1.1") && !parts[2].equals("HTTP/1.0")) {
            throw new BadMessageException("only HTTP/1.1 and HTTP/1.0 are accepted, not '" + printable(parts[2]) + "'");
        }
        List<Header> headers = readHeaders(lines);
        Framing framing = framing(headers, parts[2].equals("HTTP/1.0"), true);
        return new Request(parts[0], parts[1], parts[2], headers, framing);
    }

    /** The next response head from a server; a body-less request (HEAD) or status (1xx, 204, 304) has none. */
    static Response readResponse(InputStream in) throws IOException {
        Lines lines = new Lines(in);
        String start = lines.next(false);
        if (start == null) throw new EOFException("the server closed the connection without answering");
        if (start.length() < 12 || !(start.startsWith("HTTP/1.1 ") || start.startsWith("HTTP/1.0 "))
                || !Character.isDigit(start.charAt(9)) || !Character.isDigit(start.charAt(10))
                || !Character.isDigit(start.charAt(11)) || (start.length() > 12 && start.charAt(12) != ' ')) {
            throw new BadMessageException("the server sent an invalid status line");
        }
        int status = Integer.parseInt(start.substring(9, 12));
        String reason = start.length() > 13 ? start.substring(13) : "";
        return new Response(start.substring(0, 8), status, reason, readHeaders(lines));
    }

    /** The framing of a response to {@code requestMethod}. */
    static Framing responseFraming(Response r, String requestMethod) throws BadMessageException {
        if (requestMethod.equals("HEAD") || r.status() / 100 == 1 || r.status() == 204 || r.status() == 304) {
            return new Framing.None();
        }
        return framing(r.headers(), false, false);
    }

    private static Framing framing(List<Header> headers, boolean http10, boolean request) throws BadMessageException {
        String length = null;
        String coding = null;
        for (Header h : headers) {
            if (h.is("content-length")) {
                if (length != null) throw new BadMessageException("more than one Content-Length header");
                length = h.value();
            } else if (h.is("transfer-encoding")) {
                if (coding != null) throw new BadMessageException("more than one Transfer-Encoding header");
                coding = h.value();
            }
        }
        if (length != null && coding != null) {
            throw new BadMessageException("both Content-Length and Transfer-Encoding: the body length is ambiguous");
        }
        if (coding != null) {
            if (http10) throw new BadMessageException("Transfer-Encoding is not allowed in HTTP/1.0");
            if (!coding.equalsIgnoreCase("chunked")) {
                throw new BadMessageException("only 'Transfer-Encoding: chunked' is accepted, not '"
                        + printable(coding) + "'");
            }
            return new Framing.Chunked();
        }
        if (length != null) {
            if (length.isEmpty() || length.length() > 18 || !length.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new BadMessageException("Content-Length must be a number, not '" + printable(length) + "'");
            }
            long n = Long.parseLong(length);
            return n == 0 ? new Framing.None() : new Framing.Fixed(n);
        }
        return request ? new Framing.None() : new Framing.UntilClose();
    }

    private static List<Header> readHeaders(Lines lines) throws IOException {
        List<Header> headers = new ArrayList<>();
        while (true) {
            String line = lines.next(false);
            if (line == null) throw new BadMessageException("the connection closed in the middle of the headers");
            if (line.isEmpty()) return headers;
            if (line.charAt(0) == ' ' || line.charAt(0) == '\t') {
                throw new BadMessageException("header lines must not be folded (a line starting with a space)");
            }
            int colon = line.indexOf(':');
            if (colon <= 0) throw new BadMessageException("a header line has no name before ':'");
            String name = line.substring(0, colon);
            String value = line.substring(colon + 1).strip();
            String problem = fieldProblem(name, value);
            if (problem != null) throw new BadMessageException(problem);
            if (headers.size() == MAX_HEADERS) throw new BadMessageException("more than " + MAX_HEADERS + " headers");
            headers.add(new Header(name, value));
        }
    }

    static String header(List<Header> headers, String lowerName) {
        for (Header h : headers) {
            if (h.is(lowerName)) return h.value();
        }
        return null;
    }

    /** The lower-case tokens of every Connection header. */
    static Set<String> connectionTokens(List<Header> headers) {
        Set<String> tokens = new java.util.HashSet<>();
        for (Header h : headers) {
            if (h.is("connection")) {
                for (String t : h.value().split(",")) tokens.add(t.strip().toLowerCase(Locale.ROOT));
            }
        }
        return tokens;
    }

    /**
     * What makes {@code name: value} unfit for a header line (a name that is not a token; a CR, LF or other control
     * character, or a character beyond ISO-8859-1, in the value), or null if it is fit. Says what was wrong without
     * repeating the value, which may be a credential.
     */
    static String fieldProblem(String name, String value) {
        if (!isToken(name)) {
            return "header name '" + printable(name) + "' has a space or a character not allowed in a name";
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                return "header '" + name + "' has a control character in its value (CR, LF, NUL...)";
            }
            if (c > 0xff) return "header '" + name + "' has a character beyond ISO-8859-1 in its value";
        }
        return null;
    }

    static boolean isToken(String s) {
        if (s.isEmpty()) return false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!ok) return false;
        }
        return true;
    }

    /** Text safe to echo in an error message: printable ASCII, at most 60 characters. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 60; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return s.length() > 60 ? b + "..." : b.toString();
    }

    static void writeAscii(OutputStream out, CharSequence text) throws IOException {
        out.write(text.toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Reads CRLF-terminated lines, refusing bare LF and bare CR, within the head size limits. */
    private static final class Lines {
        private final InputStream in;
        private int total;

        Lines(InputStream in) {
            this.in = in;
        }

        /** The next line without its CRLF; null at end of stream before any byte of it (if {@code eofOk}). */
        String next(boolean eofOk) throws IOException {
            StringBuilder b = new StringBuilder();
            while (true) {
                int c = in.read();
                if (c < 0) {
                    if (b.isEmpty() && eofOk) return null;
                    throw new BadMessageException("the connection closed in the middle of a line");
                }
                if (++total > MAX_HEAD) throw new BadMessageException("the head is larger than " + MAX_HEAD + " bytes");
                if (c == '\r') {
                    if (in.read() != '\n') throw new BadMessageException("a CR not followed by LF");
                    total++;
                    return b.toString();
                }
                if (c == '\n') throw new BadMessageException("a line ends in a bare LF (CRLF is required)");
                if (c == 0) throw new BadMessageException("a NUL byte in the head");
                if (b.length() == MAX_LINE) throw new BadMessageException("a line is longer than " + MAX_LINE + " bytes");
                b.append((char) c);
            }
        }
    }

    // ---- bodies ------------------------------------------------------------------------------------------------

    /** The body's bytes, decoded: a chunked body without its chunk framing, a fixed one cut at its length. */
    static InputStream body(InputStream in, Framing framing) {
        return switch (framing) {
            case Framing.None n -> InputStream.nullInputStream();
            case Framing.Fixed f -> new FixedLength(in, f.length());
            case Framing.Chunked c -> new Chunked(in);
            case Framing.UntilClose u -> in;
        };
    }

    /** Copies a decoded body, re-framed: chunked if {@code chunked}, else as is; flushes after every read. */
    static long copy(InputStream body, OutputStream out, boolean chunked) throws IOException {
        byte[] buffer = new byte[16 * 1024];
        long total = 0;
        int n;
        while ((n = body.read(buffer)) > 0) {
            if (chunked) writeAscii(out, Integer.toHexString(n) + "\r\n");
            out.write(buffer, 0, n);
            if (chunked) writeAscii(out, "\r\n");
            out.flush();
            total += n;
        }
        if (chunked) writeAscii(out, "0\r\n\r\n");
        out.flush();
        return total;
    }

    private static final class FixedLength extends BlockInputStream {
        private final InputStream in;
        private long left;

        FixedLength(InputStream in, long length) {
            this.in = in;
            this.left = length;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0) return -1;
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n < 0) throw new EOFException("the body ended " + left + " bytes before its Content-Length");
            left -= n;
            return n;
        }
    }

    /** Decodes {@code Transfer-Encoding: chunked} strictly; extensions and trailers are read and dropped. */
    private static final class Chunked extends BlockInputStream {
        private final InputStream in;
        private long left;
        private boolean done;

        Chunked(InputStream in) {
            this.in = in;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) return -1;
            if (left == 0) {
                left = chunkSize();
                if (left == 0) {
                    Lines trailers = new Lines(in);
                    String line;
                    do {
                        line = trailers.next(false);
                    } while (!line.isEmpty());
                    done = true;
                    return -1;
                }
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n < 0) throw new EOFException("the chunked body ended inside a chunk");
            left -= n;
            if (left == 0 && (in.read() != '\r' || in.read() != '\n')) {
                throw new BadMessageException("a chunk is not followed by CRLF (its size is wrong)");
            }
            return n;
        }

        private long chunkSize() throws IOException {
            String line = new Lines(in).next(false);
            int end = line.indexOf(';');
            String hex = end < 0 ? line : line.substring(0, end);
            if (hex.isEmpty() || hex.length() > 15 || !hex.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                throw new BadMessageException("invalid chunk size '" + printable(line) + "'");
            }
            return Long.parseLong(hex, 16);
        }
    }
}
