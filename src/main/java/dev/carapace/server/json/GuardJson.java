package dev.carapace.server.json;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.guard.audit.AuditChain;
import dev.carapace.store.ApprovalRecords;
import dev.carapace.store.ApprovalRecords.ApprovalRow;
import dev.carapace.store.ApprovalRecords.GrantRow;
import dev.carapace.store.AuditRecords.AuditRow;
import dev.carapace.text.Durations;

import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.Set;

import static dev.carapace.text.Excerpt.clip;

/** Audit records, approvals, grants and verifications as the API and the CLI show them; and their query inputs. */
public final class GuardJson {

    /** Every outcome a record is written with (a filter refusing one the log holds would hide those records). */
    public static final Set<String> OUTCOMES = Set.of("allow", "deny", "ask", "audit", "approved", "rejected", "expired", "revoked",
            "pending", "installed", "pinned", "removed", "sent", "failed", "refused", "redacted", "bound", "unbound", "allowed",
            "scrub", "redact", "private", "block");
    /** Every layer a record is written with: the guard's, and spawns (agent), privacy, skills and channels. */
    public static final Set<String> LAYERS = Set.of("tool", "filesystem", "network", "process", "approval", "policy", "skills",
            "channels", "agent", "privacy");
    public static final Set<String> APPROVAL_STATUSES = Set.of(ApprovalRecords.PENDING, ApprovalRecords.APPROVED,
            ApprovalRecords.REJECTED, ApprovalRecords.EXPIRED);

    private GuardJson() {}

    public static ObjectNode audit(AuditRow r) {
        return AgentJson.JSON.createObjectNode().put("seq", r.seq()).put("at", r.at().toString())
                .put("principal", r.principal()).put("agent", r.agent()).put("session", r.session())
                .put("layer", r.layer()).put("action", r.action()).put("target", r.target()).put("outcome", r.outcome())
                .put("rule", r.rule()).put("reason", r.reason()).put("prev_hash", r.prevHash()).put("hash", r.hash());
    }

    public static ObjectNode approval(ApprovalRow a, Instant now) {
        // A pending approval past its deadline whose waiter is gone reads as what it is.
        boolean stale = ApprovalRecords.PENDING.equals(a.status()) && !a.expiresAt().isAfter(now);
        return AgentJson.JSON.createObjectNode().put("id", a.id()).put("status", a.status())
                .put("overdue", stale).put("principal", a.principal()).put("agent", a.agent())
                .put("session", a.session()).put("run_id", a.runId()).put("call_id", a.callId()).put("tool", a.tool())
                .put("layer", a.layer()).put("target", a.target()).put("rule", a.rule()).put("reason", a.reason())
                .put("remedy", a.remedy()).put("created_at", a.createdAt().toString())
                .put("expires_at", a.expiresAt().toString())
                .put("decided_at", a.decidedAt() == null ? null : a.decidedAt().toString())
                .put("decided_by", a.decidedBy()).put("decision_reason", a.decisionReason()).put("grant_id", a.grantId());
    }

    public static ObjectNode grant(GrantRow g) {
        return AgentJson.JSON.createObjectNode().put("id", g.id()).put("rule", "grant:" + g.id()).put("agent", g.agent())
                .put("tool", g.tool()).put("target_pattern", g.targetPattern()).put("approval_id", g.approvalId())
                .put("created_by", g.createdBy()).put("created_at", g.createdAt().toString())
                .put("revoked_at", g.revokedAt() == null ? null : g.revokedAt().toString()).put("revoked_by", g.revokedBy());
    }

    public static ObjectNode verification(AuditChain.Verification v) {
        ObjectNode n = AgentJson.JSON.createObjectNode().put("ok", v.ok()).put("records", v.records())
                .put("head_seq", v.headSeq()).put("head_hash", v.headHash());
        ArrayNode problems = n.putArray("problems");
        for (AuditChain.Problem p : v.problems()) {
            problems.addObject().put("seq", p.seq()).put("kind", p.kind().name().toLowerCase(java.util.Locale.ROOT))
                    .put("message", p.message());
        }
        return n;
    }

    /**
     * A point in time as an operator types it: an ISO instant ({@code 2026-11-23T10:00:00Z}), a UTC date
     * ({@code 2026-11-23}), or an age ({@code 15m}, {@code 2h}, {@code 7d} ago, any duration {@link Durations} reads).
     *
     * @throws IllegalArgumentException naming {@code what} and the accepted forms
     */
    public static Instant time(String text, Instant now, String what) {
        if (text == null) return null;
        String t = text.trim();
        Instant at;
        try {
            Optional<Duration> age = Durations.parse(t);
            at = age.isPresent() ? now.minus(age.get()) : null;
        } catch (DateTimeException | ArithmeticException e) {
            throw new IllegalArgumentException(what + ": age '" + clip(t, 60) + "' reaches before the start of time");
        }
        try {
            if (at == null) at = t.length() == 10 ? LocalDate.parse(t).atStartOfDay(ZoneOffset.UTC).toInstant() : Instant.parse(t);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(what + ": expected an ISO instant (2026-11-23T10:00:00Z), a date "
                    + "(2026-11-23, UTC) or an age (15m, 2h, 7d); got '" + clip(t, 60) + "'");
        }
        // Instant reaches a billion years either way, epoch milliseconds (what the stores compare) 292 million.
        if (at.isBefore(EARLIEST) || at.isAfter(LATEST)) {
            throw new IllegalArgumentException(what + ": '" + clip(t, 60) + "' is outside the years 1 to 9999");
        }
        return at;
    }

    private static final Instant EARLIEST = Instant.parse("0001-01-01T00:00:00Z"), LATEST = Instant.parse("9999-12-31T23:59:59.999Z");

    /** {@code value} when it is one of {@code allowed}; else a message naming them. */
    public static String oneOf(String value, Set<String> allowed, String what) {
        if (value == null || allowed.contains(value)) return value;
        throw new IllegalArgumentException(what + ": expected one of " + String.join(", ", new java.util.TreeSet<>(allowed))
                + "; got '" + clip(value, 60) + "'");
    }

    /** The anchor of {@code carapace audit verify --anchor SEQ:HASH}. */
    public static AuditChain.Anchor anchor(String text) {
        if (text == null) return null;
        int colon = text.indexOf(':');
        try {
            if (colon > 0) {
                long seq = Long.parseLong(text.substring(0, colon));
                String hash = text.substring(colon + 1).toLowerCase(java.util.Locale.ROOT);
                if (seq > 0 && hash.matches("[0-9a-f]{64}")) return new AuditChain.Anchor(seq, hash);
            }
        } catch (NumberFormatException e) {
            // described below
        }
        throw new IllegalArgumentException("anchor: expected SEQ:HASH as printed by 'carapace audit verify' "
                + "(e.g. 1042:3f9a...64 hex digits); got '" + clip(text, 60) + "'");
    }

}
