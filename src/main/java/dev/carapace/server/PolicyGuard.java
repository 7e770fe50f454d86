package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.AgentTool;
import dev.carapace.agent.Agents;
import dev.carapace.agent.FileGate;
import dev.carapace.agent.FileTarget;
import dev.carapace.agent.Guard;
import dev.carapace.agent.tools.FileTools;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;
import dev.carapace.guard.NetworkRules.NetworkRequest;
import dev.carapace.guard.NetworkRules.Verdict;
import dev.carapace.guard.fs.PathException;
import dev.carapace.guard.fs.RealPaths;
import dev.carapace.guard.policy.PolicyEngine;
import dev.carapace.guard.policy.PolicyEngine.Mode;
import dev.carapace.guard.policy.PolicyEngine.TargetKind;
import dev.carapace.guard.url.CanonicalPath;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The policy engine as the agent runtime's {@link Guard}. A call passes three gates, and the first refusal decides
 * (a denial anywhere beats an "ask" elsewhere):
 * <ol>
 *   <li>the agent's own tool list (as {@link dev.carapace.agent.WorkspaceGuard});</li>
 *   <li>the policy's tool layer, on the tool name and the call's target;</li>
 *   <li>the layer the target lives in: a file tool's path (canonicalised against the agent's workspace: symlinks
 *       resolved, {@code ..} resolved physically, a hard-linked file refused) against the filesystem roots; a
 *       {@code web_fetch} URL against the network rules.</li>
 * </ol>
 * {@code exec}'s own network traffic is decided later, by the egress proxy through the same engine, and the file
 * rules are enforced again at every file a tool touches, by {@link #files} ({@link PolicyFileGate}). Every decision
 * is recorded in the {@link AuditSink}.
 */
final class PolicyGuard implements Guard {

    private static final Logger log = LoggerFactory.getLogger(PolicyGuard.class);

    /** The rule id the agent's own tool list decides with (as the default guard's). */
    static final String AGENT_TOOLS = "agent.tools";

    private final Agents agents;
    /** The file tools by name, as each declares itself ({@link AgentTool#fileTarget}). */
    private final Map<String, FileTarget> fileTools;
    private final Supplier<PolicyEngine> engine;
    private final AuditSink audit;
    private final Clock clock;

    /** @param engine the engine in force for each new decision (a {@code PolicyWatcher::current}) */
    PolicyGuard(Agents agents, Supplier<PolicyEngine> engine, AuditSink audit, Clock clock) {
        this(agents, engine, audit, clock, FileTools.all());
    }

    /** @param tools the tools the runtime runs; those that name a file say so ({@link AgentTool#fileTarget}) */
    PolicyGuard(Agents agents, Supplier<PolicyEngine> engine, AuditSink audit, Clock clock, List<AgentTool> tools) {
        Map<String, FileTarget> files = new HashMap<>();
        for (AgentTool t : tools) if (t.fileTarget() != null) files.put(t.name(), t.fileTarget());
        this.fileTools = Map.copyOf(files);
        this.agents = agents;
        this.engine = engine;
        this.audit = audit;
        this.clock = clock;
    }

    @Override
    public Decision decide(String agentId, String sessionKey, String tool, JsonNode arguments) {
        AgentSpec agent = agents.find(agentId).orElse(null);
        Explanation e = explain(agent, agentId, tool, target(tool, arguments));
        Decision d = e.decision();
        try {
            audit.record(new AuditEvent(clock.instant(), agent == null ? null : agent.owner().toString(), agentId,
                    sessionKey, d.layer(), tool, d.target(), e.audit() ? "audit" : d.verdict().name().toLowerCase(Locale.ROOT),
                    d.rule(), d.reason()));
        } catch (RuntimeException ex) {
            log.warn("audit sink failed", ex);
        }
        return d;
    }

    /** The file rules at every file the agent's tools touch; see {@link PolicyFileGate}. */
    @Override
    public FileGate files(String agentId, String sessionKey) {
        AgentSpec agent = agents.find(agentId).orElse(null);
        return new PolicyFileGate(agentId, sessionKey, agent == null ? null : agent.owner().toString(), engine, audit,
                clock);
    }

    /** A tool call's target as the model gave it: a file tool's path, exec's command, web_fetch's URL. */
    String target(String tool, JsonNode args) {
        FileTarget file = fileTools.get(tool);
        String key = file != null ? file.argument()
                : tool.equals("exec") ? "command" : tool.equals("web_fetch") ? "url" : null;
        if (key == null) return null;
        JsonNode v = args == null ? null : args.get(key);
        if (v != null && v.isTextual()) return v.asText();
        return file != null ? file.whenAbsent() : null;   // e.g. list/glob/grep default to the root
    }

    /**
     * Every layer's decision for a call, and the one that decides.
     *
     * @param steps    the layers asked, in order
     * @param decision what the runtime gets
     * @param audit    allowed only because the deciding rule is audit-only
     */
    record Explanation(List<PolicyEngine.Decision> steps, Decision decision, boolean audit) {}

    Explanation explain(String agentId, String tool, String rawTarget) {
        return explain(agents.find(agentId).orElse(null), agentId, tool, rawTarget);
    }

    private Explanation explain(AgentSpec agent, String agentId, String tool, String raw) {
        List<PolicyEngine.Decision> steps = new ArrayList<>(3);
        if (agent == null) {
            return refuse(steps, new PolicyEngine.Decision(Verdict.DENY, "tool", AGENT_TOOLS,
                    "unknown agent '" + clip(agentId) + "'", null, false), null);
        }
        if (!agent.enabledTools().contains(tool)) {
            return refuse(steps, new PolicyEngine.Decision(Verdict.DENY, "tool", AGENT_TOOLS, "tool '" + clip(tool)
                    + "' is not enabled for agent '" + agentId + "' (enabled tools: " + (agent.tools().isEmpty() ? "none"
                    : String.join(", ", agent.enabledTools())) + ")", "add '" + clip(tool) + "' to the tools of agent '"
                    + agentId + "' in the config", false), null);
        }
        PolicyEngine e = engine.get();
        FileTarget fileTarget = fileTools.get(tool);
        boolean file = fileTarget != null;
        Path path = null;
        String shown = raw;
        if (file) {
            if (raw == null) {
                return refuse(steps, new PolicyEngine.Decision(Verdict.DENY, "filesystem", "guard.path", "the call "
                        + "names no path", null, false), null);
            }
            try {
                path = canonical(agent.workspace(), raw);
                shown = path.toString();
            } catch (IllegalArgumentException ex) {
                return refuse(steps, new PolicyEngine.Decision(Verdict.DENY, "filesystem", "guard.path", ex.getMessage(),
                        null, false), raw);
            }
        }
        TargetKind kind = file ? TargetKind.PATH : tool.equals("exec") ? TargetKind.COMMAND
                : tool.equals("web_fetch") ? TargetKind.URL : TargetKind.NONE;
        PolicyEngine.Decision t = e.tool(agentId, tool, shown, kind);
        steps.add(t);
        if (t.verdict() == Verdict.DENY) return refuse(steps, t, shown);
        PolicyEngine.Decision layer = null;
        if (file) {
            layer = e.filesystem(agentId, path, fileTarget.access() == FileGate.Access.WRITE ? Mode.WRITE : Mode.READ);
        } else if (kind == TargetKind.URL && raw != null) {
            NetworkRequest req;
            try {
                req = request(agentId, raw, "GET");
            } catch (IllegalArgumentException ex) {
                return refuse(steps, new PolicyEngine.Decision(Verdict.DENY, "network", "guard.url", ex.getMessage(),
                        null, false), raw);
            }
            layer = e.network(req);
        }
        if (layer != null) {
            steps.add(layer);
            if (!layer.allowed()) return refuse(steps, layer, shown);
        }
        if (t.verdict() == Verdict.ASK) return refuse(steps, t, shown);
        if (layer != null && layer.verdict() == Verdict.ASK) return refuse(steps, layer, shown);
        PolicyEngine.Decision last = layer != null ? layer : t;
        boolean auditOnly = layer != null && layer.audit() && layer.verdict() != Verdict.ALLOW;
        return new Explanation(steps, new Decision(Decision.Verdict.ALLOW, auditOnly ? last.reason() : null, last.rule(),
                last.layer(), shown, null), auditOnly);
    }

    private static Explanation refuse(List<PolicyEngine.Decision> steps, PolicyEngine.Decision d, String target) {
        if (steps.isEmpty() || steps.getLast() != d) steps.add(d);
        Decision.Verdict v = d.verdict() == Verdict.ASK ? Decision.Verdict.ASK : Decision.Verdict.DENY;
        return new Explanation(steps, new Decision(v, d.reason(), d.rule(), d.layer(), target, d.remedy()), false);
    }

    /**
     * The real path a file tool would touch: {@code raw} resolved against the workspace (an absolute path is taken
     * as it is) by the canonicaliser the file tools use ({@link RealPaths}), without confining it: a path outside is
     * judged (and denied) by the filesystem roots. An existing file with more than one hard link is refused too:
     * where its other names are cannot be told.
     */
    static Path canonical(Path workspace, String raw) {
        if (raw.indexOf('\0') >= 0) throw new IllegalArgumentException("the path contains a NUL byte");
        Path names;
        try {
            names = workspace.getFileSystem().getPath(raw);
        } catch (InvalidPathException ex) {
            throw new IllegalArgumentException("'" + clip(raw) + "' is not a valid path");
        }
        Path start = null;
        if (!names.isAbsolute()) {
            try {
                start = workspace.toRealPath();
            } catch (IOException ex) {
                names = workspace.toAbsolutePath().resolve(names);   // no workspace yet (policy explain): walk it too
            }
        }
        if (start == null) {
            start = names.getRoot();
            // subpath, not relativize: relativize normalizes, and ".." must be walked physically
            names = names.getNameCount() == 0 ? names.getFileSystem().getPath("") : names.subpath(0, names.getNameCount());
        }
        Path real;
        boolean exists;
        try {
            RealPaths.Resolved r = RealPaths.resolve(start, names, null, raw);
            real = r.real();
            exists = r.exists();
        } catch (PathException ex) {
            throw new IllegalArgumentException(ex.getMessage());
        }
        if (exists && Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Object links = Files.getAttribute(real, "unix:nlink", LinkOption.NOFOLLOW_LINKS);
                if (links instanceof Integer n && n > 1) {
                    throw new IllegalArgumentException("'" + clip(raw) + "' is a file with " + n + " hard links; its "
                            + "other names may be outside the allowed roots");
                }
            } catch (IOException | UnsupportedOperationException ignored) {
                // no link count on this file system: the file tools' own check still applies
            }
        }
        return real;
    }

    /**
     * A URL, or {@code host:port}, as the request the egress proxy would be asked about. The path is made canonical
     * by {@link CanonicalPath}, the proxy's own canonicaliser, so this guard and the proxy always judge the same path
     * (a path it refuses is refused here too, with the same words). A fragment is never sent and is ignored; the
     * query is not part of the path.
     *
     * @throws IllegalArgumentException saying what is wrong with the target
     */
    static NetworkRequest request(String agent, String target, String method) {
        if (!target.contains("://")) {
            int colon = target.lastIndexOf(':');
            if (colon <= 0) throw new IllegalArgumentException("expected a URL or host:port, got '" + clip(target) + "'");
            try {
                return new NetworkRequest(agent, target.substring(0, colon).toLowerCase(Locale.ROOT),
                        Integer.parseInt(target.substring(colon + 1)), null, null, null);
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("expected host:port with a port from 1 to 65535, got '" + clip(target) + "'");
            }
        }
        URI u;
        try {
            u = new URI(target);
        } catch (URISyntaxException ex) {
            throw new IllegalArgumentException("not a valid URL: '" + clip(target) + "'");
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || u.getHost() == null) {
            throw new IllegalArgumentException("expected an http(s) URL with a host, got '" + clip(target) + "'");
        }
        int port = u.getPort() != -1 ? u.getPort() : scheme.equals("https") ? 443 : 80;
        String raw = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
        return new NetworkRequest(agent, u.getHost().toLowerCase(Locale.ROOT), port, method, CanonicalPath.of(raw), null);
    }

    private static String clip(String s) {
        if (s == null) return "";
        return s.length() <= 120 ? s : s.substring(0, 120) + "...";
    }
}
