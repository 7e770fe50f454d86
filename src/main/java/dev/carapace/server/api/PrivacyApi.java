package dev.carapace.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.identity.Authenticator;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.privacy.Action;
import dev.carapace.privacy.Finding;
import dev.carapace.privacy.PrivacyRouter;
import dev.carapace.privacy.Redaction;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;

import java.io.IOException;
import java.util.List;
import java.util.Set;

/**
 * {@code POST /api/privacy/scan}: what the privacy router finds in a text and what the caller's policy would do with
 * it. Body {@code {"text": "...", "redact": false}}; answer {@code {"findings": [{type, class, start, end, confidence,
 * action}], "decision": ..., "router_enabled": ..., "redacted": ...}}, offsets in UTF-16 code units, end exclusive.
 */
public final class PrivacyApi {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpApi api;
    private final Authenticator auth;
    private final PrivacyRouter router;
    private final boolean enabled;

    /** @param enabled whether the router runs on model calls (the config has a privacy section) */
    public PrivacyApi(HttpApi api, Authenticator auth, PrivacyRouter router, boolean enabled) {
        this.api = api;
        this.auth = auth;
        this.router = router;
        this.enabled = enabled;
    }

    public void routes(Routes r) {
        r.post("/api/privacy/scan", x -> api.handleApi("privacy", x, () -> scan(x)));
    }

    private void scan(Exchange x) throws IOException {
        Principal p = auth.authenticate(Credentials.apiKey(x::headerLines));
        JsonNode in = HttpApi.parseJsonObject(api.body(x));
        for (var it = in.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!Set.of("text", "redact").contains(f)) throw ApiException.invalid(f, f + ": unknown field (expected text, redact)");
        }
        JsonNode t = in.get("text");
        if (t == null || t.isNull()) throw ApiException.invalid("text", "text: required (the text to scan)");
        if (!t.isTextual()) throw ApiException.invalid("text", "text: expected a string");
        JsonNode r = in.get("redact");
        if (r != null && !r.isNull() && !r.isBoolean()) throw ApiException.invalid("redact", "redact: expected true or false");
        String text = t.asText();

        List<Finding> findings = router.scanner().scan(text);
        ObjectNode body = JSON.createObjectNode();
        ArrayNode list = body.putArray("findings");
        Action decision = Action.ALLOW;
        for (Finding f : findings) {
            Action a = router.actionFor(p, f.dataClass());
            decision = decision.max(a);
            list.addObject().put("type", f.type()).put("class", f.dataClass()).put("start", f.start()).put("end", f.end())
                    .put("confidence", Math.round(f.confidence() * 100) / 100.0).put("action", a.label());
        }
        body.put("decision", decision.label());
        body.put("router_enabled", enabled);
        if (r != null && r.asBoolean()) {
            Redaction redaction = new Redaction();
            redaction.reserve(text);
            body.put("redacted", redaction.redact(text, findings, f -> true, false));
        }
        x.status(200);
        x.header("content-type", "application/json");
        x.send(JSON.writeValueAsBytes(body));
    }
}
