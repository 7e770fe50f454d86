package dev.carapace.server.json;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.store.ApiKeys.StoredKey;

/** An API key as {@code /api/keys} and {@code carapace keys list --json} show it: never its secret, only its prefix. */
public final class KeyJson {

    private KeyJson() {}

    public static ObjectNode key(StoredKey k) {
        return AgentJson.JSON.createObjectNode().put("prefix", k.prefix()).put("user", k.user()).put("team", k.team())
                .put("role", k.role()).put("name", k.name()).put("created_at", k.createdAt().toString())
                .put("revoked_at", k.revokedAt() == null ? null : k.revokedAt().toString());
    }
}
