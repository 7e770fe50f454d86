package dev.carapace.channel;

import java.time.Clock;
import java.util.Objects;

/**
 * What every channel is built with: its spec (its kind's settings inside), its credentials, its own small state in
 * the store, and the clock.
 */
public record ChannelContext(ChannelSpec spec, Secrets secrets, ChannelState state, Clock clock) {

    public ChannelContext {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(secrets, "secrets");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(clock, "clock");
    }

    /** With the channel's state in {@code store}. */
    public ChannelContext(ChannelSpec spec, Secrets secrets, ChannelStore store, Clock clock) {
        this(spec, secrets, ChannelState.of(store, spec.id(), clock), clock);
    }
}
