package dev.carapace.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.identity.Authenticator;
import dev.carapace.identity.KeyAdmin;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;
import dev.carapace.server.json.AgentJson;
import dev.carapace.server.json.KeyJson;
import dev.carapace.store.ApiKeys.StoredKey;

import java.io.IOException;
import java.util.Locale;
import java.util.Set;

import static dev.carapace.text.Excerpt.clip;

/**
 * The API keys: whom the caller's key names ({@code /api/me}), and for admins the keys themselves
 * ({@code /api/keys}: list, create, revoke). Framed like every {@code /api} route by {@link HttpApi#handleApi}.
 */
public final class KeysApi {

    private final HttpApi api;
    private final Authenticator auth;
    private final KeyAdmin keyAdmin;

    public KeysApi(HttpApi api, Authenticator auth, KeyAdmin keyAdmin) {
        this.api = api;
        this.auth = auth;
        this.keyAdmin = keyAdmin;
    }

    /** Registered before {@link HttpApi#routes}, whose catch-all answers everything else. */
    public void routes(Routes r) {
        r.get("/api/me", x -> api.handleApi("api", x, () -> me(x)))
         .get("/api/keys", x -> api.handleApi("api", x, () -> listKeys(x)))
         .post("/api/keys", x -> api.handleApi("api", x, () -> createKey(x)))
         .delete("/api/keys/{prefix}", x -> api.handleApi("api", x, () -> revokeKey(x)));
    }

    private void me(Exchange x) {
        Principal p = api.authenticate(x);
        HttpApi.sendJson(x, 200, AgentJson.JSON.createObjectNode().put("org", p.org()).put("team", p.team())
                .put("user", p.user()).put("role", p.role().name().toLowerCase(Locale.ROOT))
                .put("key_prefix", p.keyPrefix()));
    }

    private void listKeys(Exchange x) {
        api.requireAdmin(x);
        AgentApi.noQuery(x);
        ObjectNode body = AgentJson.JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        for (StoredKey k : keyAdmin.list()) data.add(KeyJson.key(k));
        HttpApi.sendJson(x, 200, body);
    }

    private void createKey(Exchange x) throws IOException {
        api.requireAdmin(x);
        JsonNode in = HttpApi.parseJsonObject(api.body(x));
        for (var it = in.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!Set.of("user", "team", "role", "name").contains(f)) {
                throw ApiException.invalid(f, f + ": unknown field (expected user, team, role, name)");
            }
        }
        String roleText = HttpApi.text(in, "role", "member");
        Principal.Role role = switch (roleText) {
            case "admin" -> Principal.Role.ADMIN;
            case "member" -> Principal.Role.MEMBER;
            default -> throw ApiException.invalid("role", "role: expected 'admin' or 'member'; got '"
                    + clip(roleText, 60) + "'");
        };
        KeyAdmin.Created created = keyAdmin.create(HttpApi.text(in, "user", null), HttpApi.text(in, "team", null),
                role, HttpApi.text(in, "name", null));
        ObjectNode body = KeyJson.key(created.key());
        body.put("key", created.secret());
        HttpApi.sendJson(x, 201, body);
    }

    private void revokeKey(Exchange x) {
        api.requireAdmin(x);
        String prefix = x.pathParam("prefix");
        if (!keyAdmin.revoke(prefix)) {
            throw new ApiException(ApiException.Kind.NOT_FOUND, "No active key has prefix '" + clip(prefix, 60) + "'.",
                    "prefix", "key_not_found", null, false);
        }
        auth.forget(prefix);
        HttpApi.sendJson(x, 200, AgentJson.JSON.createObjectNode().put("prefix", prefix).put("revoked", true));
    }
}
