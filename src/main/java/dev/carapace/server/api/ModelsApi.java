package dev.carapace.server.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.gateway.Gateway;
import dev.carapace.identity.Principal;
import dev.carapace.model.Portfolio;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;

import java.util.Locale;

import static dev.carapace.server.api.HttpApi.ANTHROPIC_VERSION;
import static dev.carapace.server.api.HttpApi.sendJson;
import static dev.carapace.server.json.AgentJson.JSON;

/**
 * The model list, {@code GET /v1/models} and {@code GET /v1/models/{id}}: the models the caller's team may use, in
 * OpenAI's shape, or Anthropic's for a client that sends {@code anthropic-version}.
 */
public final class ModelsApi {

    private final HttpApi api;
    private final Gateway gateway;

    public ModelsApi(HttpApi api, Gateway gateway) {
        this.api = api;
        this.gateway = gateway;
    }

    /** Registered before {@link HttpApi#routes}, whose catch-all answers everything else. */
    public void routes(Routes r) {
        r.get("/v1/models", x -> api.handleEitherApi("models", x, () -> models(x)))
         .get("/v1/models/{id}", x -> api.handleEitherApi("models", x, () -> model(x)));
    }

    private void models(Exchange x) {
        Principal p = api.authenticate(x);
        var visible = gateway.portfolio().visible(gateway.access(p.team()));
        ObjectNode body = JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        boolean anthropicShape = x.hasHeader(ANTHROPIC_VERSION);
        for (Portfolio.Entry e : visible) data.add(modelJson(e, anthropicShape));
        if (anthropicShape) {
            body.put("has_more", false);
            body.put("first_id", visible.isEmpty() ? null : visible.get(0).id());
            body.put("last_id", visible.isEmpty() ? null : visible.get(visible.size() - 1).id());
        } else {
            body.put("object", "list");
        }
        sendJson(x, 200, body);
    }

    private void model(Exchange x) {
        Principal p = api.authenticate(x);
        String id = x.pathParam("id");
        Portfolio.Entry e = gateway.portfolio().resolve(id, gateway.access(p.team()), "Team '" + p.team() + "'");
        sendJson(x, 200, modelJson(e, x.hasHeader(ANTHROPIC_VERSION)));
    }

    private static ObjectNode modelJson(Portfolio.Entry e, boolean anthropicShape) {
        ObjectNode m = JSON.createObjectNode();
        if (anthropicShape) {
            m.put("type", "model").put("id", e.id()).put("display_name", e.id()).put("created_at", "1970-01-01T00:00:00Z");
        } else {
            m.put("id", e.id()).put("object", "model").put("created", 0).put("owned_by", "carapace");
        }
        m.put("tier", e.tier());
        m.put("kind", e.spec().kind().label());
        m.put("context_window", e.spec().contextWindow());
        m.put("max_output_tokens", e.spec().maxOutputTokens());
        m.put("privacy", e.spec().privacy().name().toLowerCase(Locale.ROOT));
        return m;
    }
}
