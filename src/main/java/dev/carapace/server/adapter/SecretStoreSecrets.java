package dev.carapace.server.adapter;

import dev.carapace.channel.ChannelException;
import dev.carapace.channel.Secrets;
import dev.carapace.guard.egress.SecretStore;

/** Channels' credentials from the config's {@code secrets:}, read at each use through the guard's secret store. */
public final class SecretStoreSecrets implements Secrets {

    private final SecretStore store;

    public SecretStoreSecrets(SecretStore store) { this.store = store; }

    @Override
    public String value(String name) throws ChannelException {
        try {
            return store.value(name);
        } catch (SecretStore.Unavailable e) {
            throw new ChannelException(e.getMessage(), true);   // names the secret and its variable, never a value
        }
    }

    @Override
    public boolean has(String name) { return store.has(name); }
}
