package dev.carapace.server.api;

import dev.carapace.agent.RunEvent;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.json.AgentJson;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Live events written to an HTTP response as server-sent events: {@code event: TYPE} and {@code data: JSON} per
 * event, and a comment line when nothing happened for a while, so idle proxies keep the connection and a client
 * that left is noticed. Subscribe it as the listener, then {@link #pump} on the request's thread. Run events
 * ({@link #runs}) and job events ({@code JobsApi}) share it; each kind brings its frame.
 */
final class EventStream<E> implements Consumer<E> {

    private static final byte[] HEARTBEAT = ": heartbeat\n\n".getBytes(StandardCharsets.US_ASCII);

    /** Bounded: when the client reads slowly, the runtime's own queue for this subscriber fills and it drops, not the run. */
    private final BlockingQueue<E> queue = new ArrayBlockingQueue<>(256);
    private final Duration heartbeat;
    private final Function<E, byte[]> frame;
    private volatile boolean done;

    EventStream(Duration heartbeat, Function<E, byte[]> frame) {
        this.heartbeat = heartbeat;
        this.frame = frame;
    }

    /** A stream of an agent run's or session's events. */
    static EventStream<RunEvent> runs(Duration heartbeat) {
        return new EventStream<>(heartbeat, EventStream::frame);
    }

    /**
     * For a publisher that must not wait (job events are published on the thread that runs the job): the event is
     * queued if there is room, else dropped for this stream only; false when it was dropped.
     */
    boolean offer(E event) {
        return !done && queue.offer(event);
    }

    /** Called on the runtime's delivery thread; waits for room while the stream is open. */
    @Override
    public void accept(E event) {
        try {
            while (!done) {
                if (queue.offer(event, 1, TimeUnit.SECONDS)) return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Answers 200 with the event stream and writes the events {@code include} accepts until one for which
     * {@code last} holds has gone out, the client leaves, the thread is interrupted, or the caller's key is revoked
     * (then an {@code error} event says so, and the stream ends).
     */
    void pump(Exchange x, KeyStanding standing, Predicate<E> include, Predicate<E> last) {
        x.status(200);
        x.header("content-type", "text/event-stream; charset=utf-8");
        x.header("cache-control", "no-cache");
        try (OutputStream out = x.outputStream()) {
            out.write(": connected\n\n".getBytes(StandardCharsets.US_ASCII));   // headers out now, not with the first event
            out.flush();
            long quietSince = System.nanoTime();
            while (true) {
                // Woken at least as often as the key is looked up, so a revoked key ends an idle stream too.
                E e = queue.poll(Math.min(heartbeat.toMillis(), KeyStanding.EVERY.toMillis()), TimeUnit.MILLISECONDS);
                if (standing.revoked()) {
                    out.write(frame("error", revoked(standing.message())));
                    out.flush();
                    return;
                }
                if (e == null) {
                    if (System.nanoTime() - quietSince < heartbeat.toNanos()) continue;
                    quietSince = System.nanoTime();
                    out.write(HEARTBEAT);
                } else if (include.test(e)) {
                    quietSince = System.nanoTime();
                    out.write(frame.apply(e));
                } else {
                    continue;
                }
                out.flush();
                if (e != null && last.test(e)) return;
            }
        } catch (IOException | UncheckedIOException gone) {
            // the client left; its subscription is closed by the caller
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            done = true;
            queue.clear();
        }
    }

    /** The error a connection's end carries when its key was revoked, in the API's shape. */
    static String revoked(String message) {
        com.fasterxml.jackson.databind.node.ObjectNode root = AgentJson.JSON.createObjectNode();
        root.putObject("error").put("message", message).put("type", "authentication_error").put("code", "revoked_api_key");
        return root.toString();
    }

    static byte[] frame(RunEvent e) {
        return frame(AgentJson.type(e), AgentJson.event(e).toString());
    }

    /** One event's frame: Jackson escapes line breaks inside strings, so the JSON is one data line. */
    static byte[] frame(String type, String json) {
        return ("event: " + type + "\ndata: " + json + "\n\n").getBytes(StandardCharsets.UTF_8);
    }
}
