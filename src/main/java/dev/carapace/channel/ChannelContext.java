package dev.carapace.channel;

import java.time.Clock;
import java.util.Objects;

/**
 * What every channel is built with: its spec (its kind's settings inside), its credentials, its own small state in
 * the store (an IMAP UID, a Telegram offset: {@link ChannelStore#state}), and the clock.
 */
public record ChannelContext(ChannelSpec spec, Secrets secrets, ChannelStore store, Clock clock) {

    public ChannelContext {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(secrets, "secrets");
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(clock, "clock");
    }
}
