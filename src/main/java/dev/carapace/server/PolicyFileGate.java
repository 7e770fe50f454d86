package dev.carapace.server;

import dev.carapace.agent.FileGate;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;
import dev.carapace.guard.policy.PolicyEngine;
import dev.carapace.guard.policy.PolicyEngine.Mode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.function.Supplier;

/**
 * The policy engine as the file tools' {@link FileGate}: the file rules enforced on the real path a tool is about
 * to open, with the engine in force at that moment. A rule written for {@code read} holds for every tool that reads
 * or lists (grep, glob, list, edit, and tools added later), one for {@code write} for every tool that writes: a
 * rule must not be walked around by picking another tool. Each refusal is audited.
 */
final class PolicyFileGate implements FileGate {

    private static final Logger log = LoggerFactory.getLogger(PolicyFileGate.class);

    private final String agentId;
    private final String sessionKey;
    private final String principal;
    private final Supplier<PolicyEngine> engine;
    private final AuditSink audit;
    private final Clock clock;

    PolicyFileGate(String agentId, String sessionKey, String principal, Supplier<PolicyEngine> engine, AuditSink audit,
                   Clock clock) {
        this.agentId = agentId;
        this.sessionKey = sessionKey;
        this.principal = principal;
        this.engine = engine;
        this.audit = audit;
        this.clock = clock;
    }

    @Override
    public String refusal(String tool, Path real, Access access) {
        List<String> tools = switch (access) {
            case READ -> List.of(tool, "read");
            case LIST -> List.of(tool, "read", "list");
            case WRITE -> List.of(tool, "write");
        };
        PolicyEngine.Decision d = engine.get().touch(agentId, tools, real, access == Access.WRITE ? Mode.WRITE : Mode.READ);
        if (d == null) return null;
        try {
            audit.record(new AuditEvent(clock.instant(), principal, agentId, sessionKey, d.layer(), tool, real.toString(),
                    "deny", d.rule(), d.reason()));
        } catch (RuntimeException ex) {
            log.warn("audit sink failed", ex);
        }
        return d.reason();
    }
}
