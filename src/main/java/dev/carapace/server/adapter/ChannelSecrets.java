package dev.carapace.server.adapter;

import dev.carapace.channel.ChannelException;
import dev.carapace.channel.Secrets;
import dev.carapace.guard.egress.SecretStore;

/** Channels' credentials from the config's {@code secrets:}, read at each use so a rotated file takes effect. */
public final class ChannelSecrets implements Secrets {

    private final SecretStore store;

    public ChannelSecrets(SecretStore store) { this.store = store; }

    @Override
    public String value(String name) throws ChannelException {
        try {
            return store.value(name);
        } catch (SecretStore.Unavailable e) {
            throw new ChannelException(e.getMessage(), false);
        }
    }

    @Override
    public boolean has(String name) { return store.has(name); }
}
