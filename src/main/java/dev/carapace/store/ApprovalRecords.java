package dev.carapace.store;

import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Pending approvals and standing grants. An approval's status moves once, from {@code pending} to
 * {@code approved}, {@code rejected} or {@code expired}; every transition is a conditional update, so when an
 * operator, another gateway and a timeout race, exactly one wins and the others learn who did.
 */
public final class ApprovalRecords {

    /** Statuses: pending, then exactly one of the others. */
    public static final String PENDING = "pending", APPROVED = "approved", REJECTED = "rejected", EXPIRED = "expired";

    public record ApprovalRow(String id, String status, String principal, String agent, String session, String runId,
                              String callId, String tool, String layer, String target, String rule, String reason,
                              String remedy, Instant createdAt, Instant expiresAt, Instant decidedAt, String decidedBy,
                              String decisionReason, String grantId) {
        public ApprovalRow {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(status, "status");
            Objects.requireNonNull(agent, "agent");
            Objects.requireNonNull(tool, "tool");
            Objects.requireNonNull(createdAt, "createdAt");
            Objects.requireNonNull(expiresAt, "expiresAt");
        }
    }

    public record GrantRow(String id, String agent, String tool, String targetPattern, String approvalId,
                           String createdBy, Instant createdAt, Instant revokedAt, String revokedBy) {
        public GrantRow {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(agent, "agent");
            Objects.requireNonNull(tool, "tool");
            Objects.requireNonNull(targetPattern, "targetPattern");
            Objects.requireNonNull(createdBy, "createdBy");
            Objects.requireNonNull(createdAt, "createdAt");
        }
    }

    private static final String COLUMNS = "id, status, principal, agent, session, run_id, call_id, tool, layer, target, "
            + "rule, reason, remedy, created_at, expires_at, decided_at, decided_by, decision_reason, grant_id";
    private static final String GRANT_COLUMNS = "id, agent, tool, target_pattern, approval_id, created_by, created_at, "
            + "revoked_at, revoked_by";

    private static final RowMapper<ApprovalRow> ROW = (rs, ctx) -> new ApprovalRow(rs.getString("id"),
            rs.getString("status"), rs.getString("principal"), rs.getString("agent"), rs.getString("session"),
            rs.getString("run_id"), rs.getString("call_id"), rs.getString("tool"), rs.getString("layer"),
            rs.getString("target"), rs.getString("rule"), rs.getString("reason"), rs.getString("remedy"),
            Instant.ofEpochMilli(rs.getLong("created_at")), Instant.ofEpochMilli(rs.getLong("expires_at")),
            Times.nullableInstant(rs, "decided_at"), rs.getString("decided_by"), rs.getString("decision_reason"),
            rs.getString("grant_id"));

    private static final RowMapper<GrantRow> GRANT = (rs, ctx) -> new GrantRow(rs.getString("id"), rs.getString("agent"),
            rs.getString("tool"), rs.getString("target_pattern"), rs.getString("approval_id"), rs.getString("created_by"),
            Instant.ofEpochMilli(rs.getLong("created_at")), Times.nullableInstant(rs, "revoked_at"),
            rs.getString("revoked_by"));

    private final Store store;

    ApprovalRecords(Store store) { this.store = store; }

    public void insert(ApprovalRow a) {
        store.write("create approval", h -> h.createUpdate("INSERT INTO approvals (" + COLUMNS + ") VALUES (:id, :status, "
                        + ":principal, :agent, :session, :run, :call, :tool, :layer, :target, :rule, :reason, :remedy, "
                        + ":created, :expires, :decidedAt, :decidedBy, :decisionReason, :grant)")
                .bind("id", a.id()).bind("status", a.status()).bind("principal", a.principal()).bind("agent", a.agent())
                .bind("session", a.session()).bind("run", a.runId()).bind("call", a.callId()).bind("tool", a.tool())
                .bind("layer", a.layer()).bind("target", a.target()).bind("rule", a.rule()).bind("reason", a.reason())
                .bind("remedy", a.remedy()).bind("created", a.createdAt().toEpochMilli())
                .bind("expires", a.expiresAt().toEpochMilli()).bind("decidedAt", Times.nullableMillis(a.decidedAt()))
                .bind("decidedBy", a.decidedBy()).bind("decisionReason", a.decisionReason()).bind("grant", a.grantId())
                .execute());
    }

    public Optional<ApprovalRow> find(String id) {
        return store.read("find approval", h -> h.createQuery("SELECT " + COLUMNS + " FROM approvals WHERE id = :id")
                .bind("id", id).map(ROW).findOne());
    }

    /** Approvals with {@code status} (null: any), newest first. */
    public List<ApprovalRow> list(String status, int limit) {
        return store.read("list approvals", h -> {
            var q = h.createQuery("SELECT " + COLUMNS + " FROM approvals"
                    + (status == null ? "" : " WHERE status = :status") + " ORDER BY created_at DESC, id LIMIT :limit");
            if (status != null) q.bind("status", status);
            return q.bind("limit", limit).map(ROW).list();
        });
    }

    /**
     * Moves a pending approval to {@code status}, and when {@code grant} is given stores it in the same transaction.
     * Returns false, changing nothing, when the approval is not pending (any more).
     */
    public boolean decide(String id, String status, String by, String reason, Instant at, GrantRow grant) {
        return store.write("decide approval", h -> {
            int rows = h.createUpdate("UPDATE approvals SET status = :status, decided_at = :at, decided_by = :by, "
                            + "decision_reason = :reason, grant_id = :grant WHERE id = :id AND status = 'pending'")
                    .bind("status", status).bind("at", at.toEpochMilli()).bind("by", by).bind("reason", reason)
                    .bind("grant", grant == null ? null : grant.id()).bind("id", id).execute();
            if (rows == 0) return false;
            if (grant != null) insertGrant(h, grant);
            return true;
        });
    }

    /**
     * Expires every pending approval that nobody can be waiting for any more: past its deadline, or belonging to a
     * run that is no longer queued or running (cut off by a restart). Returns the approvals as they were.
     */
    public List<ApprovalRow> expireAbandoned(Instant now, String reason) {
        return store.write("expire abandoned approvals", h -> {
            String where = " WHERE status = 'pending' AND (expires_at <= :now OR (run_id IS NOT NULL AND NOT EXISTS "
                    + "(SELECT 1 FROM agent_runs r WHERE r.id = approvals.run_id AND r.status IN ('queued', 'running'))))";
            List<ApprovalRow> cut = h.createQuery("SELECT " + COLUMNS + " FROM approvals" + where + " ORDER BY created_at, id")
                    .bind("now", now.toEpochMilli()).map(ROW).list();
            for (ApprovalRow a : cut) {
                h.createUpdate("UPDATE approvals SET status = 'expired', decided_at = :at, decided_by = 'carapace', "
                                + "decision_reason = :reason WHERE id = :id AND status = 'pending'")
                        .bind("at", now.toEpochMilli()).bind("reason", reason).bind("id", a.id()).execute();
            }
            return cut;
        });
    }

    private static void insertGrant(Handle h, GrantRow g) {
        h.createUpdate("INSERT INTO approval_grants (" + GRANT_COLUMNS + ") VALUES (:id, :agent, :tool, :pattern, "
                        + ":approval, :by, :at, :revokedAt, :revokedBy)")
                .bind("id", g.id()).bind("agent", g.agent()).bind("tool", g.tool()).bind("pattern", g.targetPattern())
                .bind("approval", g.approvalId()).bind("by", g.createdBy()).bind("at", g.createdAt().toEpochMilli())
                .bind("revokedAt", Times.nullableMillis(g.revokedAt())).bind("revokedBy", g.revokedBy()).execute();
    }

    /** Grants, oldest first; revoked ones only when {@code includeRevoked}. */
    public List<GrantRow> grants(boolean includeRevoked) {
        return store.read("list grants", h -> h.createQuery("SELECT " + GRANT_COLUMNS + " FROM approval_grants"
                        + (includeRevoked ? "" : " WHERE revoked_at IS NULL") + " ORDER BY created_at, id")
                .map(GRANT).list());
    }

    public Optional<GrantRow> grant(String id) {
        return store.read("find grant", h -> h.createQuery("SELECT " + GRANT_COLUMNS + " FROM approval_grants WHERE id = :id")
                .bind("id", id).map(GRANT).findOne());
    }

    /** Revokes an active grant; false when there is none with that id. */
    public boolean revokeGrant(String id, String by, Instant at) {
        return store.write("revoke grant", h -> h.createUpdate("UPDATE approval_grants SET revoked_at = :at, revoked_by = :by "
                        + "WHERE id = :id AND revoked_at IS NULL")
                .bind("at", at.toEpochMilli()).bind("by", by).bind("id", id).execute()) > 0;
    }
}
