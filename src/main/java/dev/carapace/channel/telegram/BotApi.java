package dev.carapace.channel.telegram;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.channel.Attachment;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.Secrets;
import dev.carapace.channel.telegram.BotApiException.Kind;
import dev.carapace.text.Excerpt;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The Bot API over HTTP ({@code POST API_BASE/botTOKEN/METHOD} with a JSON body, answered with
 * {@code {"ok":true,"result":...}} or {@code {"ok":false,"error_code":...,"description":...,"parameters":...}}), its
 * multipart uploads, and file downloads ({@code GET API_BASE/file/botTOKEN/FILE_PATH}).
 *
 * <p>The token is read from the secrets for each call and is part of every URL: no URL is ever put in a message, and
 * every text that comes from elsewhere (an HTTP client's exception, Telegram's description) is scrubbed of it before
 * it goes into a {@link BotApiException}. Redirects are not followed, so the token goes to {@code api_base} only.
 */
final class BotApi implements AutoCloseable {

    /** The Bot API lets bots download files of at most 20 MB. */
    static final long MAX_DOWNLOAD_BYTES = 20L << 20;
    /** A JSON answer bigger than this is not the Bot API's (100 updates are far smaller). */
    private static final long MAX_ANSWER_BYTES = 16L << 20;
    /** BotFather's tokens: the bot's id, a colon, letters; nothing that could change a URL's path. */
    private static final Pattern TOKEN = Pattern.compile("([0-9]{1,15}):[A-Za-z0-9_-]{20,200}");
    /** A {@code file_path} from {@code getFile}: Telegram's are like {@code voice/file_3.oga}. */
    private static final Pattern FILE_PATH = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*){0,7}");
    private static final Duration MAX_RETRY_AFTER = Duration.ofHours(1);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

    static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final URI base;
    private final Secrets secrets;
    private final String tokenSecret;
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();

    BotApi(URI base, Secrets secrets, String tokenSecret) {
        String b = base.toString();
        this.base = URI.create(b.endsWith("/") ? b.substring(0, b.length() - 1) : b);
        this.secrets = secrets;
        this.tokenSecret = tokenSecret;
    }

    /** The bot's id: the number before the token's colon (public: {@code getMe} says it to anyone). */
    long botId() throws BotApiException {
        return Long.parseLong(tokenMatch(token()).group(1));
    }

    /** {@code method} with {@code params}; Telegram's {@code result}. */
    JsonNode call(String method, ObjectNode params) throws BotApiException, InterruptedException {
        return call(method, params, CALL_TIMEOUT);
    }

    JsonNode call(String method, ObjectNode params, Duration timeout) throws BotApiException, InterruptedException {
        String token = token();
        byte[] body;
        try {
            body = JSON.writeValueAsBytes(params);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        HttpRequest request = HttpRequest.newBuilder(methodUri(token, method)).timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        return answer(method, send(method, request, token), token);
    }

    /**
     * {@code method} with {@code fields} and one file uploaded as {@code fileField} ({@code multipart/form-data}).
     * The file's name is reduced to letters, digits, '.', '_' and '-', and its media type checked, so nothing in them
     * can end their header.
     */
    JsonNode upload(String method, Map<String, String> fields, String fileField, Attachment file, String fileName)
            throws BotApiException, InterruptedException {
        String token = token();
        String boundary = "carapace-" + UUID.randomUUID().toString().replace("-", "");
        ByteArrayOutputStream out = new ByteArrayOutputStream(file.data().length + 1024);
        for (Map.Entry<String, String> f : fields.entrySet()) {
            write(out, "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f.getKey() + "\"\r\n"
                    + "Content-Type: text/plain; charset=utf-8\r\n\r\n");
            write(out, f.getValue());
            write(out, "\r\n");
        }
        write(out, "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + fileField + "\"; filename=\""
                + plainName(fileName) + "\"\r\nContent-Type: " + UpdateReader.mediaType(file.mediaType()) + "\r\n\r\n");
        out.writeBytes(file.data());
        write(out, "\r\n--" + boundary + "--\r\n");
        HttpRequest request = HttpRequest.newBuilder(methodUri(token, method)).timeout(Duration.ofMinutes(5))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray())).build();
        return answer(method, send(method, request, token), token);
    }

    /**
     * The file at {@code filePath} (from {@code getFile}), read as it streams and given up past {@code limit} bytes.
     *
     * @throws BotApiException {@link Kind#TOO_BIG} past the limit; a path that is not Telegram's is refused unread
     */
    byte[] download(String filePath, long limit) throws BotApiException, InterruptedException {
        if (filePath == null || filePath.length() > 300 || !FILE_PATH.matcher(filePath).matches() || filePath.contains("..")) {
            throw BotApiException.of(Kind.REFUSED, "getFile answered a file_path that is not a plain relative path");
        }
        String token = token();
        HttpRequest request = HttpRequest.newBuilder(uri(base + "/file/bot" + token.strip() + "/" + filePath))
                .timeout(Duration.ofMinutes(2)).GET().build();
        HttpResponse<InputStream> response = send("file download", request, token);
        try (InputStream in = response.body()) {
            int status = response.statusCode();
            if (status != 200) {
                Kind kind = status == 429 ? Kind.RATE_LIMITED : status >= 500 ? Kind.SERVER : Kind.REFUSED;
                throw new BotApiException(kind, status, "file download: Telegram answered HTTP " + status, null, null);
            }
            long declared = response.headers().firstValueAsLong("Content-Length").orElse(-1);
            if (declared > limit) {
                throw new BotApiException(Kind.TOO_BIG, 0, declared + " bytes; at most " + limit + " are taken", null, null);
            }
            byte[] data = readCapped(in, limit);
            if (data == null) {
                throw new BotApiException(Kind.TOO_BIG, 0, "more than " + limit + " bytes; at most " + limit
                        + " are taken", null, null);
            }
            return data;
        } catch (IOException e) {
            throw BotApiException.of(Kind.NETWORK, "file download: the connection failed while reading ("
                    + describe(e, token) + ")");
        }
    }

    private HttpResponse<InputStream> send(String what, HttpRequest request, String token)
            throws BotApiException, InterruptedException {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpTimeoutException e) {
            throw BotApiException.of(Kind.NETWORK, what + ": Telegram did not answer in time");
        } catch (IOException e) {
            throw BotApiException.of(Kind.NETWORK, what + ": could not reach the Bot API (" + describe(e, token) + ")");
        }
    }

    /** Telegram's answer: its {@code result}, or what its error says. */
    private static JsonNode answer(String method, HttpResponse<InputStream> response, String token)
            throws BotApiException {
        int status = response.statusCode();
        JsonNode json;
        try (InputStream in = response.body()) {
            byte[] bytes = readCapped(in, MAX_ANSWER_BYTES);
            if (bytes == null) throw BotApiException.of(Kind.SERVER, method + ": the answer is too big to be the Bot API's");
            json = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            json = null;
        } catch (IOException e) {
            throw BotApiException.of(Kind.NETWORK, method + ": the connection failed while reading the answer ("
                    + describe(e, token) + ")");
        }
        if (json == null || !json.isObject() || !json.path("ok").isBoolean()) {
            Kind kind = status == 429 ? Kind.RATE_LIMITED : status >= 400 && status < 500 ? Kind.REFUSED : Kind.SERVER;
            throw new BotApiException(kind, status, method + ": HTTP " + status + " without the Bot API's JSON answer"
                    + (kind == Kind.REFUSED ? " (is api_base the Bot API?)" : ""), kind == Kind.RATE_LIMITED
                    ? Duration.ofSeconds(1) : null, null);
        }
        if (json.get("ok").asBoolean() && status / 100 == 2) return json.path("result");
        int code = json.path("error_code").canConvertToInt() ? json.path("error_code").asInt() : status;
        String description = scrub(json.path("description").asText("no description"), token);
        JsonNode parameters = json.path("parameters");
        Duration retryAfter = null;
        if (parameters.path("retry_after").canConvertToLong()) {
            long s = Math.max(0, parameters.path("retry_after").asLong());
            retryAfter = s > MAX_RETRY_AFTER.toSeconds() ? MAX_RETRY_AFTER : Duration.ofSeconds(s);
        }
        Long migrateTo = parameters.path("migrate_to_chat_id").canConvertToLong()
                ? parameters.path("migrate_to_chat_id").asLong() : null;
        Kind kind = code == 429 || status == 429 ? Kind.RATE_LIMITED : code >= 500 || status >= 500 ? Kind.SERVER : Kind.REFUSED;
        if (kind == Kind.RATE_LIMITED && retryAfter == null) retryAfter = Duration.ofSeconds(1);
        throw new BotApiException(kind, code, method + ": " + Excerpt.clip(description, 200) + " (" + code + ")",
                retryAfter, migrateTo);
    }

    /** The token, read now and checked to be BotFather's form, so it can stand in a URL's path. */
    private String token() throws BotApiException {
        String token;
        try {
            token = secrets.value(tokenSecret);
        } catch (ChannelException e) {
            throw BotApiException.of(Kind.REFUSED, e.getMessage());
        }
        tokenMatch(token);
        return token;
    }

    private java.util.regex.Matcher tokenMatch(String token) throws BotApiException {
        java.util.regex.Matcher m = TOKEN.matcher(token == null ? "" : token.strip());
        if (!m.matches()) {
            throw BotApiException.of(Kind.REFUSED, "secret '" + tokenSecret + "' is not a Telegram bot token "
                    + "(expected the bot's id, a colon and letters, as BotFather gives it)");
        }
        return m;
    }

    private URI methodUri(String token, String method) throws BotApiException {
        return uri(base + "/bot" + token.strip() + "/" + method);
    }

    /** A URL holding the token; {@link URI#create}'s own message would quote it, so it is not passed on. */
    private static URI uri(String text) throws BotApiException {
        try {
            return URI.create(text);
        } catch (IllegalArgumentException e) {
            throw BotApiException.of(Kind.REFUSED, "the Bot API's URL cannot be made from api_base and the token");
        }
    }

    /** An exception's class and message, without the token (an HTTP client may name the URL). */
    static String describe(Exception e, String token) {
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + Excerpt.clip(scrub(message, token), 200));
    }

    /** {@code text} with the token, as it is and as a URL spells it, replaced. */
    static String scrub(String text, String token) {
        if (text == null || token == null || token.isBlank()) return text;
        String t = token.strip();
        return text.replace(t, "<token>").replace(t.replace(":", "%3A"), "<token>").replace(t.replace(":", "%3a"), "<token>");
    }

    /** The bytes of {@code in}, or null when there are more than {@code limit}. */
    private static byte[] readCapped(InputStream in, long limit) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        for (int n; (n = in.read(buffer)) != -1; ) {
            total += n;
            if (total > limit) return null;
            out.write(buffer, 0, n);
        }
        return out.toByteArray();
    }

    /** A file name fit for a multipart header: letters, digits, '.', '_' and '-', at most 64, never empty. */
    static String plainName(String name) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < name.length() && sb.length() < 64; i++) {
            char c = name.charAt(i);
            sb.append(c < 128 && (Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '-') ? c : '_');
        }
        String s = sb.toString().replaceAll("^[._]+", "");
        return s.isEmpty() ? "file" : s;
    }

    private static void write(ByteArrayOutputStream out, String s) { out.writeBytes(s.getBytes(StandardCharsets.UTF_8)); }

    @Override
    public void close() { http.shutdownNow(); }
}
