package dev.carapace.server.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.Agents;
import dev.carapace.agent.FileAccess;
import dev.carapace.agent.FileGate;
import dev.carapace.agent.FileTarget;
import dev.carapace.agent.Guard;
import dev.carapace.agent.UrlGate;
import dev.carapace.agent.tools.FileTools;
import dev.carapace.guard.ActingFor;
import dev.carapace.guard.AuditSink;
import dev.carapace.guard.call.CallDecision;
import dev.carapace.guard.call.Caller;
import dev.carapace.guard.call.FileTouch;
import dev.carapace.guard.call.ToolCallPolicy;
import dev.carapace.guard.policy.PolicyEngine;

import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The guard's {@link ToolCallPolicy} as the agent runtime's {@link Guard}: the agents described to it as
 * {@link Caller}s, its decisions handed back in the runtime's terms. Every decision is the guard package's.
 */
public final class PolicyGuard implements Guard {

    private final ToolCallPolicy policy;

    /** @param engine the engine in force for each new decision (a {@code PolicyWatcher::current}) */
    public PolicyGuard(Agents agents, Supplier<PolicyEngine> engine, AuditSink audit, Clock clock) {
        this(agents, engine, audit, clock, FileTools.all());
    }

    /** @param tools the tools the runtime runs; those that name a file say so ({@link AgentTool#fileTarget}) */
    public PolicyGuard(Agents agents, Supplier<PolicyEngine> engine, AuditSink audit, Clock clock, List<AgentTool> tools) {
        this(agents, engine, audit, clock, tools, null);
    }

    /** @param actingFor whom the audit records name; null: the agent's owner as its rules see it */
    public PolicyGuard(Agents agents, Supplier<PolicyEngine> engine, AuditSink audit, Clock clock, List<AgentTool> tools,
                       ActingFor actingFor) {
        Map<String, dev.carapace.guard.call.FileTarget> files = new HashMap<>();
        for (AgentTool t : tools) if (t.fileTarget() != null) files.put(t.name(), target(t.fileTarget()));
        this.policy = new ToolCallPolicy(id -> agents.find(id).map(PolicyGuard::caller), files, engine, audit, clock,
                actingFor);
    }

    static Caller caller(AgentSpec a) {
        return new Caller(a.id(), a.owner().toString(), a.enabledTools(), a.workspace());
    }

    public ToolCallPolicy policy() {
        return policy;
    }

    @Override
    public Decision decide(String agentId, String sessionKey, String tool, JsonNode arguments) {
        CallDecision d = policy.decide(agentId, sessionKey, tool, arguments);
        Decision.Verdict v = switch (d.verdict()) {
            case ALLOW -> Decision.Verdict.ALLOW;
            case ASK -> Decision.Verdict.ASK;
            case DENY -> Decision.Verdict.DENY;
        };
        return new Decision(v, d.reason(), d.rule(), d.layer(), d.target(), d.remedy());
    }

    @Override
    public FileGate files(String agentId, String sessionKey) {
        return gate(policy.files(agentId, sessionKey));
    }

    @Override
    public UrlGate urls(String agentId, String sessionKey) {
        return (tool, url) -> policy.urlRefusal(agentId, sessionKey, tool, url);
    }

    private static FileGate gate(FileTouch touch) {
        return new FileGate() {
            @Override
            public String refusal(String tool, Path real, FileAccess access) {
                return touch.refusal(tool, real, access(access));
            }

            @Override
            public FileGate forCall(String target) {
                return gate(touch.forCall(target));
            }
        };
    }

    /** A tool's declaration in the guard's terms. */
    private static dev.carapace.guard.call.FileTarget target(FileTarget t) {
        return new dev.carapace.guard.call.FileTarget(t.argument(), t.whenAbsent(), access(t.access()));
    }

    private static dev.carapace.guard.call.FileAccess access(FileAccess a) {
        return switch (a) {
            case READ -> dev.carapace.guard.call.FileAccess.READ;
            case WRITE -> dev.carapace.guard.call.FileAccess.WRITE;
            case LIST -> dev.carapace.guard.call.FileAccess.LIST;
        };
    }
}
