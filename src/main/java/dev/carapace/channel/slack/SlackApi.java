package dev.carapace.channel.slack;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.channel.ChannelException;
import dev.carapace.text.Excerpt;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

/**
 * Slack's Web API over {@link HttpClient}: one method call is a POST to {@code apiBase + method} with the token as
 * {@code Authorization: Bearer}, answered {@code {"ok":true,...}} or {@code {"ok":false,"error":"code"}}.
 *
 * <p>A token goes to two origins only: the API's and the files' ({@link SlackSettings}). Redirects are never
 * followed by the client: a download follows one by hand, and only within the files' origin, so a redirect cannot
 * carry the token to another host. A 429 is waited out once for as long as {@code Retry-After} says (up to
 * {@link #MAX_RETRY_AFTER}); a second one is a retryable failure, for the hub's back-off.
 */
final class SlackApi {

    /** A credential read when it is used, never kept (the {@link dev.carapace.channel.Secrets} contract). */
    @FunctionalInterface
    interface Token {
        String value() throws ChannelException;
    }

    static final Duration MAX_RETRY_AFTER = Duration.ofSeconds(30);
    private static final int MAX_ANSWER_BYTES = 1 << 20;
    private static final int MAX_REDIRECTS = 3;
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    /** Errors that may pass: the hub tries again later. Any other error will not pass by itself. */
    private static final Set<String> PASSING = Set.of("ratelimited", "rate_limited", "internal_error", "fatal_error",
            "service_unavailable", "request_timeout", "team_added_to_org");

    static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final URI apiBase;
    private final URI filesBase;
    private final HttpClient http;
    /** Until when (System.nanoTime) Slack asked for no calls; 0 when it did not. */
    private volatile long pausedUntil = System.nanoTime();

    SlackApi(URI apiBase, URI filesBase, HttpClient http) {
        this.apiBase = apiBase;
        this.filesBase = filesBase;
        this.http = http;
    }

    /** {@code https}, or {@code http} for a scripted Slack on loopback. */
    String baseScheme() { return apiBase.getScheme(); }

    /** Calls {@code method} with a JSON body; the answer when {@code ok}. */
    JsonNode call(String method, Token token, ObjectNode body) throws ChannelException, InterruptedException {
        return send(method, token, "application/json; charset=utf-8", body == null ? "{}" : body.toString());
    }

    /** Calls {@code method} with a form body (the methods that take no JSON, such as files.getUploadURLExternal). */
    JsonNode callForm(String method, Token token, Map<String, String> form) throws ChannelException, InterruptedException {
        StringJoiner sj = new StringJoiner("&");
        form.forEach((k, v) -> sj.add(URLEncoder.encode(k, StandardCharsets.UTF_8) + "="
                + URLEncoder.encode(v, StandardCharsets.UTF_8)));
        return send(method, token, "application/x-www-form-urlencoded", sj.toString());
    }

    private JsonNode send(String method, Token token, String contentType, String body)
            throws ChannelException, InterruptedException {
        URI uri = apiBase.resolve(method);
        waitOutPause(method);
        for (int attempt = 1; ; attempt++) {
            HttpRequest request = HttpRequest.newBuilder(uri).timeout(TIMEOUT)
                    .header("Authorization", "Bearer " + token.value())
                    .header("Content-Type", contentType)
                    .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build();
            HttpResponse<InputStream> response = exchange(request, method);
            try (InputStream in = response.body()) {
                int status = response.statusCode();
                if (status == 429) {
                    Duration wait = retryAfter(response.headers());
                    pausedUntil = System.nanoTime() + wait.toNanos();
                    if (attempt == 1 && wait.compareTo(MAX_RETRY_AFTER) <= 0) {
                        Thread.sleep(wait);
                        continue;
                    }
                    throw new ChannelException("Slack " + method + ": rate limited (HTTP 429); Slack asks to wait "
                            + wait.toSeconds() + " s", true);
                }
                if (status >= 500) throw new ChannelException("Slack " + method + ": HTTP " + status + " (Slack is "
                        + "having trouble; tried again later)", true);
                if (status != 200) throw new ChannelException("Slack " + method + ": HTTP " + status
                        + " (expected 200; is api_base " + apiBase + " Slack's Web API?)", false);
                JsonNode answer = parse(readAtMost(in, MAX_ANSWER_BYTES, method), method);
                if (!answer.path("ok").asBoolean(false)) throw error(method, answer.path("error").asText(""));
                return answer;
            } catch (IOException e) {
                throw new ChannelException("Slack " + method + ": the answer could not be read ("
                        + e.getClass().getSimpleName() + ")", true, e);
            }
        }
    }

    /**
     * Downloads a file Slack shares with the bot ({@code url_private_download}), with the bot token, at most
     * {@code maxBytes}: only from the files' origin, following redirects only within it.
     */
    byte[] download(URI url, Token token, long maxBytes) throws ChannelException, InterruptedException {
        URI at = url;
        for (int hop = 0; ; hop++) {
            if (!sameOrigin(at, filesBase)) {
                throw new ChannelException("the file is at " + describeOrigin(at) + ", not on the Slack files host "
                        + describeOrigin(filesBase) + (hop > 0 ? " (a redirect)" : "") + "; not fetched, so the bot "
                        + "token goes nowhere else", false);
            }
            HttpRequest request = HttpRequest.newBuilder(at).timeout(TIMEOUT)
                    .header("Authorization", "Bearer " + token.value()).GET().build();
            HttpResponse<InputStream> response = exchange(request, "file download");
            try (InputStream in = response.body()) {
                int status = response.statusCode();
                if (status >= 300 && status < 400 && response.headers().firstValue("location").isPresent()) {
                    if (hop >= MAX_REDIRECTS) throw new ChannelException("the file download was redirected more than "
                            + MAX_REDIRECTS + " times", false);
                    try {
                        at = at.resolve(response.headers().firstValue("location").get().strip());
                    } catch (IllegalArgumentException e) {
                        throw new ChannelException("the file download was redirected to a malformed location", false);
                    }
                    continue;
                }
                if (status == 429 || status >= 500) {
                    throw new ChannelException("the file download answered HTTP " + status, true);
                }
                if (status != 200) {
                    throw new ChannelException("the file download answered HTTP " + status
                            + (status == 401 || status == 403 ? " (does the app have the files:read scope?)" : ""), false);
                }
                long declared = response.headers().firstValueAsLong("content-length").orElse(-1);
                if (declared > maxBytes) throw tooBig(declared, maxBytes);
                byte[] data = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
                if (data.length > maxBytes) throw tooBig(-1, maxBytes);
                return data;
            } catch (IOException e) {
                throw new ChannelException("the file download failed (" + e.getClass().getSimpleName() + ")", true, e);
            }
        }
    }

    /**
     * Sends a file to Slack's upload URL (from {@code files.getUploadURLExternal}): the bytes only, no token; the URL
     * must be on the files' origin.
     */
    void uploadBytes(URI uploadUrl, byte[] data) throws ChannelException, InterruptedException {
        if (!sameOrigin(uploadUrl, filesBase)) {
            throw new ChannelException("Slack gave an upload URL at " + describeOrigin(uploadUrl)
                    + ", not on the Slack files host " + describeOrigin(filesBase) + "; not used", false);
        }
        HttpRequest request = HttpRequest.newBuilder(uploadUrl).timeout(TIMEOUT)
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(data)).build();
        HttpResponse<InputStream> response = exchange(request, "file upload");
        try (InputStream in = response.body()) {
            in.readNBytes(MAX_ANSWER_BYTES);
            int status = response.statusCode();
            if (status != 200) {
                throw new ChannelException("the file upload answered HTTP " + status, status == 429 || status >= 500);
            }
        } catch (IOException e) {
            throw new ChannelException("the file upload failed (" + e.getClass().getSimpleName() + ")", true, e);
        }
    }

    private HttpResponse<InputStream> exchange(HttpRequest request, String what)
            throws ChannelException, InterruptedException {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new ChannelException("Slack " + what + ": " + describeOrigin(request.uri()) + " could not be reached ("
                    + e.getClass().getSimpleName() + ")", true, e);
        }
    }

    /**
     * Honours the last {@code Retry-After} across calls, so the hub's retries do not knock while Slack asked to wait:
     * a short rest is slept, a long one fails at once (retryable) without a request.
     */
    private void waitOutPause(String method) throws ChannelException, InterruptedException {
        long rest = pausedUntil - System.nanoTime();
        if (rest <= 0) return;
        if (rest > MAX_RETRY_AFTER.toNanos()) {
            throw new ChannelException("Slack " + method + ": rate limited; Slack asked to wait "
                    + Duration.ofNanos(rest).toSeconds() + " s more", true);
        }
        Thread.sleep(Duration.ofNanos(rest));
    }

    /** What an {@code ok:false} error means, and whether it may pass. */
    static ChannelException error(String method, String code) {
        String c = Excerpt.clip(code.isEmpty() ? "unknown" : code, 60);
        String why = switch (code) {
            case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive" ->
                    "Slack refused the token; check the secret the channel's slack settings name";
            case "missing_scope", "no_permission" -> "the Slack app lacks a scope it needs (chat:write, files:write, "
                    + "files:read, app_mentions:read, im:history)";
            case "channel_not_found" -> "no such Slack channel, or the bot cannot see it";
            case "not_in_channel" -> "the bot is not a member of the channel; invite it (/invite @bot)";
            case "is_archived" -> "the channel is archived";
            case "msg_too_long" -> "the message is too long for Slack";
            case "thread_not_found" -> "the thread to answer in is gone";
            case "ratelimited", "rate_limited" -> "Slack's rate limit";
            case "internal_error", "fatal_error", "service_unavailable", "request_timeout" -> "Slack had trouble";
            default -> "Slack refused the call";
        };
        return new ChannelException("Slack " + method + ": " + c + " (" + why + ")", PASSING.contains(code));
    }

    private static Duration retryAfter(HttpHeaders headers) {
        String v = headers.firstValue("retry-after").orElse("1").strip();
        if (v.isEmpty() || v.length() > 6 || !v.chars().allMatch(ch -> ch >= '0' && ch <= '9')) return Duration.ofSeconds(1);
        return Duration.ofSeconds(Long.parseLong(v));
    }

    private static JsonNode parse(byte[] body, String method) throws ChannelException {
        try {
            JsonNode n = JSON.readTree(body);
            if (n != null && n.isObject()) return n;
        } catch (IOException e) {
            // reported below
        }
        throw new ChannelException("Slack " + method + ": the answer is not a JSON object (is api_base Slack's Web "
                + "API?)", false);
    }

    private static byte[] readAtMost(InputStream in, int max, String method) throws IOException, ChannelException {
        byte[] b = in.readNBytes(max + 1);
        if (b.length > max) throw new ChannelException("Slack " + method + ": the answer is over " + max + " bytes", false);
        return b;
    }

    private static ChannelException tooBig(long declared, long max) {
        return new ChannelException("the file is " + (declared >= 0 ? declared + " bytes" : "bigger than that")
                + "; at most " + max + " bytes are taken", false);
    }

    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme() != null && a.getHost() != null && a.getRawUserInfo() == null
                && a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost().equalsIgnoreCase(b.getHost())
                && port(a) == port(b);
    }

    private static int port(URI u) {
        if (u.getPort() != -1) return u.getPort();
        return "https".equalsIgnoreCase(u.getScheme()) ? 443 : "http".equalsIgnoreCase(u.getScheme()) ? 80 : -1;
    }

    private static String describeOrigin(URI u) {
        String host = u.getHost() == null ? "?" : u.getHost();
        return Excerpt.clip((u.getScheme() == null ? "?" : u.getScheme().toLowerCase(Locale.ROOT)) + "://" + host
                + (u.getPort() == -1 ? "" : ":" + u.getPort()), 100);
    }

    /** A form's fields in order. */
    static Map<String, String> form(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return m;
    }
}
