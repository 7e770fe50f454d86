package dev.carapace.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-kind upstream on a raw socket that answers the first request of every connection and, on a kept-alive
 * connection, reads the whole next request and then resets the connection (SO_LINGER 0) without a byte of answer:
 * a server that may have processed the request but whose answer is lost. It counts every request it read in full.
 */
public final class ResettingUpstream implements AutoCloseable {

    private final ServerSocket server;
    private final AtomicInteger receipts = new AtomicInteger();
    private final AtomicInteger resets = new AtomicInteger();

    public ResettingUpstream() {
        try {
            server = new ServerSocket(0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread.ofVirtual().start(() -> serve(s));
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    public String openAiBaseUrl() { return "http://127.0.0.1:" + server.getLocalPort() + "/v1"; }

    /** Requests read in full, whatever became of them. */
    public int receipts() { return receipts.get(); }

    /** Requests read in full and then answered with a reset. */
    public int resets() { return resets.get(); }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            for (int n = 0; ; n++) {
                String body = readRequest(in);
                if (body == null) return;
                receipts.incrementAndGet();
                if (n > 0) {
                    resets.incrementAndGet();
                    s.setSoLinger(true, 0);
                    return;     // closing with linger 0 sends RST
                }
                out.write(answer(body.contains("\"stream\":true")));
                out.flush();
            }
        } catch (IOException e) {
            // the client went away
        }
    }

    private static byte[] answer(boolean stream) {
        String type, body;
        if (stream) {
            type = "text/event-stream";
            body = String.join("", ScriptedUpstream.openAiTextStream(List.of("from the resetting one"), 1, 1));
        } else {
            type = "application/json";
            body = """
                    {"id":"chatcmpl-r","object":"chat.completion","created":1,"model":"up",
                     "choices":[{"index":0,"message":{"role":"assistant","content":"from the resetting one"},"finish_reason":"stop"}],
                     "usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}""";
        }
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        byte[] head = ("HTTP/1.1 200 OK\r\ncontent-type: " + type + "\r\ncontent-length: " + b.length + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = new byte[head.length + b.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(b, 0, all, head.length, b.length);
        return all;
    }

    /** One request's body (its head read and dropped), or null when the client closed the connection. */
    private static String readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) return null;
            head.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        int length = 0;
        for (String line : head.toString(StandardCharsets.ISO_8859_1).split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) length = Integer.parseInt(line.substring(15).trim());
        }
        byte[] body = in.readNBytes(length);
        return body.length < length ? null : new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // nothing to save
        }
    }
}
