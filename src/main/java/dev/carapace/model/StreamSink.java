package dev.carapace.model;

/** Receives the events of a streamed answer, in order, on the thread that reads the upstream. */
@FunctionalInterface
public interface StreamSink {
    void accept(StreamEvent event);
}
