package dev.carapace.channel.webhook;

import dev.carapace.channel.ChannelException;
import dev.carapace.channel.Secrets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static dev.carapace.text.Excerpt.clip;

/**
 * Outbound webhooks, delivered at least once: a delivery is queued in the store ({@link DeliveryQueue}) before
 * {@link #enqueue} returns, then POSTed, signed per Standard Webhooks, through the {@link WebhookPoster} (the
 * egress proxy) until the receiver takes it.
 *
 * <ul>
 *   <li><b>Outcomes.</b> A 2xx is delivered. A 408, a 429, a 5xx, a timeout or a failed connection is tried again
 *       after {@link RetryTiming} (the receiver's {@code Retry-After} honoured), up to the delivery's attempts. Any
 *       other status (a 3xx is not followed; a 4xx says the request is wrong) and an egress refusal give it up at
 *       once.</li>
 *   <li><b>Same id on every attempt.</b> The {@code webhook-id} is made from what queued it and its idempotency key,
 *       so queuing the same answer twice (a crash between sending and recording) is one delivery, and every attempt
 *       carries the id the receiver dedupes on. The timestamp and signature are made fresh for each attempt, as the
 *       spec's tolerance check expects.</li>
 *   <li><b>Restarts and gateways.</b> Each gateway claims due deliveries for a while (the timeout and a margin);
 *       a claim lapses if its gateway dies, and is released when it stops cleanly, so a {@code kill -9} delays a
 *       delivery by at most the claim and loses none.</li>
 * </ul>
 */
public final class WebhookDeliveries implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WebhookDeliveries.class);
    /** How long a settled delivery's row (its status, for the receiver's questions and the logs) is kept. */
    static final Duration KEEP_SETTLED = Duration.ofDays(7);

    /**
     * How deliveries are paced.
     *
     * @param retry    the waits between attempts
     * @param timeout  one attempt's whole exchange
     * @param poll     the longest the queue goes unread (another gateway's deliveries, lapsed claims)
     * @param parallel attempts in flight at once on this gateway
     */
    public record Tuning(RetryTiming retry, Duration timeout, Duration poll, int parallel) {
        public static final Tuning DEFAULT = new Tuning(RetryTiming.DEFAULT, Duration.ofSeconds(30), Duration.ofSeconds(2), 32);
    }

    private final DeliveryQueue queue;
    private final WebhookPoster poster;
    private final Secrets secrets;
    private final Clock clock;
    private final String owner;
    private final Tuning tuning;
    private final Semaphore wake = new Semaphore(0);
    private final Semaphore slots;
    private final ExecutorService attempts = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("webhook-delivery-", 0).factory());
    private volatile boolean closed;
    private Thread loop;

    /** @param owner this gateway, in the queue's claims */
    public WebhookDeliveries(DeliveryQueue queue, WebhookPoster poster, Secrets secrets, Clock clock, String owner,
                             Tuning tuning) {
        this.queue = queue;
        this.poster = poster;
        this.secrets = secrets;
        this.clock = clock;
        this.owner = owner;
        this.tuning = tuning;
        this.slots = new Semaphore(tuning.parallel());
    }

    /**
     * Queues a POST of {@code body} to {@code url}; durable when it returns.
     *
     * @param origin      {@code channel:ID} or {@code job:ID}
     * @param caller      whose egress rules it goes out under
     * @param secrets     names of the keys it is signed with; empty: unsigned
     * @param idempotency the same for the same message, so queuing it again is no second delivery
     * @return the delivery's {@code webhook-id}
     */
    public String enqueue(String origin, String caller, URI url, List<String> secrets, byte[] body, int maxAttempts,
                          String idempotency) {
        String id = id(origin, idempotency);
        Instant now = clock.instant();
        if (queue.add(new Delivery(id, origin, caller, url, secrets, body, maxAttempts, 0, now), now)) {
            wake.release();
        } else {
            log.info("{}: delivery {} was queued before; not queued again", origin, id);
        }
        return id;
    }

    /** Where a delivery stands. */
    public Optional<DeliveryQueue.Status> status(String id) { return queue.status(id); }

    /** {@code msg_} and 32 hex digits of the origin and key's hash: stable, and nothing of the key shows. */
    static String id(String origin, String idempotency) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest((origin + "\u0000" + idempotency)
                    .getBytes(StandardCharsets.UTF_8));
            return "msg_" + HexFormat.of().formatHex(h, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Starts delivering what is due, including what a previous process left. */
    public synchronized void start() {
        if (loop != null) return;
        loop = Thread.ofPlatform().daemon().name("webhook-deliveries").start(this::run);
    }

    private void run() {
        Instant pruneAt = Instant.MIN;
        while (!closed) {
            try {
                Instant now = clock.instant();
                if (now.isAfter(pruneAt)) {
                    int n = queue.prune(now.minus(KEEP_SETTLED));
                    if (n > 0) log.info("webhook deliveries: {} settled before {} forgotten", n, now.minus(KEEP_SETTLED));
                    pruneAt = now.plus(Duration.ofHours(1));
                }
                int free = slots.availablePermits();
                if (free > 0) {
                    Duration lease = tuning.timeout().plusSeconds(30);
                    for (Delivery d : queue.claimDue(owner, now, now.plus(lease), free)) {
                        slots.acquire();
                        attempts.execute(() -> {
                            try {
                                attempt(d);
                            } finally {
                                slots.release();
                                wake.release();
                            }
                        });
                    }
                }
                long waitMillis = tuning.poll().toMillis();
                Optional<Instant> next = queue.nextDue();
                if (next.isPresent()) {
                    long until = Duration.between(clock.instant(), next.get()).toMillis();
                    waitMillis = Math.max(10, Math.min(waitMillis, until));
                }
                wake.tryAcquire(waitMillis, TimeUnit.MILLISECONDS);
                wake.drainPermits();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.warn("webhook deliveries: the queue could not be read; trying again in {}", tuning.poll(), e);
                try {
                    Thread.sleep(tuning.poll());
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** One attempt at {@code d}, and what it means for the next. */
    void attempt(Delivery d) {
        int n = d.attempts() + 1;
        String where = d.url().getScheme() + "://" + d.url().getHost() + (d.url().getPort() < 0 ? "" : ":" + d.url().getPort());
        Map<String, String> headers;
        try {
            headers = headers(d);
        } catch (ChannelException e) {
            retryOrFail(d, n, "its signing key cannot be read: " + e.getMessage(), null, where);
            return;
        }
        try {
            WebhookPoster.Response r = poster.post(d.caller(), d.url(), headers, d.body(), tuning.timeout());
            int s = r.status();
            if (s >= 200 && s < 300) {
                queue.delivered(d.id(), n, "HTTP " + s, clock.instant());
                log.info("{}: delivery {} to {} delivered on attempt {}", d.origin(), d.id(), where, n);
            } else if (s == 408 || s == 429 || s >= 500) {
                retryOrFail(d, n, "HTTP " + s, r.retryAfter(), where);
            } else {
                String why = s >= 300 && s < 400 ? "HTTP " + s + " (a redirect is not followed)" : "HTTP " + s
                        + " (the receiver refused it; not tried again)";
                giveUp(d, n, why, where);
            }
        } catch (WebhookPoster.Refused e) {
            giveUp(d, n, "the egress policy refused it: " + clip(e.getMessage(), 500), where);
        } catch (HttpTimeoutException e) {
            retryOrFail(d, n, "no answer within " + tuning.timeout().toSeconds() + " s", null, where);
        } catch (IOException e) {
            retryOrFail(d, n, "the request failed: " + e.getClass().getSimpleName(), null, where);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();   // stopping: the claim is released, the attempt not counted
        } catch (RuntimeException e) {
            log.warn("{}: delivery {}: attempt {} failed", d.origin(), d.id(), n, e);
            retryOrFail(d, n, "Carapace failed to send it", null, where);
        }
    }

    private Map<String, String> headers(Delivery d) throws ChannelException {
        List<byte[]> keys = new ArrayList<>();
        for (String name : d.secrets()) {
            try {
                keys.add(StandardWebhooks.key(secrets.value(name)));
            } catch (IllegalArgumentException e) {
                throw new ChannelException("secret '" + name + "' is empty", true);
            }
        }
        long ts = clock.instant().getEpochSecond();
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Content-Type", "application/json");
        h.put(StandardWebhooks.ID, d.id());
        h.put(StandardWebhooks.TIMESTAMP, Long.toString(ts));
        if (!keys.isEmpty()) h.put(StandardWebhooks.SIGNATURE, StandardWebhooks.signature(keys, d.id(), ts, d.body()));
        return h;
    }

    private void retryOrFail(Delivery d, int n, String why, String retryAfter, String where) {
        if (n >= d.maxAttempts()) {
            giveUp(d, n, why + "; gave up after " + n + (n == 1 ? " attempt" : " attempts"), where);
            return;
        }
        Instant now = clock.instant();
        Duration wait = tuning.retry().delay(n, retryAfter, now, ThreadLocalRandom.current());
        queue.retry(d.id(), n, now.plus(wait), why, now);
        log.info("{}: delivery {} to {}: attempt {} failed ({}); again in {} ms", d.origin(), d.id(), where, n, why,
                wait.toMillis());
    }

    private void giveUp(Delivery d, int n, String why, String where) {
        queue.failed(d.id(), n, why, clock.instant());
        log.warn("{}: delivery {} to {} given up on attempt {}: {}", d.origin(), d.id(), where, n, why);
    }

    /** Stops: attempts in flight are cut off uncounted, and this gateway's claims released for whoever is next. */
    @Override
    public void close() {
        closed = true;
        Thread t;
        synchronized (this) {
            t = loop;
        }
        if (t != null) t.interrupt();
        attempts.shutdownNow();
        try {
            if (t != null) t.join(5_000);
            attempts.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            queue.release(owner);
        } catch (RuntimeException e) {
            log.warn("webhook deliveries: claims not released; they lapse on their own", e);
        }
    }
}
