package dev.carapace.guard.policy;

import dev.carapace.guard.NetworkRules;
import dev.carapace.fs.RealPaths;
import dev.carapace.guard.policy.Policy.Access;
import dev.carapace.guard.policy.Policy.Credential;
import dev.carapace.guard.policy.Policy.Endpoint;
import dev.carapace.guard.policy.Policy.HttpRule;
import dev.carapace.guard.policy.Policy.NameRule;
import dev.carapace.guard.policy.Policy.NetworkGroup;
import dev.carapace.guard.policy.Policy.Root;
import dev.carapace.guard.policy.Policy.ToolRule;
import dev.carapace.guard.url.CanonicalPath;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

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

    private static final Logger log = LoggerFactory.getLogger(PolicyEngine.class);

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


    private final Map<String, Compiled> byAgent;
    private final String closedReason;

    private PolicyEngine(Map<String, Compiled> byAgent, String closedReason) {
        this.byAgent = byAgent;
        this.closedReason = closedReason;
    }

    /** Compiles the attachments for each subject. */
    public static PolicyEngine compile(List<Attachment> attachments, Collection<Subject> subjects) {
        Map<String, Compiled> m = new HashMap<>();
        List<Path> workspaces = subjects.stream().map(Subject::workspace).filter(Objects::nonNull)
                .map(Compiled::real).toList();
        for (Subject s : subjects) {
            List<Policy> mine = attachments.stream().filter(a -> a.appliesTo(s)).map(Attachment::policy).toList();
            if (!mine.isEmpty()) m.put(s.agent(), new Compiled(s, mine, workspaces));
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
        Compiled c = byAgent.get(agent);
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
        Compiled c = byAgent.get(agent);
        if (c == null) return unattached(agent, "tool");
        if (c.toolsUnrestricted) {
            return new Decision(Verdict.ALLOW, "tool", String.join("+", c.names) + ":tools", "no attached policy "
                    + "restricts tools by name (the agent's tool list applies)", null, false);
        }
        for (CName n : c.denyTools) {
            if (n.match.test(tool)) return new Decision(Verdict.DENY, "tool", n.rule, "tool '" + tool + "' is denied by "
                    + n.rule + " (" + n.glob + ")", null, false);
        }
        CToolRule ask = null, allow = null;
        if (target != null) {
            CommandLine.Parsed parsed = kind == TargetKind.COMMAND ? CommandLine.parse(target) : null;
            for (CToolRule r : c.toolRules) {
                if (!r.tool.test(tool) || !r.matches(target, kind, parsed)) continue;
                if (r.decision == Verdict.DENY) {
                    return new Decision(Verdict.DENY, "tool", r.rule, tool + " '" + clip(target) + "' is denied by "
                            + r.rule + " (target " + r.glob + ")", null, false);
                }
                if (r.decision == Verdict.ASK && ask == null) ask = r;
                if (r.decision == Verdict.ALLOW && allow == null) allow = r;
            }
        }
        String remedy = "allow the call once (an operator approves it), or add to a policy of agent '" + agent
                + "': tools: {allow: [" + tool + "]}";
        if (ask != null) {
            return new Decision(Verdict.ASK, "tool", ask.rule, tool + " '" + clip(target) + "' needs an operator's "
                    + "approval (" + ask.rule + ")", remedy, false);
        }
        if (allow != null) return new Decision(Verdict.ALLOW, "tool", allow.rule, null, null, false);
        for (CName n : c.askTools) {
            if (n.match.test(tool)) return new Decision(Verdict.ASK, "tool", n.rule, "tool '" + tool
                    + "' needs an operator's approval (" + n.rule + ")", remedy, false);
        }
        for (CName n : c.allowTools) {
            if (n.match.test(tool)) return new Decision(Verdict.ALLOW, "tool", n.rule, null, null, false);
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
        Compiled c = byAgent.get(agent);
        if (c == null) return unattached(agent, "filesystem");
        for (CRoot r : c.roots) {
            if (!canonical.startsWith(r.path)) continue;
            if (mode == Mode.READ || r.write) return new Decision(Verdict.ALLOW, "filesystem", r.rule, null, null, false);
            return new Decision(Verdict.DENY, "filesystem", r.rule, "'" + canonical + "' is under the read-only root "
                    + r.path + " (" + r.rule + ")", "move the file under a read_write root, or (if the agent should "
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
        Compiled c = byAgent.get(agent);
        if (c == null) return List.of();
        return c.roots.stream().map(r -> new FilesystemRoot(r.path, r.write, r.rule)).toList();
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
        Compiled c = byAgent.get(agent);
        if (c == null) return null;                     // no policy: the filesystem layer's answer was all there is
        String target = canonical.toString();
        for (CToolRule r : c.toolRules) {
            boolean refuses = r.decision == Verdict.DENY || (r.decision == Verdict.ASK && !asked);
            if (!refuses || !r.matches(target, TargetKind.PATH, null)) continue;
            for (String tool : tools) {
                if (!r.tool.test(tool)) continue;
                if (r.decision == Verdict.DENY) {
                    return new Decision(Verdict.DENY, "tool", r.rule, tool + " '" + clip(target) + "' is denied by "
                            + r.rule + " (target " + r.glob + ")", null, false);
                }
                return new Decision(Verdict.DENY, "tool", r.rule, tool + " '" + clip(target) + "' needs an operator's "
                        + "approval (" + r.rule + "), which a call reaching it on the way cannot ask for",
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
        Compiled c = byAgent.get(agent);
        if (c == null || c.toolRules.stream().noneMatch(r -> r.decision != Verdict.ALLOW
                && COMMAND_READS.stream().anyMatch(r.tool))) {
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
        return new NetworkDecision(n.decision.verdict(), n.decision.rule(), n.decision.reason(), n.decision.audit(),
                n.allowedIps, n.inject);
    }

    /** The network decision with the remedy an operator could apply. */
    public Decision network(NetworkRequest request) {
        return evaluate(request).decision;
    }

    private record Net(Decision decision, List<String> allowedIps, List<Injection> inject) {
        static Net of(Decision d) { return new Net(d, List.of(), List.of()); }
    }

    private Net evaluate(NetworkRequest r) {
        Compiled c = byAgent.get(r.agent());
        if (c == null) return Net.of(unattached(r.agent(), "network"));
        String host = normalizeHost(r.host());
        String method = r.method() == null ? null : r.method().toUpperCase(Locale.ROOT);
        if (r.path() != null) {
            // callers pass canonical paths already; canonicalising again is a no-op for them and makes sure no
            // caller can bring a path this engine would read differently from the egress proxy
            String path;
            try {
                path = CanonicalPath.of(r.path());
            } catch (IllegalArgumentException e) {
                return Net.of(new Decision(Verdict.DENY, "network", "guard.url", "the path of " + method + " " + host
                        + ":" + r.port() + " is refused: " + e.getMessage(), "send the path in its plain form", false));
            }
            r = new NetworkRequest(r.agent(), r.host(), r.port(), r.method(), path, r.binary());
        }
        List<String> denyForms = denyForms(r.path());
        String what = (method == null ? "CONNECT " + host + ":" + r.port()
                : method + " " + host + ":" + r.port() + (r.path() == null ? "" : r.path()));
        List<CEndpoint> found = new ArrayList<>(2);
        List<CEndpoint> exact = c.exactHosts.get(host);
        if (exact != null) for (CEndpoint e : exact) if (e.ports.contains(r.port())) found.add(e);
        for (CEndpoint e : c.wildcardHosts) if (e.ports.contains(r.port()) && e.hostMatches(host)) found.add(e);
        if (found.isEmpty()) {
            Verdict v = c.askUnknownHosts ? Verdict.ASK : Verdict.DENY;
            return Net.of(new Decision(v, "network", r.agent() + ":default-deny", "no network policy of agent '"
                    + r.agent() + "' allows " + host + ":" + r.port() + (v == Verdict.ASK ? "; an operator may approve it" : ""),
                    "add to a policy of agent '" + r.agent() + "': network_policies: {NAME: {endpoints: [{host: " + host
                            + ", port: " + r.port() + (method == null ? "" : ", rules: [{allow: {method: " + method
                            + ", path: \"" + (r.path() == null ? "/**" : r.path()) + "\"}}]") + "}]}}", false));
        }
        List<CEndpoint> usable = new ArrayList<>(found.size());
        for (CEndpoint e : found) if (e.binaryMatches(r.binary())) usable.add(e);
        if (usable.isEmpty()) {
            CEndpoint e = found.getFirst();
            return Net.of(new Decision(Verdict.DENY, "network", e.rule, host + ":" + r.port() + " is allowed only for "
                    + "the binaries " + e.binaryGlobs + " (" + e.rule + "); this request comes from "
                    + (r.binary() == null ? "an unidentified process or a tool" : r.binary()),
                    "add the binary to group '" + e.group + "': binaries: [{path: " + (r.binary() == null ? "PATH" : r.binary())
                            + "}], or give the endpoint a group without binaries", e.audit));
        }
        // deny rules first: they win over any allow of any endpoint
        for (CEndpoint e : usable) {
            if (!e.scopeMatches(r.path())) continue;
            if (method == null && !e.deny.isEmpty()) continue;   // handled as "cannot inspect" below
            for (CHttp d : e.deny) {
                if (denyForms.stream().anyMatch(p -> d.matches(method, p))) {
                    return Net.of(new Decision(Verdict.DENY, "network", d.rule, what + " is denied by " + d.rule + " ("
                            + d.method + " " + d.glob + ")" + (e.audit ? " [audit only]" : ""), null, e.audit));
                }
            }
        }
        for (CEndpoint e : usable) {
            String rule = e.allowing(method, r.path());
            if (rule != null) {
                List<Injection> inject = List.of();
                for (CCredential cr : c.credentials) {
                    if (cr.hostMatches(host)) {
                        if (inject.isEmpty()) inject = new ArrayList<>(2);
                        inject.add(cr.injection);
                    }
                }
                return new Net(new Decision(Verdict.ALLOW, "network", rule, null, null, false), e.allowedIps, inject);
            }
        }
        CEndpoint e = usable.getFirst();
        boolean audit = usable.stream().allMatch(x -> x.audit);
        String reason;
        String remedy;
        if (method == null) {
            reason = "CONNECT " + host + ":" + r.port() + " would be an opaque tunnel, but " + e.rule + " restricts "
                    + "requests (" + e.describe() + "), which cannot be checked inside it; send the request through the "
                    + "proxy as plain HTTP or with a tool";
            remedy = "set access: full on " + e.rule + " (and no deny_rules) to allow any request to it";
        } else {
            reason = what + " is not allowed by " + e.rule + " (" + e.describe() + ")" + (audit ? " [audit only]" : "");
            remedy = "add to " + e.rule + ": rules: [{allow: {method: " + method + ", path: \"" + r.path() + "\"}}]";
        }
        return Net.of(new Decision(Verdict.DENY, "network", e.rule, reason, remedy, audit));
    }

    /**
     * The paths a deny rule is checked against: the canonical one, the one a server dropping trailing dots and
     * spaces from segments would serve ({@code /secret./x} is {@code /secret/x} on Windows), and each without a
     * trailing slash (Spring and others serve {@code /admin/} as {@code /admin}). A deny rule matching any of them
     * denies; allow rules see only the canonical path, so these forms can only make a decision stricter.
     */
    private static List<String> denyForms(String path) {
        if (path == null) return Collections.singletonList(null);
        Set<String> forms = new LinkedHashSet<>();
        for (String p : List.of(path, CanonicalPath.lenientAlias(path))) {
            forms.add(p);
            if (p.length() > 1 && p.endsWith("/")) forms.add(p.substring(0, p.length() - 1));
        }
        return List.copyOf(forms);
    }

    static String normalizeHost(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        if (h.startsWith("[") && h.endsWith("]")) h = h.substring(1, h.length() - 1);
        if (h.indexOf(':') >= 0) h = Cidr.canonicalIp(h);
        return h;
    }

    private Decision unattached(String agent, String layer) {
        if (closedReason != null) {
            return new Decision(Verdict.DENY, "policy", "policy:fail-closed", closedReason,
                    "fix the policy file; the guard denies everything until it loads", false);
        }
        return new Decision(Verdict.DENY, layer, agent + ":default-deny", "no policy is attached to agent '" + agent + "'",
                "attach a policy to agent '" + agent + "' under guard.policies in the config", false);
    }

    private static String clip(String s) {
        if (s == null) return "";
        return s.length() <= 120 ? s : s.substring(0, 120) + "...";
    }

    // ---- compiled form -----------------------------------------------------------------------------------------

    private record CName(String glob, Predicate<String> match, String rule) {
        static CName of(NameRule n) { return new CName(n.glob(), Globs.text(n.glob()), n.rule()); }
    }

    private record CToolRule(String rule, Predicate<String> tool, String glob, Predicate<String> pathTarget,
                             Predicate<String> textTarget, CommandRule command, Predicate<String> urlDeny,
                             Verdict decision) {
        boolean matches(String target, TargetKind kind, CommandLine.Parsed parsed) {
            if (kind == TargetKind.PATH) return pathTarget.test(target);
            if (kind == TargetKind.COMMAND) return decision == Verdict.ALLOW ? command.allows(parsed) : command.covers(parsed);
            if (kind == TargetKind.URL && decision != Verdict.ALLOW && urlDeny != null && urlDeny.test(target)) return true;
            return textTarget.test(target);
        }
    }

    /**
     * A deny or ask rule's URL glob ({@code https://host/secret/**}), matched as the network layer's deny rules match
     * paths: the scheme and host regardless of case, the path without its query, regardless of case, its bare name
     * and the forms other servers serve it under ({@link #denyForms}). So {@code /SECRET/x}, {@code /secret?x=1},
     * {@code /secret./x} and {@code /secret} are caught as the proxy would catch them. Null for a glob that is not a
     * URL.
     */
    private static Predicate<String> urlDenyGlob(String glob) {
        int scheme = glob.indexOf("://");
        if (scheme < 0) return null;
        int slash = glob.indexOf('/', scheme + 3);
        Predicate<String> origin = Globs.text((slash < 0 ? glob : glob.substring(0, slash)).toLowerCase(Locale.ROOT));
        Predicate<String> path = slash < 0 ? p -> true : denyGlob(glob.substring(slash));
        return url -> {
            int s = url.indexOf("://");
            if (s < 0) return false;
            int at = url.indexOf('/', s + 3);
            if (!origin.test((at < 0 ? url : url.substring(0, at)).toLowerCase(Locale.ROOT))) return false;
            String p = at < 0 ? "/" : url.substring(at);
            int q = p.indexOf('?');
            if (q >= 0) p = p.substring(0, q);
            for (String form : denyForms(p)) if (path.test(form)) return true;
            return false;
        };
    }

    private record CRoot(Path path, boolean write, String rule) {}

    private record CHttp(String rule, String method, String glob, Predicate<String> path) {
        boolean matches(String m, String p) {
            return ("*".equals(method) || method.equals(m)) && p != null && path.test(p);
        }
    }

    private record CCredential(String suffix, boolean wildcard, boolean oneLabel, String host, Injection injection) {
        boolean hostMatches(String h) { return wildcard ? wildcardMatch(h, suffix, oneLabel) : host.equals(h); }
    }

    private static boolean wildcardMatch(String host, String suffix, boolean oneLabel) {
        if (!host.endsWith(suffix) || host.length() == suffix.length()) return false;
        return !oneLabel || host.lastIndexOf('.', host.length() - suffix.length() - 1) < 0;
    }

    private static final class CEndpoint {
        final String rule, group, host, suffix;
        final boolean wildcard, oneLabel, l7, audit, connectable;
        final Set<Integer> ports;
        final Predicate<String> scope;
        final Access access;
        final List<CHttp> allow = new ArrayList<>(), deny = new ArrayList<>();
        final List<Predicate<String>> binaries;
        final List<String> binaryGlobs, allowedIps;

        CEndpoint(NetworkGroup g, Endpoint e) {
            rule = e.rule();
            group = g.key();
            host = e.host();
            wildcard = host.startsWith("*");
            oneLabel = host.startsWith("*.");
            suffix = wildcard ? host.substring(host.indexOf('.')) : null;
            ports = Set.copyOf(e.ports());
            scope = e.pathScope() == null ? null : Globs.path(e.pathScope());
            access = e.access();
            for (HttpRule h : e.allow()) allow.add(new CHttp(h.rule(), h.method(), h.path(), Globs.path(h.path())));
            for (HttpRule h : e.deny()) deny.add(new CHttp(h.rule(), h.method(), h.path(), denyGlob(h.path())));
            l7 = e.l7();
            audit = e.audit();
            connectable = !l7;
            binaries = g.binaries().isEmpty() ? null : g.binaries().stream().map(b -> Globs.path(b.glob())).toList();
            binaryGlobs = g.binaries().stream().map(Policy.Binary::glob).toList();
            allowedIps = e.allowedIps();
        }

        boolean hostMatches(String h) { return wildcard ? wildcardMatch(h, suffix, oneLabel) : host.equals(h); }

        boolean binaryMatches(String binary) {
            if (binaries == null) return true;
            if (binary == null) return false;
            for (Predicate<String> b : binaries) if (b.test(binary)) return true;
            return false;
        }

        boolean scopeMatches(String path) { return scope == null || path != null && scope.test(path); }

        /** The id of what allows the request, or null. */
        String allowing(String method, String path) {
            if (method == null) return connectable ? rule : null;
            if (!scopeMatches(path)) return null;
            if (!l7) return rule;
            if (access != null && access.allows(method)) return rule + " (access " + access.label() + ")";
            for (CHttp a : allow) if (a.matches(method, path)) return a.rule;
            return null;
        }

        String describe() {
            List<String> parts = new ArrayList<>();
            if (access != null) parts.add("access " + access.label());
            for (CHttp a : allow) parts.add("allow " + a.method + " " + a.glob);
            for (CHttp d : deny) parts.add("deny " + d.method + " " + d.glob);
            if (scope != null) parts.add("path scope");
            return parts.isEmpty() ? "connections only" : String.join(", ", parts);
        }
    }

    /**
     * A deny rule's path glob. {@code /secret/**} also denies {@code /secret} itself: servers serve the bare name
     * as (or redirect it to) the directory, so a deny rule that left it out would leave its index open. And it
     * matches regardless of case: IIS and ASP.NET routing are case-insensitive, so {@code /SECRET/x} is
     * {@code /secret/x} there (Unicode that case-folds to ASCII, such as {@code ſ}, is refused by the canonicaliser).
     */
    private static Predicate<String> denyGlob(String glob) {
        Predicate<String> exact = treeGlob(glob);
        Predicate<String> folded = treeGlob(glob.toLowerCase(Locale.ROOT));
        return p -> exact.test(p) || folded.test(p.toLowerCase(Locale.ROOT));
    }

    private static Predicate<String> treeGlob(String glob) {
        Predicate<String> all = Globs.path(glob);
        if (!glob.endsWith("/**") || glob.length() <= 3) return all;
        return all.or(Globs.path(glob.substring(0, glob.length() - 3)));
    }

    /** Everything one agent's attached policies allow, merged. */
    private static final class Compiled {
        final List<String> names;
        final boolean toolsUnrestricted;
        final List<CName> allowTools = new ArrayList<>(), askTools = new ArrayList<>(), denyTools = new ArrayList<>();
        final List<CToolRule> toolRules = new ArrayList<>();
        final List<CRoot> roots = new ArrayList<>();
        final Map<String, List<CEndpoint>> exactHosts = new HashMap<>();
        final List<CEndpoint> wildcardHosts = new ArrayList<>();
        final List<CCredential> credentials = new ArrayList<>();
        final boolean askUnknownHosts;

        /** @param workspaces every agent's workspace (real paths): where a symlink may have been planted */
        Compiled(Subject s, List<Policy> policies, List<Path> workspaces) {
            names = policies.stream().map(Policy::name).toList();
            toolsUnrestricted = policies.stream().allMatch(p -> p.tools() == null);
            boolean ask = false;
            for (Policy p : policies) {
                if (p.tools() != null) {
                    p.tools().allow().forEach(n -> allowTools.add(CName.of(n)));
                    p.tools().ask().forEach(n -> askTools.add(CName.of(n)));
                    p.tools().deny().forEach(n -> denyTools.add(CName.of(n)));
                    for (ToolRule r : p.tools().rules()) {
                        toolRules.add(new CToolRule(r.rule(), Globs.text(r.tool()), r.target(), Globs.path(r.target()),
                                Globs.text(r.target()), CommandRule.of(r.target()), urlDenyGlob(r.target()),
                                r.decision()));
                    }
                }
                if (p.filesystem() != null) {
                    p.filesystem().readOnly().forEach(r -> addRoot(roots, r, false, workspaces, s.workspace()));
                    p.filesystem().readWrite().forEach(r -> addRoot(roots, r, true, workspaces, s.workspace()));
                    if (p.filesystem().includeWorkdir() && s.workspace() != null) {
                        roots.add(new CRoot(real(s.workspace()), true, p.name() + ":filesystem_policy.include_workdir"));
                    }
                }
                for (NetworkGroup g : p.network().values()) {
                    for (Endpoint e : g.endpoints()) {
                        CEndpoint ce = new CEndpoint(g, e);
                        if (ce.wildcard) wildcardHosts.add(ce);
                        else exactHosts.computeIfAbsent(ce.host, k -> new ArrayList<>()).add(ce);
                    }
                }
                for (Credential cr : p.credentials().values()) {
                    Injection inj = new Injection(cr.header(), cr.template(), cr.secret());
                    for (String h : cr.hosts()) {
                        boolean w = h.startsWith("*");
                        credentials.add(new CCredential(w ? h.substring(h.indexOf('.')) : null, w, h.startsWith("*."), h, inj));
                    }
                }
                ask |= p.approvals().unknownHosts() == Verdict.ASK;
            }
            askUnknownHosts = ask;
            // longest root first; on equal roots the read-only one first (restriction wins)
            roots.sort(Comparator.comparingInt((CRoot r) -> -r.path.getNameCount()).thenComparing(r -> r.write));
            // drop duplicate credentials for the same host (two policies naming the same secret)
            Set<String> seen = new LinkedHashSet<>();
            credentials.removeIf(cr -> !seen.add(cr.host + "|" + cr.injection.header().toLowerCase(Locale.ROOT)));
        }

        /**
         * Adds a root as its real path, so a root under a symlinked directory still matches; but a root reached
         * through a symlink that lies in an agent's workspace is not followed: the agent could have planted it (before
         * a reload or a restart) to point the root anywhere. Kept as written, such a root matches no real path and
         * grants nothing, and the sandbox does not mount it. A read-only root the agent moved behind such a link
         * still protects what it moved, where that now is, if that is inside the agent's own workspace (so the link
         * can neither extend what the agent may read nor free what it must not write).
         */
        private static void addRoot(List<CRoot> roots, Root r, boolean write, List<Path> workspaces, Path own) {
            Path written = r.path().toAbsolutePath().normalize();
            Path real = real(written);
            if (real.equals(written) || RealPaths.linkInside(written, workspaces) == null) {
                roots.add(new CRoot(real, write, r.rule()));
                return;
            }
            log.warn("guard policy root {} ({}) goes through a symlink inside an agent's workspace; it is not "
                    + "followed, and the root grants nothing", written, r.rule());
            roots.add(new CRoot(written, write, r.rule()));
            if (!write && own != null && real.startsWith(real(own))) roots.add(new CRoot(real, false, r.rule()));
        }

        /** Roots are compared with real paths, so a root under a symlinked directory still matches. */
        private static Path real(Path p) {
            try {
                return p.toRealPath();
            } catch (IOException | SecurityException e) {
                return p.toAbsolutePath().normalize();
            }
        }
    }
}
