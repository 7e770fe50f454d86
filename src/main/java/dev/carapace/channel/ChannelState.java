package dev.carapace.channel;

import java.time.Clock;
import java.util.Optional;

/**
 * A channel's own small state in the store, by key: an IMAP folder's UIDVALIDITY and last UID, a Telegram offset.
 * Shared by every gateway on the database and kept across restarts; each channel sees only its own.
 */
public interface ChannelState {

    Optional<String> get(String key);

    /** Replaces the value of {@code key}; durable when it returns. */
    void put(String key, String value);

    /** The state of {@code channel} in {@code store}. */
    static ChannelState of(ChannelStore store, String channel, Clock clock) {
        return new ChannelState() {
            @Override
            public Optional<String> get(String key) { return store.state(channel, key); }

            @Override
            public void put(String key, String value) { store.putState(channel, key, value, clock.instant()); }
        };
    }
}
