package dev.carapace.schedule;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Listeners of {@link JobEvent}s: the metrics, and each open event stream. A listener must not block (an event
 * stream queues on its own); one that throws is logged and kept.
 */
public final class JobEvents {

    private static final Logger log = LoggerFactory.getLogger(JobEvents.class);

    private final List<Consumer<JobEvent>> listeners = new CopyOnWriteArrayList<>();

    /** Adds {@code listener}; closing the result removes it. */
    public AutoCloseable subscribe(Consumer<JobEvent> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    void publish(JobEvent e) {
        for (Consumer<JobEvent> l : listeners) {
            try {
                l.accept(e);
            } catch (RuntimeException ex) {
                log.warn("a job event listener failed on {}", e.type(), ex);
            }
        }
    }
}
