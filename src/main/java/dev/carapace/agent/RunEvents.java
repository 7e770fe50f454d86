package dev.carapace.agent;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Live events of runs, per run and per session. Publishing never blocks the run: every subscriber has its own
 * bounded queue and its own (virtual) delivery thread. When a subscriber's queue is full, events are dropped for
 * it and a {@link RunEvent.Dropped} with their count takes their place once there is room again; a run's final
 * status is never dropped, so a slow reader still learns how the run ended.
 */
public final class RunEvents implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RunEvents.class);

    /** Events a subscriber may fall behind by before it loses some. */
    public static final int DEFAULT_QUEUE = 1024;

    private final int queueCapacity;
    private final Map<String, List<Subscriber>> byRun = new ConcurrentHashMap<>();
    private final Map<String, List<Subscriber>> bySession = new ConcurrentHashMap<>();

    public RunEvents() { this(DEFAULT_QUEUE); }

    public RunEvents(int queueCapacity) {
        if (queueCapacity < 2) throw new IllegalArgumentException("queueCapacity must be at least 2");
        this.queueCapacity = queueCapacity;
    }

    /** A subscription; closing it stops delivery (events already handed to the listener are not taken back). */
    public interface Subscription extends AutoCloseable {
        @Override
        void close();

        /** Events this subscriber lost because it was too slow. */
        long dropped();
    }

    /**
     * Delivers the events of one run to {@code listener}, on a thread of its own, until (and including) the run's
     * final status; then the subscription closes itself. A listener that throws is unsubscribed.
     */
    public Subscription subscribeRun(String runId, Consumer<RunEvent> listener) {
        return add(byRun, runId, listener, true);
    }

    /** Delivers the events of every run of one session until closed. */
    public Subscription subscribeSession(String sessionKey, Consumer<RunEvent> listener) {
        return add(bySession, sessionKey, listener, false);
    }

    private Subscription add(Map<String, List<Subscriber>> index, String key, Consumer<RunEvent> listener, boolean untilEnd) {
        Subscriber s = new Subscriber(index, key, listener, untilEnd);
        index.compute(key, (k, l) -> {
            List<Subscriber> list = l != null ? l : new CopyOnWriteArrayList<>();
            list.add(s);
            return list;
        });
        s.start();
        return s;
    }

    /** Hands {@code event} to every subscriber of its run and session without waiting for any of them. */
    void publish(RunEvent event) {
        deliver(byRun.get(event.runId()), event);
        deliver(bySession.get(event.sessionKey()), event);
    }

    /** Hands {@code event} to one subscription only (e.g. the final status of a run that ended before it subscribed). */
    void publishTo(Subscription subscription, RunEvent event) {
        if (subscription instanceof Subscriber s) s.offer(event);
    }

    private static void deliver(List<Subscriber> subscribers, RunEvent event) {
        if (subscribers == null) return;
        for (Subscriber s : subscribers) s.offer(event);
    }

    @Override
    public void close() {
        byRun.values().forEach(l -> l.forEach(Subscriber::close));
        bySession.values().forEach(l -> l.forEach(Subscriber::close));
    }

    private final class Subscriber implements Subscription {
        private final Map<String, List<Subscriber>> index;
        private final String key;
        private final Consumer<RunEvent> listener;
        private final boolean untilEnd;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition ready = lock.newCondition();
        private final ArrayDeque<RunEvent> queue = new ArrayDeque<>();
        private long pendingDrops;
        private long dropped;
        private boolean closed;
        private Thread thread;

        Subscriber(Map<String, List<Subscriber>> index, String key, Consumer<RunEvent> listener, boolean untilEnd) {
            this.index = index;
            this.key = key;
            this.listener = listener;
            this.untilEnd = untilEnd;
        }

        void start() {
            thread = Thread.ofVirtual().name("run-events-" + key).start(this::loop);
        }

        void offer(RunEvent e) {
            lock.lock();
            try {
                if (closed) return;
                // The mark goes where the loss was; a run's end always gets in, with its mark before it.
                if (pendingDrops > 0 && (queue.size() < queueCapacity || e.isTerminal())) {
                    queue.add(new RunEvent.Dropped(e.runId(), e.sessionKey(), pendingDrops));
                    pendingDrops = 0;
                }
                if (queue.size() < queueCapacity || e.isTerminal()) {
                    queue.add(e);
                    ready.signal();
                } else {
                    pendingDrops++;
                    dropped++;
                }
            } finally {
                lock.unlock();
            }
        }

        private void loop() {
            while (true) {
                RunEvent e;
                lock.lock();
                try {
                    while (queue.isEmpty() && !closed) ready.awaitUninterruptibly();
                    if (closed) return;
                    e = queue.poll();
                } finally {
                    lock.unlock();
                }
                try {
                    listener.accept(e);
                } catch (RuntimeException failure) {
                    log.warn("run event listener for {} failed; unsubscribed", key, failure);
                    close();
                    return;
                }
                if (untilEnd && e.isTerminal()) {
                    close();
                    return;
                }
            }
        }

        @Override
        public void close() {
            lock.lock();
            try {
                if (closed) return;
                closed = true;
                queue.clear();
                ready.signal();
            } finally {
                lock.unlock();
            }
            index.computeIfPresent(key, (k, l) -> {
                l.remove(this);
                return l.isEmpty() ? null : l;
            });
        }

        @Override
        public long dropped() {
            lock.lock();
            try {
                return dropped;
            } finally {
                lock.unlock();
            }
        }
    }
}
