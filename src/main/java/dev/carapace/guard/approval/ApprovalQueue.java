package dev.carapace.guard.approval;

import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;
import dev.carapace.guard.policy.CommandLine;
import dev.carapace.store.ApprovalRecords;
import dev.carapace.store.ApprovalRecords.ApprovalRow;
import dev.carapace.store.ApprovalRecords.GrantRow;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Human approvals of guard decisions that said {@code ask}, and the standing grants operators make of them.
 *
 * <p>The store is the truth: an approval is a row that moves once from {@code pending} to approved, rejected or
 * expired, by a conditional update, so an operator, a timeout and another gateway racing each other end with exactly
 * one outcome. A waiter of this process is woken at once by a decision made through this queue; a decision made
 * elsewhere (the CLI, another gateway on the same PostgreSQL) is seen by polling the row every {@code poll}.
 *
 * <p>Every outcome goes to the audit log (layer {@code approval}, outcome approved/rejected/expired, the deciding
 * operator in the reason), written by whoever made the transition. A waiter that is interrupted (its run was
 * stopped) withdraws its approval as expired; {@link #expireAbandoned} does the same for approvals a previous
 * process left behind.
 */
public final class ApprovalQueue {

    /** How long a run waits for an operator unless configured otherwise: within an agent's default max_wall (10m). */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
    static final Duration DEFAULT_POLL = Duration.ofSeconds(1);
    /** How stale the in-memory grants may get before they are read again (grants made by another process). */
    private static final long GRANTS_TTL_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final int MAX_REASON = 500;
    static final String TIMED_OUT = "approval timed out";
    static final String WITHDRAWN = "the run ended before a decision";
    static final String ABANDONED = "the gateway restarted while this approval was pending";

    /** What the guard asked about. Only names, the target and the guard's words: never argument values or secrets. */
    public record Request(String principal, String agent, String session, String runId, String callId, String tool,
                          String layer, String target, String rule, String reason, String remedy) {}

    /** A decision attempt: the approval as it is now, and whether this attempt decided it. */
    public record Decided(ApprovalRow approval, boolean changed) {}

    private record Compiled(GrantRow row, TargetPattern pattern) {}

    private record GrantSnapshot(List<Compiled> grants, long loadedAt) {}

    private final ApprovalRecords records;
    private final AuditSink audit;
    private final Clock clock;
    private final Duration timeout;
    private final Duration poll;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, CompletableFuture<ApprovalRow>> waiters = new ConcurrentHashMap<>();
    private volatile GrantSnapshot grants;

    /**
     * @param timeout how long {@link #await} waits before the approval expires (a denial)
     * @param poll    how often a waiter reads its approval for decisions made by another process
     */
    public ApprovalQueue(ApprovalRecords records, AuditSink audit, Clock clock, Duration timeout, Duration poll) {
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive");
        this.records = records;
        this.audit = audit;
        this.clock = clock;
        this.timeout = timeout;
        this.poll = poll;
    }

    public ApprovalQueue(ApprovalRecords records, AuditSink audit, Clock clock, Duration timeout) {
        this(records, audit, clock, timeout, DEFAULT_POLL);
    }

    public Duration timeout() { return timeout; }

    // ---- the waiting side ---------------------------------------------------------------------------------------------

    /** Stores a pending approval for {@code r}, expiring after the timeout. */
    public ApprovalRow open(Request r) {
        Instant now = clock.instant();
        ApprovalRow row = new ApprovalRow(newId("apr_"), ApprovalRecords.PENDING, r.principal(), r.agent(), r.session(),
                r.runId(), r.callId(), r.tool(), r.layer(), r.target(), r.rule(), r.reason(), r.remedy(), now,
                now.plus(timeout), null, null, null, null);
        waiters.put(row.id(), new CompletableFuture<>());   // before anyone can know the id: no decision is missed
        try {
            records.insert(row);
        } catch (RuntimeException e) {
            waiters.remove(row.id());
            throw e;
        }
        return row;
    }

    /**
     * Waits for {@code pending} (from {@link #open}) to be decided, at most until the timeout, when it expires.
     * Returns the approval as decided.
     *
     * @throws InterruptedException the waiter was interrupted; the approval has been withdrawn (expired)
     */
    public ApprovalRow await(ApprovalRow pending) throws InterruptedException {
        CompletableFuture<ApprovalRow> decided = waiters.computeIfAbsent(pending.id(), id -> new CompletableFuture<>());
        long deadline = System.nanoTime() + Duration.between(pending.createdAt(), pending.expiresAt()).toNanos();
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return expire(pending.id(), TIMED_OUT);
                try {
                    return decided.get(Math.min(left, poll.toNanos()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    ApprovalRow now = records.find(pending.id()).orElse(null);
                    if (now == null) return expire(pending.id(), TIMED_OUT);   // deleted under us: treat as expired
                    if (!ApprovalRecords.PENDING.equals(now.status())) return now;
                } catch (ExecutionException e) {
                    throw new IllegalStateException("approval waiter failed", e.getCause());
                }
            }
        } catch (InterruptedException e) {
            expire(pending.id(), WITHDRAWN);
            throw e;
        } finally {
            waiters.remove(pending.id());
        }
    }

    private ApprovalRow expire(String id, String why) {
        Instant now = clock.instant();
        if (records.decide(id, ApprovalRecords.EXPIRED, "carapace", why, now, null)) {
            records.find(id).ifPresent(a -> audited(a, null));
        }
        return records.find(id).orElseThrow(() -> new IllegalStateException("approval " + id + " vanished"));
    }

    /**
     * Expires pending approvals nobody waits for: those of runs that are no longer running (a restart cut them off)
     * and those past their deadline. Call after the agent runtime has marked the cut-off runs interrupted.
     */
    public List<ApprovalRow> expireAbandoned() {
        List<ApprovalRow> cut = records.expireAbandoned(clock.instant(), ABANDONED);
        for (ApprovalRow a : cut) records.find(a.id()).ifPresent(now -> audited(now, null));
        return cut;
    }

    // ---- the operator side --------------------------------------------------------------------------------------------

    /**
     * Approves a pending approval. With {@code rememberPattern} (a {@link TargetPattern} glob; the empty string for
     * exactly this target), also stores a standing grant for the agent, the tool and that target pattern.
     *
     * @return empty when there is no such approval; else the approval, {@code changed} false if it was already decided
     * @throws IllegalArgumentException a bad pattern or reason, with what is expected
     */
    public Optional<Decided> approve(String id, String by, String reason, String rememberPattern) {
        return decide(id, ApprovalRecords.APPROVED, by, reason, rememberPattern);
    }

    /** Rejects a pending approval; see {@link #approve}. */
    public Optional<Decided> reject(String id, String by, String reason) {
        return decide(id, ApprovalRecords.REJECTED, by, reason, null);
    }

    private Optional<Decided> decide(String id, String status, String by, String reason, String rememberPattern) {
        if (by == null || by.isBlank()) throw new IllegalArgumentException("who decided: required");
        if (reason != null && reason.length() > MAX_REASON) {
            throw new IllegalArgumentException("reason: at most " + MAX_REASON + " characters; got " + reason.length());
        }
        ApprovalRow before = records.find(id).orElse(null);
        if (before == null) return Optional.empty();
        GrantRow grant = null;
        Instant now = clock.instant();
        if (rememberPattern != null) {
            String glob = rememberPattern.isEmpty() ? TargetPattern.exact(before.target()) : rememberPattern;
            TargetPattern.of(glob);   // refuses a bad pattern before anything changes
            grant = new GrantRow(newId("grt_"), before.agent(), before.tool(), glob, id, by, now, null, null);
        }
        if (!records.decide(id, status, by, reason == null || reason.isBlank() ? null : reason, now, grant)) {
            return Optional.of(new Decided(records.find(id).orElse(before), false));
        }
        if (grant != null) grants = null;   // reload on next use
        ApprovalRow after = records.find(id).orElseThrow();
        audited(after, grant);
        CompletableFuture<ApprovalRow> waiter = waiters.get(id);
        if (waiter != null) waiter.complete(after);
        return Optional.of(new Decided(after, true));
    }

    public Optional<ApprovalRow> find(String id) { return records.find(id); }

    /** Approvals with {@code status} (null: any), newest first. */
    public List<ApprovalRow> list(String status, int limit) { return records.list(status, limit); }

    // ---- grants -------------------------------------------------------------------------------------------------------

    /** The oldest active grant letting {@code agent} call {@code tool} on {@code target}, if any. */
    public Optional<GrantRow> grantFor(String agent, String tool, String target) {
        if (tool.equals("exec") && target != null && !CommandLine.isPlain(target)) return Optional.empty();
        GrantSnapshot g = grants;
        if (g == null || System.nanoTime() - g.loadedAt() > GRANTS_TTL_NANOS) g = reloadGrants();
        for (Compiled c : g.grants()) {
            if (c.row().agent().equals(agent) && c.row().tool().equals(tool) && c.pattern().matches(target)) {
                return Optional.of(c.row());
            }
        }
        return Optional.empty();
    }

    private GrantSnapshot reloadGrants() {
        List<Compiled> list = new ArrayList<>();
        for (GrantRow r : records.grants(false)) {
            try {
                list.add(new Compiled(r, TargetPattern.of(r.targetPattern())));
            } catch (IllegalArgumentException bad) {
                // a pattern that does not compile grants nothing
            }
        }
        GrantSnapshot g = new GrantSnapshot(List.copyOf(list), System.nanoTime());
        grants = g;
        return g;
    }

    public List<GrantRow> grants(boolean includeRevoked) { return records.grants(includeRevoked); }

    public Optional<GrantRow> grant(String id) { return records.grant(id); }

    /** Revokes an active grant; false when there is none with that id. */
    public boolean revoke(String id, String by) {
        GrantRow g = records.grant(id).orElse(null);
        if (g == null || !records.revokeGrant(id, by, clock.instant())) return false;
        grants = null;
        audit.record(new AuditEvent(clock.instant(), null, g.agent(), null, "approval", g.tool(), g.targetPattern(),
                "revoked", "grant:" + g.id(), "grant " + g.id() + " revoked by " + by));
        return true;
    }

    // ---- helpers -------------------------------------------------------------------------------------------------------

    private void audited(ApprovalRow a, GrantRow grant) {
        StringBuilder why = new StringBuilder("approval ").append(a.id()).append(' ').append(a.status()).append(" by ")
                .append(a.decidedBy());
        if (a.decisionReason() != null) why.append(": ").append(a.decisionReason());
        if (grant != null) {
            why.append(" (remembered as grant ").append(grant.id()).append(" for target pattern '")
                    .append(grant.targetPattern()).append("')");
        }
        audit.record(new AuditEvent(a.decidedAt() != null ? a.decidedAt() : clock.instant(), a.principal(), a.agent(),
                a.session(), "approval", a.tool(), a.target(), a.status(), a.rule(), why.toString()));
    }

    private String newId(String prefix) {
        byte[] b = new byte[8];
        random.nextBytes(b);
        return prefix + java.util.HexFormat.of().formatHex(b).toLowerCase(Locale.ROOT);
    }
}
