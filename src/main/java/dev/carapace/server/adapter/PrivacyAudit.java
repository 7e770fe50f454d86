package dev.carapace.server.adapter;

import dev.carapace.gateway.Call;
import dev.carapace.gateway.CallFilter;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;
import dev.carapace.identity.Principal;

import java.time.Clock;
import java.util.stream.Collectors;

/**
 * Puts the privacy router's decisions on agents' model calls into the guard's audit log: the decision and the
 * classes and types found with their counts, never the values. Calls from {@code /v1} keep theirs in the usage
 * record only; an agent's actions are what the audit log answers for.
 */
public final class PrivacyAudit implements CallFilter {

    private final AuditSink audit;
    private final Clock clock;

    public PrivacyAudit(AuditSink audit, Clock clock) {
        this.audit = audit;
        this.clock = clock;
    }

    @Override
    public void completed(Call call) {
        Principal p = call.principal();
        Call.Screening s = call.screening();
        if (p.agent() == null || s == null || s.classes().isEmpty()) return;
        String found = s.counts().stream().map(c -> c.type() + " x" + c.findings() + " (" + c.action() + ")")
                .collect(Collectors.joining(", "));
        String model = call.model() != null ? call.model().id() : call.request() == null ? null : call.request().model();
        audit.record(new AuditEvent(clock.instant(), p.path(),
                p.agent(), call.affinityKey(), "privacy", "model_call", model, s.decision(),
                "privacy:" + String.join(",", s.classes()), found));
    }
}
