package dev.carapace.guard.call;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.guard.ActingFor;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;
import dev.carapace.guard.NetworkRules.NetworkRequest;
import dev.carapace.guard.NetworkRules.Verdict;
import dev.carapace.guard.policy.PolicyEngine;
import dev.carapace.guard.policy.PolicyEngine.Mode;
import dev.carapace.guard.policy.PolicyEngine.TargetKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

import static dev.carapace.text.Excerpt.clip;

/**
 * The policy engine's decision on one tool call. A call passes three gates, and the first refusal decides (a denial
 * anywhere beats an "ask" elsewhere):
 * <ol>
 *   <li>the agent's own tool list;</li>
 *   <li>the policy's tool layer, on the tool name and the call's canonical target;</li>
 *   <li>the layer the target lives in: a file tool's real path ({@link Targets#path}) against the filesystem roots;
 *       a {@code web_fetch} URL ({@link Targets#url}) against the network rules.</li>
 * </ol>
 * Which tools name a file, and whether they read or write it, each tool declares ({@link FileTarget}); a tool added
 * later is judged without being named here. {@code exec}'s own network traffic is decided later, by the egress proxy
 * through the same engine, and the file rules are enforced again at every file a tool touches ({@link FileTouch}).
 * Every decision is audited.
 */
public final class ToolCallPolicy {

    private static final Logger log = LoggerFactory.getLogger(ToolCallPolicy.class);

    /** The rule id the agent's own tool list decides with. */
    public static final String AGENT_TOOLS = "agent.tools";

    private final Function<String, Optional<Caller>> callers;
    private final Map<String, FileTarget> fileTools;
    private final Supplier<PolicyEngine> engine;
    private final AuditSink audit;
    private final Clock clock;
    /** Whom each record names; null: the caller's principal, the one its rules are matched against. */
    private final ActingFor actingFor;

    /**
     * @param callers   the agent behind an agent id, if there is one
     * @param fileTools the tools that name a file, by name, as each declares itself
     * @param engine    the engine in force for each new decision (a {@code PolicyWatcher::current})
     */
    public ToolCallPolicy(Function<String, Optional<Caller>> callers, Map<String, FileTarget> fileTools,
                          Supplier<PolicyEngine> engine, AuditSink audit, Clock clock) {
        this(callers, fileTools, engine, audit, clock, null);
    }

    /** @param actingFor whom the audit records name (the rules still judge the agent's owner, its caller) */
    public ToolCallPolicy(Function<String, Optional<Caller>> callers, Map<String, FileTarget> fileTools,
                          Supplier<PolicyEngine> engine, AuditSink audit, Clock clock, ActingFor actingFor) {
        this.callers = callers;
        this.fileTools = Map.copyOf(fileTools);
        this.engine = engine;
        this.audit = audit;
        this.clock = clock;
        this.actingFor = actingFor;
    }

    private String principal(Caller caller, String agentId, String sessionKey) {
        if (actingFor != null) return actingFor.principal(agentId, sessionKey);
        return caller == null ? null : caller.principal();
    }

    /** Decides a call and audits the decision. */
    public CallDecision decide(String agentId, String sessionKey, String tool, JsonNode arguments) {
        Caller caller = callers.apply(agentId).orElse(null);
        Explanation e = explain(caller, agentId, tool, target(tool, arguments));
        CallDecision d = e.decision();
        try {
            audit.record(new AuditEvent(clock.instant(), principal(caller, agentId, sessionKey), agentId, sessionKey,
                    d.layer(), tool, d.target(), e.audit() ? "audit" : d.verdict().name().toLowerCase(Locale.ROOT),
                    d.rule(), d.reason()));
        } catch (RuntimeException ex) {
            log.warn("audit sink failed", ex);
        }
        return d;
    }

    /** The file rules at every file the agent's tools touch in this session. */
    public FileTouch files(String agentId, String sessionKey) {
        Caller caller = callers.apply(agentId).orElse(null);
        return new FileTouch(agentId, sessionKey, principal(caller, agentId, sessionKey), engine, audit, clock,
                null);
    }

    /**
     * Whether a tool may fetch {@code url}, which the model did not name (a redirect's): the tool layer and the
     * network layer, as for a call naming it, with no operator to ask in the middle of a fetch. A refusal is audited.
     *
     * @return null when allowed, else why not
     */
    public String urlRefusal(String agentId, String sessionKey, String tool, String url) {
        Caller caller = callers.apply(agentId).orElse(null);
        CallDecision d = explain(caller, agentId, tool, url).decision();
        if (d.verdict() == Verdict.ALLOW) return null;
        try {
            audit.record(new AuditEvent(clock.instant(), principal(caller, agentId, sessionKey), agentId, sessionKey,
                    d.layer(), tool, d.target(), "deny", d.rule(), "redirect: " + d.reason()));
        } catch (RuntimeException ex) {
            log.warn("audit sink failed", ex);
        }
        return d.verdict() == Verdict.ASK ? d.reason() + "; call " + tool + " on that URL to ask an operator"
                : d.reason();
    }

    /** A tool call's target as the model gave it: a file tool's path, exec's command, web_fetch's URL. */
    public String target(String tool, JsonNode args) {
        FileTarget file = fileTools.get(tool);
        String key = file != null ? file.argument()
                : tool.equals("exec") ? "command" : tool.equals("web_fetch") ? "url" : null;
        if (key == null) return null;
        JsonNode v = args == null ? null : args.get(key);
        if (v != null && v.isTextual()) return v.asText();
        return file != null ? file.whenAbsent() : null;   // e.g. list/glob/grep default to the root
    }

    /** Every layer's answer to a call on {@code rawTarget} (as the model would give it), without auditing it. */
    public Explanation explain(String agentId, String tool, String rawTarget) {
        return explain(callers.apply(agentId).orElse(null), agentId, tool, rawTarget);
    }

    private Explanation explain(Caller caller, String agentId, String tool, String raw) {
        List<PolicyEngine.Decision> steps = new ArrayList<>(3);
        if (caller == null) {
            return refuse(steps, new PolicyEngine.Decision(Verdict.DENY, "tool", AGENT_TOOLS,
                    "unknown agent '" + clip(agentId, 120) + "'", null, false), null);
        }
        if (!caller.tools().contains(tool)) {
            return refuse(steps, new PolicyEngine.Decision(Verdict.DENY, "tool", AGENT_TOOLS, "tool '" + clip(tool, 120)
                    + "' is not enabled for agent '" + agentId + "' (enabled tools: " + (caller.tools().isEmpty() ? "none"
                    : String.join(", ", caller.tools())) + ")", "add '" + clip(tool, 120)
                    + "' to the tools of agent '" + agentId + "' in the config", false), null);
        }
        FileTarget file = fileTools.get(tool);
        TargetKind kind = file != null ? TargetKind.PATH : tool.equals("exec") ? TargetKind.COMMAND
                : tool.equals("web_fetch") ? TargetKind.URL : TargetKind.NONE;
        Path path = null;
        NetworkRequest request = null;
        String shown = raw;
        try {
            if (kind == TargetKind.PATH) {
                if (raw == null) {
                    return refuse(steps, new PolicyEngine.Decision(Verdict.DENY, "filesystem", "guard.path", "the call "
                            + "names no path", null, false), null);
                }
                path = Targets.path(caller.workspace(), raw);
                shown = path.toString();
            } else if (kind == TargetKind.URL && raw != null) {
                // Tool rules on URLs see the URL as the proxy will judge it: a spelling cannot walk around them.
                Targets.Url url = Targets.url(raw);
                request = new NetworkRequest(agentId, url.host(), url.port(), "GET", url.path(), null);
                shown = url.toString();
            }
        } catch (IllegalArgumentException ex) {
            String layer = kind == TargetKind.PATH ? "filesystem" : "network";
            return refuse(steps, new PolicyEngine.Decision(Verdict.DENY, layer, kind == TargetKind.PATH ? "guard.path"
                    : "guard.url", ex.getMessage(), null, false), raw);
        }
        PolicyEngine e = engine.get();
        PolicyEngine.Decision t = e.tool(agentId, tool, shown, kind);
        steps.add(t);
        if (t.verdict() == Verdict.DENY) return refuse(steps, t, shown);
        PolicyEngine.Decision layer = null;
        if (path != null) {
            layer = e.filesystem(agentId, path, file.access() == FileAccess.WRITE ? Mode.WRITE : Mode.READ);
        } else if (request != null) {
            layer = e.network(request);
        }
        if (layer != null) {
            steps.add(layer);
            if (!layer.allowed()) return refuse(steps, layer, shown);
        }
        if (t.verdict() == Verdict.ASK) return refuse(steps, t, shown);
        if (layer != null && layer.verdict() == Verdict.ASK) return refuse(steps, layer, shown);
        PolicyEngine.Decision last = layer != null ? layer : t;
        boolean auditOnly = layer != null && layer.audit() && layer.verdict() != Verdict.ALLOW;
        return new Explanation(steps, new CallDecision(Verdict.ALLOW, auditOnly ? last.reason() : null, last.rule(),
                last.layer(), shown, null), auditOnly);
    }

    private static Explanation refuse(List<PolicyEngine.Decision> steps, PolicyEngine.Decision d, String target) {
        if (steps.isEmpty() || steps.getLast() != d) steps.add(d);
        Verdict v = d.verdict() == Verdict.ASK ? Verdict.ASK : Verdict.DENY;
        return new Explanation(steps, new CallDecision(v, d.reason(), d.rule(), d.layer(), target, d.remedy()), false);
    }
}
