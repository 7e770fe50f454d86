package dev.carapace.server.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.agent.FileGate;
import dev.carapace.agent.Following;
import dev.carapace.agent.Guard;
import dev.carapace.agent.UrlGate;
import dev.carapace.guard.ActingFor;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;
import dev.carapace.guard.policy.CommandLine;
import dev.carapace.skill.FollowedSkills;
import dev.carapace.skill.SkillScope;

import java.net.URI;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.carapace.text.Excerpt.clip;

/**
 * What a followed skill declared, enforced in front of the agent's guard. While a run follows skills (it loaded their
 * instructions with the {@code skill} tool, see {@link Following}), its calls are limited to what those skills
 * declared together ({@link SkillScope}), within what the guard behind allows: the guard decides first and its
 * denial stands; an allowed call is then refused when it is outside the skills' declarations:
 *
 * <ul>
 *   <li>a tool none of them declared (the skill tool and memory tools excepted);</li>
 *   <li>{@code exec} of a command line running a program none declared (a few harmless shell builtins aside), or
 *       one only known when it runs;</li>
 *   <li>{@code web_fetch} of a host none declared, and every redirect to one (the URL gate).</li>
 * </ul>
 *
 * The decision names the skills and what one would have to declare. A sub-agent is held to its own skills and to
 * those of every run above it (the runtime asks for each level). The network of a sandboxed command is narrowed
 * below this decision, where the connections are made ({@link SkillEgress}). Each refusal is audited.
 */
public final class SkillGuard implements Guard {

    /**
     * Shell builtins that run nothing else and reach nothing: a declared command may be written with them
     * ({@code cd dir && curl ...; echo $?}) without declaring them. Not {@code eval}, {@code exec}, {@code source},
     * {@code .}, {@code command}, {@code trap}, {@code read}, {@code let} or {@code declare}, which run other commands
     * or evaluate a name's array subscript (the command parser looks through the first ones anyway).
     */
    static final Set<String> SHELL_BUILTINS = Set.of("cd", "echo", "printf", "true", "false", "test", "[", "pwd",
            ":", "exit");

    /**
     * Options with which two of them take a variable name, which bash evaluates: {@code printf -v 'a[$(curl x)]' v}
     * and {@code test -v 'a[$(curl x)]'} run the substitution in the subscript, quoted so that no parser sees it.
     */
    private static final Map<String, List<String>> NAME_OPTIONS = Map.of("printf", List.of("-v"),
            "test", List.of("-v", "-R"), "[", List.of("-v", "-R"));

    private final Guard inner;
    private final FollowedSkills skills;
    private final AuditSink audit;
    private final Clock clock;
    private final ActingFor actingFor;

    /** Whether exec's commands run in the sandbox, whose network {@link SkillEgress} narrows. */
    private final boolean execSandboxed;

    /**
     * @param execSandboxed exec runs in bubblewrap behind the egress proxy; when it does not ({@code exec: local}),
     *                      a run that follows skills may not exec at all, since nothing could hold its commands to
     *                      the skills' hosts
     */
    public SkillGuard(Guard inner, FollowedSkills skills, AuditSink audit, Clock clock,
                      ActingFor actingFor, boolean execSandboxed) {
        this.execSandboxed = execSandboxed;
        this.inner = inner;
        this.skills = skills;
        this.audit = audit;
        this.clock = clock;
        this.actingFor = actingFor;
    }

    @Override
    public Decision decide(String agentId, String sessionKey, String tool, JsonNode arguments) {
        return inner.decide(agentId, sessionKey, tool, arguments);
    }

    @Override
    public Decision decide(String agentId, String sessionKey, String tool, JsonNode arguments, Following following) {
        Decision d = inner.decide(agentId, sessionKey, tool, arguments, following);
        if (d == null || d.verdict() == Decision.Verdict.DENY || following == null) return d;
        String loading = Following.SKILL_TOOL.equals(tool) ? Following.loaded(arguments) : null;
        // The needs as they are when the session loads the skill are the ones it is held to.
        if (loading != null) skills.loading(agentId, following.sessionKey(), loading);
        SkillScope scope = skills.scope(following);
        if (scope == null) return d;
        Decision refused = !execSandboxed && tool.equals("exec") ? unsandboxed(scope) : refusal(scope, tool, arguments);
        if (refused == null) return d;
        audit.record(new AuditEvent(clock.instant(), actingFor.principal(agentId, sessionKey), agentId, sessionKey, refused.layer(),
                tool, refused.target(), "deny", refused.rule(), refused.reason()));
        return refused;
    }

    private static Decision unsandboxed(SkillScope scope) {
        return new Decision(Decision.Verdict.DENY, "the run follows " + scope.describe() + ", and exec runs without "
                + "the sandbox here (tools.exec: local), where nothing would hold a command to the hosts the skills "
                + "declared", rule(scope), "process", "exec", "an operator can set tools.exec: bwrap, under which a "
                + "following run's commands get only the network its skills declared");
    }

    /** Why {@code scope} does not cover the call, or null when it does. */
    static Decision refusal(SkillScope scope, String tool, JsonNode arguments) {
        String following = "the run follows " + scope.describe();
        if (!scope.allowsTool(tool)) {
            return new Decision(Decision.Verdict.DENY, following + ", which declared " + list("tools", scope.tools())
                    + ": '" + clip(tool, 60) + "' is not among them", rule(scope), "tool", tool,
                    declare(scope, "the tool '" + clip(tool, 60) + "' in its allowed-tools"));
        }
        if (tool.equals("exec")) {
            String command = arguments == null ? "" : arguments.path("command").asText("");
            List<List<String>> commands = CommandLine.argvs(command);
            if (commands == null) {
                return new Decision(Decision.Verdict.DENY, following + ": the command runs a program that is only "
                        + "known when it runs, so it cannot be checked against the declared commands "
                        + list("", scope.commands()), rule(scope), "process", clip(command, 200),
                        "write the command with its programs named");
            }
            for (List<String> argv : commands) {
                String p = argv.getFirst();
                if (evaluatesAName(argv)) {
                    return new Decision(Decision.Verdict.DENY, following + ": '" + p + "' with "
                            + String.join(" or ", NAME_OPTIONS.get(p)) + " evaluates a variable name, whose array "
                            + "subscript can run any command, so it is not a harmless builtin here", rule(scope),
                            "process", clip(command, 200),
                            "write the command without " + p + " " + String.join("/", NAME_OPTIONS.get(p)));
                }
                if (!SHELL_BUILTINS.contains(p) && !scope.allowsCommand(p)) {
                    return new Decision(Decision.Verdict.DENY, following + ", which declared "
                            + list("commands", scope.commands()) + ": '" + clip(p, 60) + "' is not among them",
                            rule(scope), "process", clip(p, 60),
                            declare(scope, "'" + clip(p, 60) + "' in metadata.openclaw.requires.bins"));
                }
            }
        }
        if (tool.equals("web_fetch")) {
            String url = arguments == null ? "" : arguments.path("url").asText("");
            return hostRefusal(scope, url);
        }
        return null;
    }

    /** A builtin given an option that makes bash evaluate a variable name ({@code printf -v}, {@code test -v}). */
    private static boolean evaluatesAName(List<String> argv) {
        List<String> options = NAME_OPTIONS.get(argv.getFirst());
        if (options == null) return false;
        // printf takes -v NAME (or -vNAME) before its format only; test's -v and -R are operators anywhere
        if (argv.getFirst().equals("printf")) return argv.size() > 1 && argv.get(1).startsWith("-v");
        return argv.subList(1, argv.size()).stream().anyMatch(options::contains);
    }

    /** Why {@code scope} does not let {@code url} be fetched, or null when it does. */
    static Decision hostRefusal(SkillScope scope, String url) {
        URI uri;
        try {
            uri = URI.create(url.strip());
        } catch (IllegalArgumentException e) {
            uri = null;
        }
        String host = uri == null ? null : uri.getHost();
        int port = uri == null ? -1 : uri.getPort() >= 0 ? uri.getPort()
                : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
        if (host != null && scope.allowsHost(host, port)) return null;
        String target = host == null ? clip(url, 200) : host + ":" + port;
        String declared = scope.network() ? "declared " + list("hosts", scope.hosts())
                : "declared no network access";
        return new Decision(Decision.Verdict.DENY, "the run follows " + scope.describe() + ", which " + declared
                + ": " + target + " is not among them", rule(scope), "network", target,
                declare(scope, (host == null ? "the URL's host" : "'" + host + "'") + " in metadata.carapace.hosts"));
    }

    @Override
    public FileGate files(String agentId, String sessionKey) {
        return inner.files(agentId, sessionKey);
    }

    @Override
    public UrlGate urls(String agentId, String sessionKey) {
        return inner.urls(agentId, sessionKey);
    }

    /** A redirect is judged as the URL the model named: by the guard behind, then by every level's skills. */
    @Override
    public UrlGate urls(String agentId, String sessionKey, Following following) {
        UrlGate behind = inner.urls(agentId, sessionKey, following);
        List<SkillScope> scopes = skills.scopes(following);
        if (scopes.isEmpty()) return behind;
        return (tool, url) -> {
            String refused = behind.refusal(tool, url);
            if (refused != null) return refused;
            for (SkillScope s : scopes) {
                Decision d = hostRefusal(s, url);
                if (d != null) {
                    audit.record(new AuditEvent(clock.instant(), actingFor.principal(agentId, sessionKey), agentId, sessionKey,
                            "network", tool, d.target(), "deny", d.rule(), "redirect: " + d.reason()));
                    return d.reason() + " (rule " + d.rule() + "; " + d.remedy() + ")";
                }
            }
            return null;
        };
    }

    private static String rule(SkillScope scope) {
        return "skill.needs:" + String.join(",", scope.skills().stream().map(SkillScope.Declared::name).toList());
    }

    private static String declare(SkillScope scope, String what) {
        return scope.declarer() + " would have to declare " + what + " (a changed skill is a new version, reviewed "
                + "again), or the run must not follow it";
    }

    private static String list(String what, java.util.Collection<String> items) {
        String prefix = what.isEmpty() ? "" : what + " ";
        return items.isEmpty() ? "no " + (what.isEmpty() ? "commands" : what)
                : prefix + "(" + String.join(", ", items) + ")";
    }
}
