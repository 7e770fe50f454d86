package dev.carapace.model;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The cap on open upstream connections, one for every provider together: each open connection holds a file
 * descriptor, kept-alive idle ones included, and the process has a fixed number of them. A new connection takes a
 * permit and gives it back when it closes. When none is free, an idle kept-alive connection (of any provider) is
 * closed to free one; failing that, the call waits a moment for one, then is refused with {@link Exhausted}.
 *
 * <p>Running out here, or out of descriptors ({@link OutOfDescriptors}), is Carapace's own state, not the
 * upstream's: {@link Router} never counts it against a deployment's health.
 */
public final class UpstreamConnections {

    /** How long a call waits for a connection to free up before it is refused. */
    public static final Duration DEFAULT_WAIT = Duration.ofSeconds(1);

    private final int max;
    private final long waitNanos;
    private final Semaphore permits;
    /** The clients whose idle connections may be closed to make room. */
    private final List<Http1Client> clients = new CopyOnWriteArrayList<>();

    /**
     * @param max  open upstream connections at most, at least 1
     * @param wait how long a call waits for a free connection before it is refused
     */
    public UpstreamConnections(int max, Duration wait) {
        if (max < 1) throw new IllegalArgumentException("max must be at least 1, not " + max);
        this.max = max;
        this.waitNanos = Math.max(0, wait.toNanos());
        this.permits = new Semaphore(max);
    }

    /** No cap worth the name: for a provider built on its own (tests, tools). */
    public static UpstreamConnections unlimited() {
        return new UpstreamConnections(Integer.MAX_VALUE, Duration.ZERO);
    }

    public int max() { return max; }

    /** Upstream connections open now, idle ones included. */
    public int open() { return max - permits.availablePermits(); }

    void register(Http1Client client) { clients.add(client); }

    void unregister(Http1Client client) { clients.remove(client); }

    /**
     * Takes a permit for one new connection: at once if one is free or an idle connection can be closed for it,
     * else within the wait.
     *
     * @throws Exhausted              when none freed up in time
     * @throws InterruptedIOException when the caller was interrupted while waiting
     */
    void acquire() throws IOException {
        do {
            if (permits.tryAcquire()) return;
        } while (closeAnIdle());
        try {
            if (waitNanos > 0 && permits.tryAcquire(waitNanos, TimeUnit.NANOSECONDS)) return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for an upstream connection");
        }
        throw new Exhausted(max);
    }

    /** Gives back the permit of a connection that closed (or was never opened). */
    void release() { permits.release(); }

    /**
     * Whether a call is waiting for a permit: a connection that finishes its exchange is then closed rather than
     * kept idle, so that its permit goes to that call.
     */
    boolean contended() { return permits.hasQueuedThreads(); }

    private boolean closeAnIdle() {
        for (Http1Client c : clients) {
            if (c.closeEldestIdle()) return true;
        }
        return false;
    }

    /** Whether {@code e}, or what caused it, is the kernel refusing a descriptor (EMFILE or ENFILE). */
    public static boolean outOfDescriptors(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = t.getMessage();
            if (m != null && m.contains("Too many open files")) return true;
        }
        return false;
    }

    /** Every permit is taken: {@code server.max_upstream_connections} connections are open, none idle. */
    static final class Exhausted extends IOException {
        Exhausted(int max) {
            super("all " + max + " upstream connections Carapace may open are in use");
        }
    }

    /** The process (EMFILE) or the system (ENFILE) had no file descriptor left for a new connection. */
    static final class OutOfDescriptors extends IOException {
        OutOfDescriptors(IOException cause) {
            super("no file descriptor left for an upstream connection (" + cause.getMessage() + ")", cause);
        }
    }
}
