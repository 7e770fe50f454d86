package dev.carapace.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.guard.approval.ApprovalQueue;
import dev.carapace.guard.audit.AuditLog;
import dev.carapace.identity.Authenticator;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.server.json.AgentJson;
import dev.carapace.server.json.GuardJson;
import dev.carapace.store.AuditRecords;
import dev.carapace.store.AuditRecords.AuditRow;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;
import dev.carapace.text.Invisible;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;
import java.util.List;
import java.util.Set;

import static dev.carapace.text.Excerpt.clip;

/**
 * The guard's operator routes, all for admin keys: the audit log ({@code /api/audit}), pending approvals
 * ({@code /api/approvals}) and standing grants ({@code /api/grants}). Framed like every {@code /api} route by
 * {@link HttpApi#handleApi}.
 */
public final class GuardApi {

    private static final int MAX_LIMIT = 1000;

    private final HttpApi api;
    private final Authenticator auth;
    private final AuditRecords records;
    private final AuditLog audit;
    private final ApprovalQueue approvals;
    private final Clock clock;

    public GuardApi(HttpApi api, Authenticator auth, AuditRecords records, AuditLog audit, ApprovalQueue approvals, Clock clock) {
        this.api = api;
        this.auth = auth;
        this.records = records;
        this.audit = audit;
        this.approvals = approvals;
        this.clock = clock;
    }

    /** Registered before {@link HttpApi#routes}, whose catch-all answers everything else. */
    public void routes(Routes r) {
        r.get("/api/audit", x -> api.handleApi("guard", x, () -> searchAudit(x)))
         .get("/api/audit/verify", x -> api.handleApi("guard", x, () -> verify(x)))
         .get("/api/approvals", x -> api.handleApi("guard", x, () -> listApprovals(x)))
         .get("/api/approvals/{id}", x -> api.handleApi("guard", x, () -> getApproval(x)))
         .post("/api/approvals/{id}/approve", x -> api.handleApi("guard", x, () -> decide(x, true)))
         .post("/api/approvals/{id}/deny", x -> api.handleApi("guard", x, () -> decide(x, false)))
         .get("/api/grants", x -> api.handleApi("guard", x, () -> listGrants(x)))
         .delete("/api/grants/{id}", x -> api.handleApi("guard", x, () -> revokeGrant(x)));
    }

    // ---- audit ----

    /**
     * {@code ?agent=&session=&outcome=&layer=&since=&until=&limit=&before=}: newest first; {@code next_before}
     * pages further back.
     */
    private void searchAudit(Exchange x) {
        admin(x);
        onlyParams(x, Set.of("agent", "session", "outcome", "layer", "since", "until", "limit", "before"));
        Instant now = clock.instant();
        AuditRecords.Filter f;
        int limit;
        try {
            f = new AuditRecords.Filter(q(x, "agent"), q(x, "session"),
                    GuardJson.oneOf(q(x, "outcome"), GuardJson.OUTCOMES, "outcome"),
                    GuardJson.oneOf(q(x, "layer"), GuardJson.LAYERS, "layer"),
                    GuardJson.time(q(x, "since"), now, "since"), GuardJson.time(q(x, "until"), now, "until"),
                    number(x, "before", 0, 0, Long.MAX_VALUE));
            limit = (int) number(x, "limit", 100, 1, MAX_LIMIT);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalidNamed(e.getMessage(), null);
        }
        List<AuditRow> rows = records.search(f, limit);
        ObjectNode body = AgentJson.JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        rows.forEach(r -> data.add(GuardJson.audit(r)));
        body.put("next_before", rows.size() == limit ? rows.get(rows.size() - 1).seq() : null);
        HttpApi.sendJson(x, 200, body);
    }

    /** {@code ?anchor=SEQ:HASH} optional. 200 either way; {@code ok} says whether the chain is intact. */
    private void verify(Exchange x) {
        admin(x);
        onlyParams(x, Set.of("anchor"));
        try {
            HttpApi.sendJson(x, 200, GuardJson.verification(audit.verify(GuardJson.anchor(q(x, "anchor")))));
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("anchor", e.getMessage());
        }
    }

    // ---- approvals ----

    /** {@code ?status=pending|approved|rejected|expired|all} (default pending), {@code limit}. */
    private void listApprovals(Exchange x) {
        admin(x);
        onlyParams(x, Set.of("status", "limit"));
        String status = Objects.requireNonNullElse(x.query("status"), "pending");
        int limit;
        try {
            if (!status.equals("all")) GuardJson.oneOf(status, GuardJson.APPROVAL_STATUSES, "status");
            limit = (int) number(x, "limit", 100, 1, MAX_LIMIT);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalidNamed(e.getMessage() + (e.getMessage().startsWith("status") ? " (or all)" : ""), null);
        }
        Instant now = clock.instant();
        ObjectNode body = AgentJson.JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        approvals.list(status.equals("all") ? null : status, limit).forEach(a -> data.add(GuardJson.approval(a, now)));
        HttpApi.sendJson(x, 200, body);
    }

    private void getApproval(Exchange x) {
        admin(x);
        onlyParams(x, Set.of());
        String id = param(x, "id");
        HttpApi.sendJson(x, 200, GuardJson.approval(approvals.find(id).orElseThrow(() -> noApproval(id)), clock.instant()));
    }

    /**
     * Approve: {@code {"reason": "...", "remember": true, "target_pattern": "src/**"}}; deny: {@code {"reason": "..."}}.
     * An empty body is an empty object.
     */
    private void decide(Exchange x, boolean approve) throws IOException {
        Principal p = admin(x);
        onlyParams(x, Set.of());
        String id = param(x, "id");
        byte[] raw = api.body(x);
        JsonNode in = raw.length == 0 ? AgentJson.JSON.createObjectNode() : HttpApi.parseJsonObject(raw);
        Set<String> fields = approve ? Set.of("reason", "remember", "target_pattern") : Set.of("reason");
        for (var it = in.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!fields.contains(f)) {
                throw ApiException.invalid(f, f + ": unknown field (expected " + String.join(", ", new java.util.TreeSet<>(fields)) + ")");
            }
        }
        String reason = text(in, "reason");
        JsonNode remember = in.get("remember");
        if (remember != null && !remember.isNull() && !remember.isBoolean()) {
            throw ApiException.invalid("remember", "remember: expected true or false");
        }
        String pattern = text(in, "target_pattern");
        boolean remembering = remember != null && remember.asBoolean();
        if (pattern != null && !remembering) {
            throw ApiException.invalid("target_pattern", "target_pattern: only with \"remember\": true (it is the grant's pattern)");
        }
        String by = who(p);
        ApprovalQueue.Decided d;
        try {
            d = (approve ? approvals.approve(id, by, reason, remembering ? (pattern == null ? "" : pattern) : null)
                    : approvals.reject(id, by, reason)).orElseThrow(() -> noApproval(id));
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(e.getMessage().startsWith("target pattern") ? "target_pattern" : "reason", e.getMessage());
        }
        if (!d.changed()) {
            throw new ApiException(ApiException.Kind.INVALID_REQUEST, "Approval '" + id + "' is already "
                    + d.approval().status() + (d.approval().decidedBy() == null ? "" : " (by " + d.approval().decidedBy() + ")")
                    + "; only a pending approval can be decided.", "id", "approval_already_decided", null, false);
        }
        HttpApi.sendJson(x, 200, GuardJson.approval(d.approval(), clock.instant()));
    }

    // ---- grants ----

    /** {@code ?include_revoked=true} for revoked ones too. */
    private void listGrants(Exchange x) {
        admin(x);
        onlyParams(x, Set.of("include_revoked"));
        String all = Objects.requireNonNullElse(x.query("include_revoked"), "false");
        if (!all.equals("true") && !all.equals("false")) {
            throw ApiException.invalid("include_revoked", "include_revoked: expected true or false; got '" + clip(all, 60) + "'");
        }
        ObjectNode body = AgentJson.JSON.createObjectNode();
        ArrayNode data = body.putArray("data");
        approvals.grants(all.equals("true")).forEach(g -> data.add(GuardJson.grant(g)));
        HttpApi.sendJson(x, 200, body);
    }

    private void revokeGrant(Exchange x) {
        Principal p = admin(x);
        onlyParams(x, Set.of());
        String id = param(x, "id");
        if (!approvals.revoke(id, who(p))) {
            throw new ApiException(ApiException.Kind.NOT_FOUND, "No active grant '" + clip(id, 60) + "'. List them with "
                    + "GET /api/grants.", "id", "grant_not_found", null, false);
        }
        HttpApi.sendJson(x, 200, GuardJson.grant(approvals.grant(id).orElseThrow()));
    }

    // ---- helpers ----

    private Principal admin(Exchange x) {
        Principal p = auth.authenticate(Credentials.apiKey(x::headerLines));
        if (!p.isAdmin()) {
            throw new ApiException(ApiException.Kind.PERMISSION, "This endpoint needs an admin key; key " + p.keyPrefix()
                    + " belongs to a member.", null, "admin_required", null, false);
        }
        return p;
    }

    /** How an operator is named in approvals and the audit log: user and key prefix (never the key). */
    static String who(Principal p) {
        return (p.user() == null ? p.team() : p.user()) + " (key " + p.keyPrefix() + ")";
    }

    private static ApiException noApproval(String id) {
        return new ApiException(ApiException.Kind.NOT_FOUND, "No approval '" + clip(id, 60) + "'. List pending ones "
                + "with GET /api/approvals.", "id", "approval_not_found", null, false);
    }

    private static String q(Exchange x, String name) {
        String v = x.query(name);
        return v == null || v.isBlank() ? null : v.trim();
    }

    private static long number(Exchange x, String name, long fallback, long min, long max) {
        String v = q(x, name);
        if (v == null) return fallback;
        try {
            long n = Long.parseLong(v);
            if (n >= min && n <= max) return n;
        } catch (NumberFormatException e) {
            // described below
        }
        throw new IllegalArgumentException(name + ": expected a whole number from " + min + " to " + max + "; got '"
                + clip(v, 60) + "'");
    }

    private static void onlyParams(Exchange x, Set<String> allowed) {
        for (String name : x.queryNames()) {
            if (!allowed.contains(name)) {
                throw ApiException.invalid(name, name + ": unknown parameter" + (allowed.isEmpty() ? " (this endpoint takes none)"
                        : " (expected " + String.join(", ", new java.util.TreeSet<>(allowed)) + ")"));
            }
        }
    }

    private static String text(JsonNode in, String field) {
        JsonNode v = in.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw ApiException.invalid(field, field + ": expected a string");
        // kept in the audit log and shown in lists and terminals: what a reader sees must be what it is
        if (v.asText().codePoints().anyMatch(Invisible::is)) {
            throw ApiException.invalid(field, field + ": control, format and other invisible characters are not allowed");
        }
        return v.asText();
    }

    private static String param(Exchange x, String name) {
        return x.pathParam(name);
    }
}
