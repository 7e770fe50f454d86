package dev.carapace.guard.call;

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
 * The file rules enforced on the real path a tool is about to open, list or create, with the engine in force at that
 * moment: what the agent runtime's file gate asks. A rule written for {@code read} holds for every tool that reads
 * or lists (grep, glob, list, edit, and tools added later), one for {@code write} for every tool that writes: a rule
 * must not be walked around by picking another tool. Each refusal is audited.
 */
public final class FileTouch {

    private static final Logger log = LoggerFactory.getLogger(FileTouch.class);

    private final String agent;
    private final String sessionKey;
    private final String principal;
    private final Supplier<PolicyEngine> engine;
    private final AuditSink audit;
    private final Clock clock;
    /** The real path the call's up-front decision named (asked about, if a rule asked), or null. */
    private final String named;

    FileTouch(String agent, String sessionKey, String principal, Supplier<PolicyEngine> engine, AuditSink audit,
              Clock clock, String named) {
        this.agent = agent;
        this.sessionKey = sessionKey;
        this.principal = principal;
        this.engine = engine;
        this.audit = audit;
        this.clock = clock;
        this.named = named;
    }

    /**
     * The file rules for one call whose decision named {@code target}: asking rules are satisfied for that path
     * alone, since the decision (with an operator, if a rule asked) was about it.
     */
    public FileTouch forCall(String target) {
        return new FileTouch(agent, sessionKey, principal, engine, audit, clock, target);
    }

    /**
     * @param tool the calling tool's name
     * @param real an absolute path without symlinks
     * @return null when allowed, else why not (for the model: names the rule, holds no secret)
     */
    public String refusal(String tool, Path real, FileAccess access) {
        List<String> tools = switch (access) {
            case READ -> List.of(tool, "read");
            case LIST -> List.of(tool, "read", "list");
            case WRITE -> List.of(tool, "write");
        };
        PolicyEngine.Decision d = engine.get().touch(agent, tools, real, access == FileAccess.WRITE ? Mode.WRITE : Mode.READ,
                real.toString().equals(named));
        if (d == null) return null;
        try {
            audit.record(new AuditEvent(clock.instant(), principal, agent, sessionKey, d.layer(), tool, real.toString(),
                    "deny", d.rule(), d.reason()));
        } catch (RuntimeException ex) {
            log.warn("audit sink failed", ex);
        }
        return d.reason();
    }
}
