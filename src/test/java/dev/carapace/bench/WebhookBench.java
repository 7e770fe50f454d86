package dev.carapace.bench;

import dev.carapace.channel.Access;
import dev.carapace.channel.AgentRoute;
import dev.carapace.channel.ChannelContext;
import dev.carapace.channel.ChannelException;
import dev.carapace.channel.ChannelSpec;
import dev.carapace.channel.HookRequest;
import dev.carapace.channel.HookResponse;
import dev.carapace.channel.Inbox;
import dev.carapace.channel.Secrets;
import dev.carapace.channel.UnknownSenders;
import dev.carapace.channel.webhook.StandardWebhooks;
import dev.carapace.channel.webhook.WebhookChannel;
import dev.carapace.channel.webhook.WebhookSettings;
import dev.carapace.server.adapter.StoreChannels;
import dev.carapace.store.Store;
import org.HdrHistogram.Histogram;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Inbound webhooks (issue 18): what a webhook channel takes per second, each request verified (Standard Webhooks
 * HMAC-SHA256, timestamp), parsed, and stored durably in the inbox (the channel messages table of a real SQLite
 * store, as the hub's receive does) before it is answered 202. The requests are signed beforehand, so the figures are
 * the receiver's cost only; the HTTP front door is not in them (its floor is in BENCHMARKS.md).
 *
 * <pre>WebhookBench DATA_DIR REQUESTS CONCURRENCY BODY_BYTES</pre>
 */
public final class WebhookBench {

    private static final String KEY = "whsec_" + java.util.Base64.getEncoder().encodeToString("bench-key-0123456789".getBytes());

    private WebhookBench() {}

    public static void main(String[] args) throws Exception {
        Path dir = Files.createDirectories(Path.of(args[0]));
        int requests = Integer.parseInt(args[1]);
        int concurrency = Integer.parseInt(args[2]);
        int bodyBytes = Integer.parseInt(args[3]);
        try (Store store = Store.open("jdbc:sqlite:" + dir.resolve("carapace.db"), null, null, 8)) {
            StoreChannels channels = new StoreChannels(store.channelRows());
            ChannelSpec spec = new ChannelSpec("crm", "webhook", List.of(new AgentRoute("*", "helper", Access.ALLOW)),
                    UnknownSenders.PAIR, ChannelSpec.DEFAULT_MAX_ATTACHMENT_BYTES, ChannelSpec.DEFAULT_ATTACHMENT_TYPES,
                    new WebhookSettings(List.of("k"), Duration.ofMinutes(5), URI.create("https://x.test/"), List.of(), 3,
                            List.of(), 1 << 20));
            Secrets secrets = new Secrets() {
                @Override
                public String value(String name) { return KEY; }

                @Override
                public boolean has(String name) { return true; }
            };
            WebhookChannel channel = new WebhookChannel(new ChannelContext(spec, secrets, channels, Clock.systemUTC()), null);
            // the hub's receive: the message stored once per channel and id, under a new inbox id
            Inbox inbox = m -> {
                try {
                    return channels.insert("msg_" + UUID.randomUUID().toString().replace("-", ""), m, m.receivedAt());
                } catch (RuntimeException e) {
                    throw new ChannelException("not stored", true, e);
                }
            };
            channel.start(inbox);
            String text = "x".repeat(Math.max(1, bodyBytes - 60));
            System.out.printf("webhook inbound: %d requests, %d concurrent, body %d bytes, sqlite %s, %d cpus%n",
                    requests, concurrency, bodyBytes, dir, Runtime.getRuntime().availableProcessors());
            run("warmup", channel, signed(Math.min(requests, 5_000), text), concurrency);
            run("sequential", channel, signed(Math.min(requests, 5_000), text), 1);
            run("concurrent", channel, signed(requests, text), concurrency);
            run("replayed", channel, replays(Math.min(requests, 20_000), text), concurrency);
        }
    }

    private static List<HookRequest> signed(int n, String text) {
        List<HookRequest> out = new ArrayList<>(n);
        long ts = System.currentTimeMillis() / 1000;
        for (int i = 0; i < n; i++) {
            String id = "msg_" + UUID.randomUUID();
            byte[] body = ("{\"text\":\"" + text + "\",\"sender\":\"u" + (i % 100) + "\",\"conversation\":\"c" + (i % 1000)
                    + "\"}").getBytes(StandardCharsets.UTF_8);
            out.add(new HookRequest("", Map.of("webhook-id", id, "webhook-timestamp", Long.toString(ts),
                    "webhook-signature", StandardWebhooks.sign(StandardWebhooks.key(KEY), id, ts, body)), body, "bench"));
        }
        return out;
    }

    /** The same few signed requests again and again: what a replay flood costs (verify, then the dedupe's 200). */
    private static List<HookRequest> replays(int n, String text) {
        List<HookRequest> few = signed(10, text);
        List<HookRequest> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(few.get(i % few.size()));
        return out;
    }

    private static void run(String name, WebhookChannel channel, List<HookRequest> requests, int concurrency)
            throws InterruptedException {
        ConcurrentLinkedQueue<HookRequest> queue = new ConcurrentLinkedQueue<>(requests);
        Histogram latency = new Histogram(60_000_000_000L, 3);
        AtomicInteger bad = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int c = 0; c < concurrency; c++) {
            threads.add(Thread.ofVirtual().start(() -> {
                HookRequest r;
                while ((r = queue.poll()) != null) {
                    long s = System.nanoTime();
                    HookResponse resp = channel.receive(r);
                    long took = System.nanoTime() - s;
                    synchronized (latency) {
                        latency.recordValue(took);
                    }
                    if (resp.status() != 202 && resp.status() != 200) bad.incrementAndGet();
                }
            }));
        }
        for (Thread t : threads) t.join();
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("%-10s %7d requests in %6.2f s: %8.0f req/s, p50 %.3f ms, p99 %.3f ms, max %.1f ms, not taken %d%n",
                name, requests.size(), seconds, requests.size() / seconds, latency.getValueAtPercentile(50) / 1e6,
                latency.getValueAtPercentile(99) / 1e6, latency.getMaxValue() / 1e6, bad.get());
    }
}
