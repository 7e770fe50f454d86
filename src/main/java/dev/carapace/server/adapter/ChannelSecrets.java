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
            // names the secret and its reference, never a value; a file being rotated may be back on the next try
            throw new ChannelException(e.getMessage(), true);
        }
    }

    @Override
    public boolean has(String name) { return store.has(name); }
}
