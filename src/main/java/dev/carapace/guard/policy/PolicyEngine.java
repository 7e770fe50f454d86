package dev.carapace.guard.policy;

import dev.carapace.guard.NetworkRules;
import dev.carapace.guard.policy.AgentRules.CName;
import dev.carapace.guard.policy.AgentRules.CRoot;
import dev.carapace.guard.policy.AgentRules.CToolRule;
import dev.carapace.guard.policy.NetworkLayer.Net;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import static dev.carapace.text.Excerpt.clip;

/**
 * The policies attached to each agent, compiled once for cheap decisions: an immutable value, replaced whole on
 * reload (see {@link PolicyWatcher}). Semantics, for every layer: default deny, a matching deny rule wins over any
 * allow, every policy attached to an agent adds what it allows (a union), and {@code enforcement} is {@code enforce}
 * unless an endpoint says {@code audit}.
 *
 * <ul>
 *   <li>tools ({@link #tool}): the tool name and the call's target against the policies' {@code tools} sections;
 *       an agent whose policies have none is not restricted by name (its own tool list still is).</li>
 *   <li>filesystem ({@link #filesystem}): a canonical path against the read-only and read-write roots (and the
 *       agent's workspace with {@code include_workdir}); the longest matching root decides, read-only on a tie, so
 *       a read-only root inside a read-write one stays read-only.</li>
 *   <li>network ({@link #decide}, the egress proxy's {@link NetworkRules}): host, port, binary, then method and
 *       path. An opaque CONNECT tunnel is allowed only by an endpoint that restricts no request (L4 only or access
 *       full without deny rules): its requests cannot be checked.</li>
 * </ul>
 */
public final class PolicyEngine implements NetworkRules {

    /** An agent the engine decides for: its owning team (may be null) and its workspace (for include_workdir). */
    public record Subject(String agent, String team, Path workspace) {}

    /**
     * A policy and whom it applies to. {@code agents} may hold {@code *} (every agent).
     */
    public record Attachment(Policy policy, Set<String> agents, Set<String> teams) {
        public Attachment {
            agents = Set.copyOf(agents);
            teams = Set.copyOf(teams);
        }

        boolean appliesTo(Subject s) {
            return agents.contains("*") || agents.contains(s.agent()) || s.team() != null && teams.contains(s.team());
        }
    }

    /**
     * One layer's decision.
     *
     * @param layer  {@code tool}, {@code filesystem}, {@code network} or {@code policy} (no usable policy)
     * @param rule   the deciding rule's id, or {@code AGENT:default-deny} when nothing allowed it
     * @param reason one line for the agent and the audit log
     * @param remedy what an operator could add or approve to allow it (null when allowed)
     * @param audit  denied by an {@code enforcement: audit} rule: recorded, but let through
     */
    public record Decision(Verdict verdict, String layer, String rule, String reason, String remedy, boolean audit) {
        public Decision {
            Objects.requireNonNull(verdict, "verdict");
        }

        public boolean allowed() { return verdict == Verdict.ALLOW || audit; }
    }

    /** What a file tool does to its target. */
    public enum Mode { READ, WRITE }

    /** What a tool call's target is, which selects the glob dialect of {@code tools.rules}. */
    public enum TargetKind { PATH, COMMAND, URL, NONE }

    private final Map<String, AgentRules> byAgent;
    private final String closedReason;

    private PolicyEngine(Map<String, AgentRules> byAgent, String closedReason) {
        this.byAgent = byAgent;
        this.closedReason = closedReason;
    }

    /** Compiles the attachments for each subject. */
    public static PolicyEngine compile(List<Attachment> attachments, Collection<Subject> subjects) {
        Map<String, AgentRules> m = new HashMap<>();
        List<Path> workspaces = subjects.stream().map(Subject::workspace).filter(Objects::nonNull)
                .map(AgentRules::real).toList();
        for (Subject s : subjects) {
            List<Policy> mine = attachments.stream().filter(a -> a.appliesTo(s)).map(Attachment::policy).toList();
            if (!mine.isEmpty()) m.put(s.agent(), new AgentRules(s, mine, workspaces));
        }
        return new PolicyEngine(Map.copyOf(m), null);
    }

    /** An engine that denies everything, saying {@code reason} (a policy that failed to reload, fail-closed). */
    public static PolicyEngine failClosed(String reason) {
        return new PolicyEngine(Map.of(), Objects.requireNonNull(reason));
    }

    /** Whether this engine denies everything because no valid policy could be loaded. */
    public boolean closed() { return closedReason != null; }

    /** The names of the policies attached to {@code agent}, in attachment order. */
    public List<String> policiesOf(String agent) {
        AgentRules c = byAgent.get(agent);
        return c == null ? List.of() : c.names;
    }

    // ---- tools -------------------------------------------------------------------------------------------------

    /**
     * May {@code agent} call {@code tool} on {@code target}? Order: a deny list or deny rule matching wins; then a
     * rule matching the target (ask before allow); then the ask list, then the allow list; else denied. Rules on
     * {@code exec} match the commands the line runs, parsed ({@link CommandRule}): a deny rule "rm -rf *" also
     * stops "rm -r -f x" and "cd /; rm -fr x", and an allow rule "mvn test*" never allows "mvn test; curl evil".
     */
    public Decision tool(String agent, String tool, String target, TargetKind kind) {
        AgentRules c = byAgent.get(agent);
        if (c == null) return unattached(agent, "tool");
        if (c.toolsUnrestricted) {
            return new Decision(Verdict.ALLOW, "tool", String.join("+", c.names) + ":tools", "no attached policy "
                    + "restricts tools by name (the agent's tool list applies)", null, false);
        }
        for (CName n : c.denyTools) {
            if (n.match().test(tool)) return new Decision(Verdict.DENY, "tool", n.rule(), "tool '" + tool + "' is denied by "
                    + n.rule() + " (" + n.glob() + ")", null, false);
        }
        CToolRule ask = null, allow = null;
        if (target != null) {
            CommandLine.Parsed parsed = kind == TargetKind.COMMAND ? CommandLine.parse(target) : null;
            for (CToolRule r : c.toolRules) {
                if (!r.tool().test(tool) || !r.matches(target, kind, parsed)) continue;
                if (r.decision() == Verdict.DENY) {
                    return new Decision(Verdict.DENY, "tool", r.rule(), tool + " '" + clip(target, 120) + "' is denied by "
                            + r.rule() + " (target " + r.glob() + ")", null, false);
                }
                if (r.decision() == Verdict.ASK && ask == null) ask = r;
                if (r.decision() == Verdict.ALLOW && allow == null) allow = r;
            }
        }
        // An ask is decided before any allow: the remedy is the approval, or a change to the rule that asked.
        if (ask != null) {
            return new Decision(Verdict.ASK, "tool", ask.rule(), tool + " '" + clip(target, 120) + "' needs an operator's "
                    + "approval (" + ask.rule() + ")", "an operator approves the call, or " + ask.rule() + " (target "
                    + ask.glob() + ") is narrowed or made an allow rule", false);
        }
        if (allow != null) return new Decision(Verdict.ALLOW, "tool", allow.rule(), null, null, false);
        for (CName n : c.askTools) {
            if (n.match().test(tool)) return new Decision(Verdict.ASK, "tool", n.rule(), "tool '" + tool
                    + "' needs an operator's approval (" + n.rule() + ")", "an operator approves the call, or the tool "
                    + "moves from tools.ask to tools.allow in " + n.rule(), false);
        }
        for (CName n : c.allowTools) {
            if (n.match().test(tool)) return new Decision(Verdict.ALLOW, "tool", n.rule(), null, null, false);
        }
        return new Decision(Verdict.DENY, "tool", agent + ":default-deny", "no policy of agent '" + agent
                + "' allows tool '" + tool + "' (policies: " + String.join(", ", c.names) + ")",
                "add to a policy of agent '" + agent + "': tools: {allow: [" + tool + "]}", false);
    }

    // ---- filesystem --------------------------------------------------------------------------------------------

    /**
     * May {@code agent} read (or write) {@code canonical}? The path must already be canonical (absolute, real, no
     * {@code ..}); the caller resolves symlinks.
     */
    public Decision filesystem(String agent, Path canonical, Mode mode) {
        AgentRules c = byAgent.get(agent);
        if (c == null) return unattached(agent, "filesystem");
        for (CRoot r : c.roots) {
            if (!canonical.startsWith(r.path())) continue;
            if (mode == Mode.READ || r.write()) return new Decision(Verdict.ALLOW, "filesystem", r.rule(), null, null, false);
            return new Decision(Verdict.DENY, "filesystem", r.rule(), "'" + canonical + "' is under the read-only root "
                    + r.path() + " (" + r.rule() + ")", "move the file under a read_write root, or (if the agent should "
                    + "change it) add to a policy of agent '" + agent + "': filesystem_policy: {read_write: ["
                    + canonical + "]}", false);
        }
        Path dir = canonical.getParent() == null ? canonical : canonical.getParent();
        return new Decision(Verdict.DENY, "filesystem", agent + ":default-deny", "'" + canonical + "' is outside every "
                + (mode == Mode.WRITE ? "read-write" : "readable") + " root of agent '" + agent + "'",
                "add to a policy of agent '" + agent + "': filesystem_policy: {" + (mode == Mode.WRITE ? "read_write"
                : "read_only") + ": [" + dir + "]}", false);
    }

    /**
     * A root of an agent's file-system layer as compiled: its real path (resolved when the policy was loaded).
     *
     * @param writable read-write; else read-only
     */
    public record FilesystemRoot(Path path, boolean writable, String rule) {}

    /**
     * Every file-system root of {@code agent} ({@code include_workdir} among them, as its workspace), longest first
     * and read-only first on a tie, as {@link #filesystem} tries them: what the exec sandbox mounts. Empty when no
     * policy is attached or the engine is closed: then nothing is readable.
     */
    public List<FilesystemRoot> filesystemRoots(String agent) {
        AgentRules c = byAgent.get(agent);
        if (c == null) return List.of();
        return c.roots.stream().map(r -> new FilesystemRoot(r.path(), r.write(), r.rule())).toList();
    }

    /**
     * The file rules at the moment a file is touched (the agent runtime's file gate): the filesystem roots for
     * {@code mode}, then the rules of {@code tools.rules} whose tool matches any of {@code tools} and whose target
     * matches the path. Naming several tools lets a rule written for {@code read} hold for every tool that reads.
     * A deny rule refuses; an ask rule refuses too, unless {@code asked}: this path is the one the call's up-front
     * decision named, with an operator if a rule asked. Nobody can be asked in the middle of a directory walk, so a
     * walk never reads, unasked, what a call naming the file would have had to ask for. Allow rules and the tool name
     * lists were applied up front.
     *
     * @return the refusal, or null if none applies
     */
    public Decision touch(String agent, Collection<String> tools, Path canonical, Mode mode, boolean asked) {
        Decision fs = filesystem(agent, canonical, mode);
        if (!fs.allowed()) return fs;
        AgentRules c = byAgent.get(agent);
        if (c == null) return null;                     // no policy: the filesystem layer's answer was all there is
        String target = canonical.toString();
        for (CToolRule r : c.toolRules) {
            boolean refuses = r.decision() == Verdict.DENY || (r.decision() == Verdict.ASK && !asked);
            if (!refuses || !r.matches(target, TargetKind.PATH, null)) continue;
            for (String tool : tools) {
                if (!r.tool().test(tool)) continue;
                if (r.decision() == Verdict.DENY) {
                    return new Decision(Verdict.DENY, "tool", r.rule(), tool + " '" + clip(target, 120) + "' is denied by "
                            + r.rule() + " (target " + r.glob() + ")", null, false);
                }
                return new Decision(Verdict.DENY, "tool", r.rule(), tool + " '" + clip(target, 120) + "' needs an operator's "
                        + "approval (" + r.rule() + "), which a call reaching it on the way cannot ask for",
                        "name the file in a call of its own (e.g. read it), so an operator can be asked", false);
            }
        }
        return null;
    }

    /** The tools whose file rules bind a command's reads: a command reads files as {@code read} does. */
    private static final List<String> COMMAND_READS = List.of("exec", "read");

    /**
     * What under {@code roots} the agent's file rules keep from a command: every file or folder a deny or ask rule of
     * {@code read} (or {@code exec}) covers, as the file tools would refuse it at the touch. The exec sandbox hides
     * them, so a rule on reading holds for commands too. Nothing is walked when no such rule applies to the agent.
     *
     * @param maxEntries how many entries may be looked at in all
     * @throws IllegalStateException when the roots hold more than that: the rules cannot be applied in bounded time
     */
    public List<Path> unreadable(String agent, List<Path> roots, int maxEntries) throws IOException {
        AgentRules c = byAgent.get(agent);
        if (c == null || c.toolRules.stream().noneMatch(r -> r.decision() != Verdict.ALLOW
                && COMMAND_READS.stream().anyMatch(r.tool()))) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        int[] seen = {0};
        for (Path root : roots) {
            if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) continue;
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    count();
                    if (dir.equals(root) || !denied(dir)) return FileVisitResult.CONTINUE;
                    out.add(dir);
                    return FileVisitResult.SKIP_SUBTREE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    count();
                    if (!attrs.isSymbolicLink() && denied(file)) out.add(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE;        // unreadable to the gateway: nothing to hide
                }

                private void count() {
                    if (++seen[0] > maxEntries) {
                        throw new IllegalStateException("more than " + maxEntries + " files and folders under "
                                + roots + ": the read rules of agent '" + agent + "' cannot be applied to a command in "
                                + "bounded time; narrow the agent's roots or its rules");
                    }
                }

                private boolean denied(Path p) {
                    return touch(agent, COMMAND_READS, p, Mode.READ, false) != null;
                }
            });
        }
        return out;
    }

    // ---- network -----------------------------------------------------------------------------------------------

    /** The egress proxy's question; see {@link #network} for the same answer with its remedy. */
    @Override
    public NetworkDecision decide(NetworkRequest request) {
        Net n = evaluate(request);
        Decision d = n.decision();
        return new NetworkDecision(d.verdict(), d.rule(), d.reason(), d.audit(), n.allowedIps(), n.inject());
    }

    /** The network decision with the remedy an operator could apply. */
    public Decision network(NetworkRequest request) {
        return evaluate(request).decision();
    }

    private Net evaluate(NetworkRequest r) {
        AgentRules c = byAgent.get(r.agent());
        if (c == null) return Net.of(unattached(r.agent(), "network"));
        return NetworkLayer.evaluate(c, r);
    }

    private Decision unattached(String agent, String layer) {
        if (closedReason != null) {
            return new Decision(Verdict.DENY, "policy", "policy:fail-closed", closedReason,
                    "fix the policy file; the guard denies everything until it loads", false);
        }
        return new Decision(Verdict.DENY, layer, agent + ":default-deny", "no policy is attached to agent '" + agent + "'",
                "attach a policy to agent '" + agent + "' under guard.policies in the config", false);
    }

}
