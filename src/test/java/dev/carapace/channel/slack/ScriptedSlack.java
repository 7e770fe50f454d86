package dev.carapace.channel.slack;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * Slack's Web API and files host on loopback, speaking Slack's JSON: every request is recorded; each path answers
 * what was scripted for it, in order (the last answer repeats), or {@code {"ok":true}}.
 */
final class ScriptedSlack implements AutoCloseable {

    /** A request as received. */
    record Request(String method, String path, String query, Map<String, List<String>> headers, byte[] body) {
        String header(String name) {
            for (var e : headers.entrySet()) if (e.getKey().equalsIgnoreCase(name)) return e.getValue().getFirst();
            return null;
        }

        String text() { return new String(body, StandardCharsets.UTF_8); }
    }

    /** An answer: status, headers, body. */
    record Answer(int status, Map<String, String> headers, byte[] body) {
        static Answer json(String json) { return new Answer(200, Map.of("Content-Type", "application/json"), json.getBytes(StandardCharsets.UTF_8)); }

        static Answer status(int status, Map<String, String> headers) { return new Answer(status, headers, new byte[0]); }

        static Answer bytes(byte[] body) { return new Answer(200, Map.of("Content-Type", "application/octet-stream"), body); }

        /** Without a Content-Length: chunked, so only reading tells the size. */
        static Answer streamed(byte[] body) { return new Answer(200, Map.of(CHUNKED, "1"), body); }
    }

    private static final String CHUNKED = "X-Scripted-Chunked";

    private final HttpServer server;
    private final Map<String, Deque<Answer>> script = new ConcurrentHashMap<>();
    final List<Request> requests = new CopyOnWriteArrayList<>();

    ScriptedSlack() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::handle);
        server.start();
    }

    /** The base URL, {@code http://127.0.0.1:PORT/}. */
    URI base() { return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/"); }

    URI api() { return base().resolve("api/"); }

    /** Scripts {@code path}'s answers, in order; the last one repeats. */
    ScriptedSlack on(String path, Answer... answers) {
        script.put(path, new ArrayDeque<>(List.of(answers)));
        return this;
    }

    List<Request> to(String path) { return requests.stream().filter(r -> r.path().equals(path)).toList(); }

    private void handle(HttpExchange x) throws IOException {
        byte[] body = x.getRequestBody().readAllBytes();
        String path = x.getRequestURI().getPath();
        requests.add(new Request(x.getRequestMethod(), path, x.getRequestURI().getRawQuery(),
                Map.copyOf(x.getRequestHeaders()), body));
        Deque<Answer> answers = script.get(path);
        Answer a;
        synchronized (this) {
            a = answers == null ? Answer.json("{\"ok\":true}") : answers.size() > 1 ? answers.poll() : answers.peek();
        }
        a.headers().forEach((k, v) -> { if (!k.equals(CHUNKED)) x.getResponseHeaders().add(k, v); });
        x.sendResponseHeaders(a.status(), a.headers().containsKey(CHUNKED) ? 0 : a.body().length == 0 ? -1 : a.body().length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(a.body());
        }
    }

    List<String> paths() {
        List<String> out = new ArrayList<>();
        for (Request r : requests) out.add(r.path());
        return out;
    }

    @Override
    public void close() { server.stop(0); }
}
