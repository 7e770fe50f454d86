package dev.carapace.channel.telegram;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * The Bot API on loopback, as Telegram answers it: {@code /botTOKEN/METHOD} with JSON, {@code {"ok":...}} answers,
 * {@code getUpdates} returning every update not yet confirmed by a higher offset (waiting up to its timeout when
 * there is none), {@code getFile} and {@code /file/botTOKEN/PATH} downloads. A test scripts updates, files and
 * one-off failures, and reads back the calls made.
 */
final class ScriptedBotApi implements AutoCloseable {

    static final String TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
    static final long BOT_ID = 123456789L;
    static final ObjectMapper JSON = new ObjectMapper();

    /** One call the channel made: the method, its JSON body (null for multipart) and its raw body. */
    record Call(String method, JsonNode json, byte[] raw, String contentType) {
        String rawText() { return new String(raw, StandardCharsets.UTF_8); }
    }

    private final HttpServer server;
    private final Object lock = new Object();
    private final List<Call> calls = new ArrayList<>();
    private final List<JsonNode> pending = new ArrayList<>();
    private final List<Long> offsets = new ArrayList<>();
    private final Map<String, Deque<String[]>> failures = new HashMap<>();
    private final Map<String, JsonNode> fileInfos = new HashMap<>();
    private final Map<String, byte[]> files = new HashMap<>();
    private int messageIds = 1000;

    ScriptedBotApi() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::handle);
        server.start();
    }

    URI base() { return URI.create("http://127.0.0.1:" + server.getAddress().getPort()); }

    /** An update Telegram holds for the bot until a getUpdates confirms it. */
    void update(String json) {
        synchronized (lock) {
            pending.add(parse(json));
            lock.notifyAll();
        }
    }

    /** The next call of {@code method} is answered with {@code status} and {@code body}, once. */
    void fail(String method, int status, String body) {
        synchronized (lock) {
            failures.computeIfAbsent(method, k -> new ArrayDeque<>()).add(new String[] {Integer.toString(status), body});
        }
    }

    /** A file {@code getFile} knows by {@code fileId}, whose size it says is {@code declaredSize} (null: not said). */
    void file(String fileId, String path, byte[] data, Long declaredSize) {
        ObjectNode info = JSON.createObjectNode().put("file_id", fileId).put("file_unique_id", "u" + fileId)
                .put("file_path", path);
        if (declaredSize != null) info.put("file_size", declaredSize);
        synchronized (lock) {
            fileInfos.put(fileId, info);
            files.put(path, data);
        }
    }

    List<Call> calls(String method) {
        synchronized (lock) {
            return calls.stream().filter(c -> c.method().equals(method)).toList();
        }
    }

    /** The offset of each getUpdates, in order (null for none). */
    List<Long> offsets() {
        synchronized (lock) {
            return new ArrayList<>(offsets);
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            byte[] body = ex.getRequestBody().readAllBytes();
            if (path.startsWith("/file/bot" + TOKEN + "/")) {
                byte[] data;
                synchronized (lock) {
                    data = files.get(path.substring(("/file/bot" + TOKEN + "/").length()));
                }
                if (data == null) {
                    respond(ex, 404, "{\"ok\":false,\"error_code\":404,\"description\":\"Not Found\"}");
                } else {
                    ex.sendResponseHeaders(200, 0);   // chunked: no Content-Length, as a stream that lies would be
                    ex.getResponseBody().write(data);
                }
                return;
            }
            if (!path.startsWith("/bot" + TOKEN + "/")) {
                respond(ex, 401, "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}");
                return;
            }
            String method = path.substring(("/bot" + TOKEN + "/").length());
            String type = ex.getRequestHeaders().getFirst("Content-Type");
            JsonNode json = type != null && type.startsWith("application/json") ? JSON.readTree(body) : null;
            String[] failure;
            synchronized (lock) {
                calls.add(new Call(method, json, body, type));
                Deque<String[]> q = failures.get(method);
                failure = q == null ? null : q.poll();
                if (method.equals("getUpdates")) offsets.add(json.has("offset") ? json.get("offset").asLong() : null);
            }
            if (failure != null) {
                respond(ex, Integer.parseInt(failure[0]), failure[1]);
                return;
            }
            respond(ex, 200, "{\"ok\":true,\"result\":" + result(method, json) + "}");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String result(String method, JsonNode json) throws InterruptedException {
        return switch (method) {
            case "getMe" -> "{\"id\":" + BOT_ID + ",\"is_bot\":true,\"first_name\":\"Cara\",\"username\":\"cara_bot\"}";
            case "getWebhookInfo" -> "{\"url\":\"\",\"has_custom_certificate\":false,\"pending_update_count\":0}";
            case "getUpdates" -> updates(json);
            case "getFile" -> {
                synchronized (lock) {
                    JsonNode info = fileInfos.get(json.path("file_id").asText());
                    yield info == null ? "null" : info.toString();
                }
            }
            default -> {
                synchronized (lock) {
                    yield "{\"message_id\":" + (++messageIds) + ",\"date\":1700000000,\"chat\":{\"id\":1,\"type\":\"private\"}}";
                }
            }
        };
    }

    private String updates(JsonNode json) throws InterruptedException {
        long timeoutMs = Math.min(json.path("timeout").asLong(0), 1) * 1000;
        long deadline = System.currentTimeMillis() + timeoutMs;
        synchronized (lock) {
            if (json.has("offset")) {
                long offset = json.get("offset").asLong();
                pending.removeIf(u -> u.path("update_id").asLong() < offset);
            }
            while (pending.isEmpty() && System.currentTimeMillis() < deadline) {
                lock.wait(Math.max(1, deadline - System.currentTimeMillis()));
            }
            ArrayNode out = JSON.createArrayNode();
            pending.forEach(out::add);
            return out.toString();
        }
    }

    private static void respond(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
    }

    private static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Override
    public void close() { server.stop(0); }
}
