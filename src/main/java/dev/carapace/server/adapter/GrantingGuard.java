package dev.carapace.server.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.FileGate;
import dev.carapace.agent.Guard;
import dev.carapace.agent.UrlGate;
import dev.carapace.guard.ActingFor;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;
import dev.carapace.guard.approval.ApprovalQueue;
import dev.carapace.store.ApprovalRecords.GrantRow;

import java.time.Clock;
import java.util.Optional;

/**
 * Standing grants in front of a guard: a call the guard would put to an operator ({@code ask}) is allowed without
 * asking when an operator approved the same agent, tool and target pattern with "remember". The grant is looked up
 * after the guard has decided, for two reasons: only the guard knows the call's target (it reads it out of the
 * arguments), and a grant must never override a {@code deny}, since deny rules win.
 */
public final class GrantingGuard implements Guard {

    private final Guard policy;
    private final ApprovalQueue approvals;
    private final AuditSink audit;
    private final Clock clock;
    private final ActingFor actingFor;

    public GrantingGuard(Guard policy, ApprovalQueue approvals, AuditSink audit, Clock clock, ActingFor actingFor) {
        this.policy = policy;
        this.approvals = approvals;
        this.audit = audit;
        this.clock = clock;
        this.actingFor = actingFor;
    }

    @Override
    public Decision decide(String agentId, String sessionKey, String tool, JsonNode arguments) {
        Decision d = policy.decide(agentId, sessionKey, tool, arguments);
        if (d == null || d.verdict() != Decision.Verdict.ASK) return d;
        Optional<GrantRow> grant = approvals.grantFor(agentId, tool, d.target());
        if (grant.isEmpty()) return d;
        String rule = "grant:" + grant.get().id();
        audit.record(new AuditEvent(clock.instant(), actingFor.principal(agentId, sessionKey), agentId, sessionKey, d.layer(), tool,
                d.target(), "allow", rule, "standing grant " + grant.get().id() + " (approved by "
                + grant.get().createdBy() + ") covers what rule " + d.rule() + " would ask about"));
        return new Decision(Decision.Verdict.ALLOW, null, rule, d.layer(), d.target(), null);
    }

    /** Grants only answer "ask"; the file rules enforced at the touch are the guard's own. */
    @Override
    public FileGate files(String agentId, String sessionKey) {
        return policy.files(agentId, sessionKey);
    }

    @Override
    public UrlGate urls(String agentId, String sessionKey) {
        return policy.urls(agentId, sessionKey);
    }
}
