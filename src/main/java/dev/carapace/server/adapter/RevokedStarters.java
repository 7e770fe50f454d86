package dev.carapace.server.adapter;

import dev.carapace.gateway.Call;
import dev.carapace.gateway.CallFilter;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.store.ApiKeys;

/**
 * Stops an agent run whose starter's API key was revoked while it ran: its next model call is refused (the run ends
 * failed), as a {@code /v1} call with that key would be. Runs started without a key (jobs, heartbeats, channels) carry
 * no key prefix and pass: what stops those is their owner's revocation. One lookup by prefix per model call of an
 * agent run; none for a {@code /v1} call, whose key was just checked.
 */
public final class RevokedStarters implements CallFilter {

    private final ApiKeys keys;

    public RevokedStarters(ApiKeys keys) { this.keys = keys; }

    @Override
    public void beforeRoute(Call call) {
        Principal p = call.principal();
        if (p.agent() == null || p.keyPrefix() == null) return;
        keys.findByPrefix(p.keyPrefix()).filter(ApiKeys.StoredKey::revoked).ifPresent(k -> {
            throw new ApiException(ApiException.Kind.PERMISSION, "The API key " + k.prefix() + " that started this run"
                    + " was revoked at " + k.revokedAt() + "; the run stops here.", null, "revoked_api_key", null, false);
        });
    }
}
