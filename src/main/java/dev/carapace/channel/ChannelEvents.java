package dev.carapace.channel;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Listeners of {@link ChannelEvent}s: the metrics, and each open event stream. A listener must not block; one that
 * throws is logged and kept.
 */
public final class ChannelEvents {

    private static final Logger log = LoggerFactory.getLogger(ChannelEvents.class);

    private final List<Consumer<ChannelEvent>> listeners = new CopyOnWriteArrayList<>();

    /** Adds {@code listener}; closing the result removes it. */
    public AutoCloseable subscribe(Consumer<ChannelEvent> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    void publish(ChannelEvent e) {
        for (Consumer<ChannelEvent> l : listeners) {
            try {
                l.accept(e);
            } catch (RuntimeException ex) {
                log.warn("a channel event listener failed on {}", e.type(), ex);
            }
        }
    }
}
