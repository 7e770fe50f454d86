package dev.carapace.agent.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.ToolContext;
import dev.carapace.agent.ToolResult;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * {@code web_fetch {url, max_chars?}}: an HTTP GET through an {@link Egress}, returned as status, content type and
 * the body as text; HTML is reduced to its words ({@link HtmlText}), binary content is refused. Redirects are
 * followed here, up to {@value #MAX_REDIRECTS}, each hop a new {@link Egress#get} so the fence decides on every URI,
 * and each hop asked of the context's {@link dev.carapace.agent.UrlGate} first, so the guard's rules do too.
 * A 4xx or 5xx status is a result like any other (marked as an error), with its body: error pages say what went wrong.
 */
public final class WebFetchTool implements AgentTool {

    static final int MAX_REDIRECTS = 5;
    /** Body bytes read off the wire; HTML shrinks a lot on its way to text, so well above the output cap. */
    static final int MAX_BODY_BYTES = 5 * 1024 * 1024;
    static final int MAX_URL_CHARS = 8192;
    static final Map<String, String> HEADERS = Map.of(
            "Accept", "text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.9,*/*;q=0.5",
            "User-Agent", "Carapace-web_fetch/0.1");

    private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);
    private static final Set<String> TEXT_TYPES = Set.of("application/json", "application/xml",
            "application/javascript", "application/ecmascript", "application/x-javascript", "application/x-sh",
            "application/yaml", "application/x-yaml", "application/toml", "application/x-toml", "application/sql",
            "application/graphql", "application/x-ndjson", "application/ndjson", "application/x-www-form-urlencoded",
            "application/csv", "application/x-tex", "application/x-httpd-php", "application/rtf", "application/x-perl",
            "application/x-python", "application/x-ruby", "application/typescript", "message/rfc822");
    private static final Pattern META_CHARSET =
            Pattern.compile("(?i)<meta[^>]{0,200}?charset\\s*=\\s*[\"']?([a-z0-9_.:-]{1,40})");

    private static final String SCHEMA = """
            {"type":"object","properties":{"url":{"type":"string"},"max_chars":{"type":"integer"}},\
            "required":["url"]}""";
    private static final ObjectNode PARAMETERS;

    static {
        try {
            PARAMETERS = (ObjectNode) new ObjectMapper().readTree(SCHEMA);
        } catch (JsonProcessingException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Egress egress;

    /** @param egress the way out; the tool exists only if the config chose one */
    public WebFetchTool(Egress egress) {
        this.egress = Objects.requireNonNull(egress, "egress");
    }

    @Override
    public String name() {
        return "web_fetch";
    }

    @Override
    public String description() {
        return "HTTP GET a URL; returns status, content type and the body as text (HTML reduced to text), cut if long.";
    }

    @Override
    public ObjectNode parameters() {
        return PARAMETERS.deepCopy();
    }

    @Override
    public ToolResult run(JsonNode arguments, ToolContext context) throws InterruptedException {
        String url;
        Integer maxChars;
        try {
            Args args = Args.of(arguments, "url", "max_chars");
            url = args.string("url").strip();
            maxChars = args.positiveInt("max_chars", "most characters of text to return");
        } catch (ArgumentException e) {
            return ToolResult.error(e.getMessage());
        }
        URI uri;
        try {
            uri = checked(url, "argument 'url'");
        } catch (ArgumentException e) {
            return ToolResult.error(e.getMessage());
        }
        Duration timeout = context == null || context.timeout() == null || context.timeout().isZero()
                || context.timeout().isNegative() ? Deadline.DEFAULT : context.timeout();
        long end = System.nanoTime() + timeout.toNanos();
        int maxOutput = context == null || context.maxOutputBytes() <= 0 ? Output.DEFAULT_MAX_BYTES
                : context.maxOutputBytes();

        Egress egress = context == null || context.agentId() == null ? this.egress : this.egress.forAgent(context.agentId());
        List<URI> chain = new ArrayList<>(List.of(uri));
        while (true) {
            URI current = chain.getLast();
            long left = end - System.nanoTime();
            if (left <= 0) {
                return ToolResult.error("timed out after " + seconds(timeout) + " fetching " + shown(current));
            }
            Egress.Response response;
            try {
                response = egress.get(current, HEADERS, MAX_BODY_BYTES, Duration.ofNanos(left));
            } catch (Egress.DeniedException e) {
                return ToolResult.error("fetch of " + shown(current) + " refused: " + e.getMessage());
            } catch (HttpTimeoutException e) {
                return ToolResult.error("timed out after " + seconds(timeout) + " fetching " + shown(current));
            } catch (ConnectException e) {
                return ToolResult.error("could not connect to " + current.getHost()
                        + (current.getPort() >= 0 ? ":" + current.getPort() : "") + " (" + connectFailure(e) + ")");
            } catch (IOException e) {
                return ToolResult.error("fetch of " + shown(current) + " failed: " + describe(e));
            }
            if (!REDIRECTS.contains(response.status()) || response.header("location").isEmpty()) {
                return render(response, chain, maxChars, maxOutput);
            }
            if (chain.size() > MAX_REDIRECTS) {
                return ToolResult.error("stopped after " + MAX_REDIRECTS + " redirects: "
                        + chain.stream().map(WebFetchTool::shown).collect(Collectors.joining(" -> ")) + " -> ...");
            }
            String location = response.header("location").orElseThrow().strip();
            try {
                URI next = checked(current.resolve(new URI(location.replace(" ", "%20"))).toString(),
                        "the redirect from " + shown(current));
                // The guard judged the URL the model named; where a redirect leads is judged here, hop by hop.
                String refused = context == null ? null : context.urls().refusal(name(), next.toString());
                if (refused != null) {
                    return ToolResult.error("the redirect from " + shown(current) + " to " + shown(next)
                            + " is refused: " + refused);
                }
                chain.add(next);
            } catch (URISyntaxException | IllegalArgumentException | ArgumentException e) {
                String why = e instanceof ArgumentException ? e.getMessage()
                        : "the redirect from " + shown(current) + " is to an invalid URL";
                return ToolResult.error(why + " (status " + response.status() + ", location "
                        + Output.printable(shorten(location)) + ")");
            }
        }
    }

    /** An absolute http(s) URL with a host, without its fragment (never sent). */
    private static URI checked(String url, String what) throws ArgumentException {
        if (url.isEmpty()) throw new ArgumentException(what + " must not be empty");
        if (url.length() > MAX_URL_CHARS) {
            throw new ArgumentException(what + " is longer than " + MAX_URL_CHARS + " characters");
        }
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new ArgumentException(what + " is not a valid URL (" + e.getReason() + " at index " + e.getIndex()
                    + ")");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new ArgumentException(what + ": only http and https URLs can be fetched"
                    + (scheme.isEmpty() ? " (give an absolute URL)" : ", not " + Output.printable(shorten(scheme))));
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) throw new ArgumentException(what + " has no host");
        if (uri.getRawFragment() != null) uri = URI.create(url.substring(0, url.indexOf('#')));
        return uri;
    }

    private static ToolResult render(Egress.Response r, List<URI> chain, Integer maxChars, int maxOutput) {
        String type = r.header("content-type").orElse("").strip();
        String mime = type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        StringBuilder head = new StringBuilder();
        head.append("status: ").append(r.status()).append('\n');
        if (!type.isEmpty()) head.append("content-type: ").append(Output.printable(shorten(type))).append('\n');
        if (chain.size() > 1) head.append("url: ").append(shown(r.uri())).append('\n');
        boolean error = r.status() >= 400 || r.status() < 200;
        String size = (r.truncated() ? "more than " : "") + r.body().length + " bytes";

        Charset charset = charset(type);
        // UTF-16 and UTF-32 text is full of NUL bytes; for everything else a NUL means binary.
        boolean wide = charset != null && (charset.name().startsWith("UTF-16") || charset.name().startsWith("UTF-32"));
        if (!isText(mime) || (!wide && ReadTool.hasNul(r.body(), Math.min(r.body().length, ReadTool.BINARY_PROBE)))) {
            head.append('\n').append("binary content (").append(size)
                    .append(") is not shown: web_fetch returns text only");
            return ToolResult.error(head.toString());
        }
        boolean html = mime.equals("text/html") || mime.equals("application/xhtml+xml")
                || (mime.isEmpty() && looksLikeHtml(r.body()));
        if (charset == null && html) charset = metaCharset(r.body());
        if (charset == null) charset = StandardCharsets.UTF_8;
        String body = new String(r.body(), charset);
        if (body.startsWith("\uFEFF")) body = body.substring(1);
        String text = html ? HtmlText.toText(body) : OutputCapture.clean(body).strip();

        head.append('\n');
        if (text.isEmpty()) {
            head.append(r.body().length == 0 ? "(empty body)" : "(no text)");
            return new ToolResult(head.toString(), error);
        }
        int budget = Math.max(1, Output.budget(maxOutput) - Output.utf8Length(head));
        int keep = prefix(text, maxChars == null ? Integer.MAX_VALUE : maxChars, budget);
        head.append(text, 0, keep);
        if (keep < text.length()) {
            head.append("\n[cut: ").append(text.length() - keep).append(" more characters not shown")
                    .append(r.truncated() ? "; only the first " + r.body().length + " bytes of the body were read" : "")
                    .append(']');
        } else if (r.truncated()) {
            head.append("\n[cut: only the first ").append(r.body().length).append(" bytes of the body were read]");
        }
        return new ToolResult(head.toString(), error);
    }

    /** How many chars of {@code text} fit in {@code maxChars} and {@code maxBytes} (UTF-8), never splitting a pair. */
    static int prefix(String text, int maxChars, int maxBytes) {
        int bytes = 0;
        int i = 0;
        int n = Math.min(text.length(), maxChars);
        while (i < n) {
            char c = text.charAt(i);
            int width;
            int chars = 1;
            if (c < 0x80) width = 1;
            else if (c < 0x800) width = 2;
            else if (Character.isHighSurrogate(c) && i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1))) {
                width = 4;
                chars = 2;
            } else width = 3;
            if (bytes + width > maxBytes || i + chars > n) break;
            bytes += width;
            i += chars;
        }
        return i;
    }

    static boolean isText(String mime) {
        if (mime.isEmpty() || mime.startsWith("text/")) return true;
        if (mime.endsWith("+json") || mime.endsWith("+xml") || mime.endsWith("+yaml")) return true;
        return TEXT_TYPES.contains(mime);
    }

    /** The declared charset, or null if none or unknown here. */
    private static Charset charset(String contentType) {
        for (String part : contentType.split(";")) {
            String p = part.strip();
            if (p.regionMatches(true, 0, "charset=", 0, 8)) {
                return forName(p.substring(8).replace("\"", "").replace("'", ""));
            }
        }
        return null;
    }

    private static Charset metaCharset(byte[] body) {
        Matcher m = META_CHARSET.matcher(new String(body, 0, Math.min(body.length, 4096), StandardCharsets.ISO_8859_1));
        return m.find() ? forName(m.group(1)) : null;
    }

    private static Charset forName(String name) {
        try {
            return Charset.forName(name.strip());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static boolean looksLikeHtml(byte[] body) {
        String start = new String(body, 0, Math.min(body.length, 512), StandardCharsets.ISO_8859_1)
                .stripLeading().toLowerCase(Locale.ROOT);
        if (start.startsWith("\u00ef\u00bb\u00bf")) start = start.substring(3).stripLeading(); // UTF-8 BOM
        return start.startsWith("<!doctype html") || start.startsWith("<html") || start.startsWith("<head")
                || start.startsWith("<body");
    }

    /** A failure in a few words: the exception's kind and its message, or its cause's. */
    private static String describe(IOException e) {
        Throwable t = e;
        while (t.getMessage() == null && t.getCause() != null) t = t.getCause();
        String message = t.getMessage();
        String kind = t.getClass().getSimpleName();
        return message == null || message.isBlank() ? kind : kind + ": " + Output.printable(shorten(message));
    }

    /** The JDK client reports most connect failures as a bare ConnectException around a message-less cause. */
    private static String connectFailure(ConnectException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnresolvedAddressException || t instanceof UnknownHostException) return "unknown host";
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) return Output.printable(shorten(t.getMessage()));
        }
        return "connection refused";
    }

    /** A URL for a message: long ones would crowd out what the message says. */
    private static String shown(URI uri) {
        return shorten(uri.toString());
    }

    private static String shorten(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    private static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
    }
}
