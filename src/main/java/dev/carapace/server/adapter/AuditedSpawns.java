package dev.carapace.server.adapter;

import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.SpawnAudit;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;

/** The agent runtime's {@link SpawnAudit} into the guard's audit log: layer {@code agent}, action {@code spawn_agent}. */
public final class AuditedSpawns implements SpawnAudit {

    private final AuditSink audit;

    public AuditedSpawns(AuditSink audit) {
        this.audit = audit;
    }

    @Override
    public void record(Decision d) {
        audit.record(new AuditEvent(d.time(), d.principal(), d.agent(), d.session(), "agent", AgentSpec.SPAWN_AGENT,
                d.child(), d.outcome(), d.rule(), d.reason()));
    }
}
