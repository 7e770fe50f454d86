package dev.carapace.bench;

import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.HttpServer;
import dev.carapace.server.http.Routes;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The scripted model server the benchmark calls directly and through the gateways: an OpenAI-compatible
 * {@code POST /v1/chat/completions} answering every request with the same small answer, as JSON or as an SSE
 * stream. It does as little as possible per request (no JSON parsing, pre-rendered bytes) so that the time it
 * takes is small and identical on every path. It runs on Carapace's HTTP server ({@link HttpServer}: Jetty 12, a
 * virtual thread per request, TCP_NODELAY).
 *
 * <p>Run as its own process: {@code BenchUpstream [PORT]} (0 or nothing: any free port); prints
 * {@code bench-upstream listening on PORT} once it accepts connections, and runs until killed.
 */
public final class BenchUpstream {

    static final String[] TEXT_DELTAS = {"Hello", "!", " This", " is", " a", " fixed", " answer", " from", " the", " upstream."};
    static final int PROMPT_TOKENS = 12;
    static final int COMPLETION_TOKENS = TEXT_DELTAS.length;

    private static final byte[] COMPLETION = ("""
            {"id":"chatcmpl-bench","object":"chat.completion","created":1763800000,"model":"bench-upstream",\
            "choices":[{"index":0,"message":{"role":"assistant","content":"%s"},"finish_reason":"stop"}],\
            "usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}"""
            .formatted(String.join("", TEXT_DELTAS), PROMPT_TOKENS, COMPLETION_TOKENS, PROMPT_TOKENS + COMPLETION_TOKENS))
            .getBytes(StandardCharsets.UTF_8);

    /** One SSE frame per element: role, content deltas, finish. */
    private static final List<byte[]> STREAM = streamFrames();
    private static final byte[] USAGE_FRAME = frame(chunkJson("[]", """
            ,"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}"""
            .formatted(PROMPT_TOKENS, COMPLETION_TOKENS, PROMPT_TOKENS + COMPLETION_TOKENS)));
    private static final byte[] DONE_FRAME = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] NOT_FOUND = "{\"error\":{\"message\":\"not found\",\"type\":\"invalid_request_error\"}}"
            .getBytes(StandardCharsets.UTF_8);

    private BenchUpstream() {}

    public static void main(String[] args) throws InterruptedException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        HttpServer server = start(port, new Routes().post("/v1/chat/completions", BenchUpstream::chat));
        System.out.println("bench-upstream listening on " + server.port());
        System.out.flush();
        new CountDownLatch(1).await();
    }

    /** A scripted upstream's server: Carapace's, with room for many connections; unknown paths get a 404. */
    static HttpServer start(int port, Routes routes) {
        routes.otherwise(x -> {
            x.status(404);
            x.header("content-type", "application/json");
            x.send(NOT_FOUND);
        });
        return HttpServer.start(new HttpServer.Settings("127.0.0.1", port, 100_000, Duration.ofSeconds(10),
                Duration.ofMinutes(5), 16 * 1024), routes, (status, message, path, header) -> NOT_FOUND);
    }

    static void chat(Exchange x) throws IOException {
        byte[] body;
        try (InputStream in = x.body()) {
            body = in.readAllBytes();
        }
        if (!isTrue(body, "\"stream\"")) {
            x.header("content-type", "application/json");
            x.send(COMPLETION);
            return;
        }
        boolean usage = isTrue(body, "\"include_usage\"");
        x.header("content-type", "text/event-stream");
        x.header("cache-control", "no-cache");
        try (OutputStream out = x.outputStream()) {
            // Each frame is flushed on its own, as a model server sends tokens as they are generated.
            for (byte[] f : STREAM) {
                out.write(f);
                out.flush();
            }
            if (usage) {
                out.write(USAGE_FRAME);
                out.flush();
            }
            out.write(DONE_FRAME);
        }
    }

    /** Whether the JSON body has {@code key} followed by {@code : true} (whitespace allowed); no parsing. */
    static boolean isTrue(byte[] body, String key) {
        byte[] k = key.getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + k.length <= body.length; i++) {
            for (int j = 0; j < k.length; j++) {
                if (body[i + j] != k[j]) continue outer;
            }
            int p = i + k.length;
            while (p < body.length && isSpace(body[p])) p++;
            if (p >= body.length || body[p] != ':') continue;
            p++;
            while (p < body.length && isSpace(body[p])) p++;
            return p + 4 <= body.length && body[p] == 't' && body[p + 1] == 'r' && body[p + 2] == 'u' && body[p + 3] == 'e';
        }
        return false;
    }

    private static boolean isSpace(byte b) { return b == ' ' || b == '\n' || b == '\r' || b == '\t'; }

    private static List<byte[]> streamFrames() {
        List<byte[]> frames = new ArrayList<>();
        frames.add(frame(chunkJson("[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]", "")));
        for (String d : TEXT_DELTAS) {
            frames.add(frame(chunkJson("[{\"index\":0,\"delta\":{\"content\":\"" + d + "\"},\"finish_reason\":null}]", "")));
        }
        frames.add(frame(chunkJson("[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]", "")));
        return List.copyOf(frames);
    }

    private static String chunkJson(String choices, String extra) {
        return "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1763800000,"
                + "\"model\":\"bench-upstream\",\"choices\":" + choices + extra + "}";
    }

    private static byte[] frame(String json) {
        return ("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8);
    }
}
