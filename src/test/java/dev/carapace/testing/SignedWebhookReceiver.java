package dev.carapace.testing;

import com.sun.net.httpserver.HttpServer;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A webhook receiver on loopback that checks Standard Webhooks signatures the way the spec says a receiver does
 * (written here from the spec, not with Carapace's code): HMAC-SHA256 with the key after {@code whsec_}
 * base64-decoded, over {@code id.timestamp.body}, any {@code v1,} entry matching. Answers the statuses queued by
 * {@link #answer}, then 200.
 */
public final class SignedWebhookReceiver implements AutoCloseable {

    /** One POST as received. */
    public record Received(String id, String timestamp, String signature, String body, int answered, long atNanos) {}

    private record Answer(int status, String retryAfter) {}

    private final HttpServer server;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final Deque<Answer> answers = new ConcurrentLinkedDeque<>();
    private volatile CountDownLatch until = new CountDownLatch(0);

    public SignedWebhookReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/hook", exchange -> {
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readAllBytes();
            }
            Answer a = answers.pollFirst();
            int status = a == null ? 200 : a.status();
            Received r = new Received(exchange.getRequestHeaders().getFirst("webhook-id"),
                    exchange.getRequestHeaders().getFirst("webhook-timestamp"),
                    exchange.getRequestHeaders().getFirst("webhook-signature"), new String(body, StandardCharsets.UTF_8),
                    status, System.nanoTime());
            if (a != null && a.retryAfter() != null) exchange.getResponseHeaders().add("Retry-After", a.retryAfter());
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
            synchronized (SignedWebhookReceiver.this) {
                received.add(r);
                until.countDown();
            }
        });
        server.start();
    }

    public int port() { return server.getAddress().getPort(); }

    public String url() { return "http://127.0.0.1:" + port() + "/hook"; }

    /** The next POSTs are answered {@code status}, with a {@code Retry-After} when not null. */
    public void answer(int status, String retryAfter) { answers.addLast(new Answer(status, retryAfter)); }

    /** Waits for {@code n} POSTs in all (at most 10 s); the list of all received. */
    public List<Received> await(int n) throws InterruptedException {
        CountDownLatch latch;
        synchronized (this) {
            latch = new CountDownLatch(Math.max(0, n - received.size()));
            until = latch;
        }
        if (!latch.await(10, TimeUnit.SECONDS)) throw new AssertionError("expected " + n + " POSTs, got " + received.size());
        return received();
    }

    public List<Received> received() { return new ArrayList<>(received); }

    /** Whether a {@code v1} entry of {@code r}'s signature is the one {@code secret} makes, per the spec. */
    public static boolean verifies(Received r, String secret) {
        if (r.signature() == null) return false;
        try {
            byte[] key = secret.startsWith("whsec_") ? Base64.getDecoder().decode(secret.substring(6))
                    : secret.getBytes(StandardCharsets.UTF_8);
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] expected = mac.doFinal((r.id() + "." + r.timestamp() + "." + r.body()).getBytes(StandardCharsets.UTF_8));
            for (String part : r.signature().split(" ")) {
                if (part.startsWith("v1,") && MessageDigest.isEqual(expected, Base64.getDecoder().decode(part.substring(3)))) {
                    return true;
                }
            }
            return false;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() { server.stop(0); }
}
