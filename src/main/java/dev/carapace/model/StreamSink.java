package dev.carapace.model;

/** Receives the events of a streamed answer, in order, on the thread that reads the upstream. */
@FunctionalInterface
public interface StreamSink {
    void accept(StreamEvent event);

    /**
     * The reader has handed on every event the upstream has sent so far and is about to wait for more (see
     * {@link IdleSignallingInputStream}). A sink that writes to a client may hold events back until this call, so
     * that events which reached Carapace together leave in one write instead of one each. A reader that calls it
     * does so once before it starts reading and then before every wait; until a sink has seen a first call, it
     * cannot count on any and writes each event through. The gateway calls it once more when the answer is complete.
     */
    default void idle() { }

    /**
     * The answer is complete and the call recorded; called once, after the last event. A sink that writes to a client
     * ends its stream here, in the same write as the events it still holds. Must not throw: a client that has gone
     * by now changes nothing.
     */
    default void end() { }
}
