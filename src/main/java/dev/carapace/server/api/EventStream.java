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
import java.util.function.Predicate;

/**
 * Run events written to an HTTP response as server-sent events: {@code event: TYPE} and {@code data: JSON} per
 * event, and a comment line when nothing happened for a while, so idle proxies keep the connection and a client
 * that left is noticed. Subscribe it as the listener, then {@link #pump} on the request's thread.
 */
final class EventStream implements Consumer<RunEvent> {

    private static final byte[] HEARTBEAT = ": heartbeat\n\n".getBytes(StandardCharsets.US_ASCII);

    /** Bounded: when the client reads slowly, the runtime's own queue for this subscriber fills and it drops, not the run. */
    private final BlockingQueue<RunEvent> queue = new ArrayBlockingQueue<>(256);
    private final Duration heartbeat;
    private volatile boolean done;

    EventStream(Duration heartbeat) {
        this.heartbeat = heartbeat;
    }

    /** Called on the runtime's delivery thread; waits for room while the stream is open. */
    @Override
    public void accept(RunEvent event) {
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
     * {@code last} holds has gone out, the client leaves, or the thread is interrupted.
     */
    void pump(Exchange x, Predicate<RunEvent> include, Predicate<RunEvent> last) {
        x.status(200);
        x.header("content-type", "text/event-stream; charset=utf-8");
        x.header("cache-control", "no-cache");
        try (OutputStream out = x.outputStream()) {
            out.write(": connected\n\n".getBytes(StandardCharsets.US_ASCII));   // headers out now, not with the first event
            out.flush();
            while (true) {
                RunEvent e = queue.poll(heartbeat.toMillis(), TimeUnit.MILLISECONDS);
                if (e == null) {
                    out.write(HEARTBEAT);
                } else if (include.test(e)) {
                    out.write(frame(e));
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

    static byte[] frame(RunEvent e) {
        // Jackson escapes line breaks inside strings, so the JSON is one data line.
        return ("event: " + AgentJson.type(e) + "\ndata: " + AgentJson.event(e) + "\n\n").getBytes(StandardCharsets.UTF_8);
    }
}
