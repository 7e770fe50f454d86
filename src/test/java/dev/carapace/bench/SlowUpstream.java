package dev.carapace.bench;

import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.HttpServer;
import dev.carapace.server.http.Routes;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A slow scripted model server for the agent benchmark: every {@code POST /v1/chat/completions} is answered with
 * an OpenAI SSE stream of {@code deltas} text pieces, {@code gapMillis} apart, then usage. Each stream holds a
 * connection open for deltas x gap, so thousands of agent runs are streaming at once. Pre-rendered bytes and a
 * virtual thread per request (Carapace's HTTP server, {@link HttpServer}) keep it cheap; it never parses the request.
 *
 * <p>Run as its own process: {@code SlowUpstream PORT DELTAS GAP_MS}; prints {@code slow-upstream listening on
 * PORT}, then every 5 s the streams open now and at most.
 */
public final class SlowUpstream {

    private static final AtomicInteger open = new AtomicInteger();
    private static final AtomicInteger peak = new AtomicInteger();
    private static final AtomicInteger served = new AtomicInteger();

    private SlowUpstream() {}

    public static void main(String[] args) throws InterruptedException {
        int port = Integer.parseInt(args[0]);
        int deltas = Integer.parseInt(args[1]);
        long gap = Long.parseLong(args[2]);
        byte[] first = frame("{\"role\":\"assistant\",\"content\":\"\"}", null);
        byte[] piece = frame("{\"content\":\"word \"}", null);
        byte[] stop = frame("{}", "\"stop\"");
        byte[] usage = ("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"slow\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":" + deltas + ",\"total_tokens\":" + (100 + deltas)
                + "}}\n\ndata: [DONE]\n\n").getBytes(StandardCharsets.UTF_8);
        HttpServer server = BenchUpstream.start(port, new Routes().post("/v1/chat/completions",
                x -> stream(x, deltas, gap, first, piece, stop, usage)));
        System.out.println("slow-upstream listening on " + server.port());
        Thread.ofPlatform().daemon().start(() -> {
            while (true) {
                try {
                    Thread.sleep(5000);
                } catch (InterruptedException e) {
                    return;
                }
                System.out.println("open " + open.get() + " peak " + peak.get() + " served " + served.get());
            }
        });
        new CountDownLatch(1).await();
    }

    private static void stream(Exchange x, int deltas, long gap, byte[] first, byte[] piece, byte[] stop, byte[] usage)
            throws IOException {
        try (InputStream in = x.body()) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        peak.accumulateAndGet(open.incrementAndGet(), Math::max);
        try {
            x.header("content-type", "text/event-stream");
            try (OutputStream out = x.outputStream()) {
                out.write(first);
                out.flush();
                for (int i = 0; i < deltas; i++) {
                    try {
                        Thread.sleep(gap);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    out.write(piece);
                    out.flush();
                }
                out.write(stop);
                out.write(usage);
            }
            served.incrementAndGet();
        } finally {
            open.decrementAndGet();
        }
    }

    private static byte[] frame(String delta, String finish) {
        return ("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"slow\",\"choices\":[{\"index\":0,"
                + "\"delta\":" + delta + ",\"finish_reason\":" + (finish == null ? "null" : finish) + "}]}\n\n")
                .getBytes(StandardCharsets.UTF_8);
    }
}
