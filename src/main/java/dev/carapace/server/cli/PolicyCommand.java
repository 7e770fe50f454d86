package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.Agents;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.guard.NetworkRules.NetworkRequest;
import dev.carapace.guard.call.Explanation;
import dev.carapace.guard.call.Targets;
import dev.carapace.guard.policy.Policy;
import dev.carapace.guard.policy.PolicyEngine;
import dev.carapace.guard.policy.PolicyException;
import dev.carapace.guard.policy.PolicyLoader;
import dev.carapace.guard.policy.PolicyWatcher;
import dev.carapace.server.GuardWiring;
import dev.carapace.server.adapter.PolicyGuard;
import dev.carapace.server.json.AgentJson;
import dev.carapace.yaml.Problem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code carapace policy check|explain}: validate a policy file; show which rule decides a call and why. */
@Command(name = "policy", mixinStandardHelpOptions = true, description = "Check guard policies and explain decisions.",
        subcommands = {PolicyCommand.Check.class, PolicyCommand.Explain.class})
final class PolicyCommand extends GroupCommand {

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Validate a policy file: prints a summary, or every problem as FILE:LINE:COLUMN: PATH: MESSAGE.")
    static final class Check extends CliCommand implements Callable<Integer> {
        @Parameters(paramLabel = "FILE") Path file;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = out();
            Policy p;
            try {
                p = PolicyLoader.load(file);
            } catch (PolicyException e) {
                if (json) {
                    ObjectNode n = AgentJson.JSON.createObjectNode().put("ok", false);
                    ArrayNode errors = n.putArray("errors");
                    for (Problem pr : e.problems()) {
                        errors.addObject().put("file", pr.file()).put("line", pr.line()).put("column", pr.column())
                                .put("path", pr.path()).put("message", pr.message());
                    }
                    out.println(AgentJson.JSON.writeValueAsString(n));
                } else {
                    PrintWriter err = err();
                    e.problems().forEach(err::println);
                    err.println(e.problems().size() + (e.problems().size() == 1 ? " error" : " errors"));
                }
                return 1;
            }
            int endpoints = p.network().values().stream().mapToInt(g -> g.endpoints().size()).sum();
            if (json) {
                ObjectNode n = AgentJson.JSON.createObjectNode().put("ok", true).put("name", p.name())
                        .put("network_groups", p.network().size()).put("endpoints", endpoints)
                        .put("filesystem", p.filesystem() != null).put("tools", p.tools() != null)
                        .put("credentials", p.credentials().size());
                out.println(AgentJson.JSON.writeValueAsString(n));
            } else {
                out.println("ok: " + p.network().size() + " network groups, " + endpoints + " endpoints"
                        + (p.filesystem() == null ? ", no filesystem_policy (no file access)"
                        : ", filesystem: " + p.filesystem().readOnly().size() + " read-only and "
                        + p.filesystem().readWrite().size() + " read-write roots"
                        + (p.filesystem().includeWorkdir() ? " plus the workspace" : ""))
                        + (p.tools() == null ? ", tools not restricted by name" : ", tools: " + p.tools().allow().size()
                        + " allow, " + p.tools().ask().size() + " ask, " + p.tools().deny().size() + " deny, "
                        + p.tools().rules().size() + " rules")
                        + (p.credentials().isEmpty() ? "" : ", " + p.credentials().size() + " credentials"));
            }
            return 0;
        }
    }

    @Command(name = "explain", mixinStandardHelpOptions = true,
            description = {"Show which rule decides a tool call and why, layer by layer, with the remedy for a refusal.",
                    "Example: carapace policy explain --agent coder --tool web_fetch --target https://api.github.com/repos/x",
                    "Without --tool, the target is a network destination (a URL, or HOST:PORT for a CONNECT tunnel)."})
    static final class Explain extends CliCommand implements Callable<Integer> {
        @Mixin ConfigOptions common;
        @Option(names = "--agent", required = true, paramLabel = "AGENT") String agent;
        @Option(names = "--tool", paramLabel = "TOOL", description = "A tool name (read, write, exec, web_fetch, ...).") String tool;
        @Option(names = "--target", paramLabel = "X",
                description = "The path, command or URL of the call; or a URL or HOST:PORT without --tool.") String target;
        @Option(names = "--method", paramLabel = "METHOD", defaultValue = "GET",
                description = "HTTP method for a network URL without --tool (default: GET).") String method;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        public Integer call() throws Exception {
            if (tool == null && target == null) {
                throw usageError("give --tool, --target, or both");
            }
            CarapaceConfig config = common.config();
            if (!config.agents().containsKey(agent)) {
                return fail("no agent '" + agent + "' (" + (config.agents().isEmpty()
                        ? "no agents are configured" : "agents: " + String.join(", ", config.agents().keySet())) + ")");
            }
            PolicyWatcher w = GuardWiring.load(config, common.configFile(), common.dataDir(), e -> { }, Clock.systemUTC());
            if (w == null) {
                return fail("the config attaches no guard policy (guard.policies); agents "
                        + "are held to their tool lists only");
            }
            List<PolicyEngine.Decision> steps;
            String verdict;
            String rule;
            if (tool == null) {
                NetworkRequest r;
                try {
                    r = Targets.request(agent, target, method.toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw usageError("--target: " + e.getMessage());
                }
                PolicyEngine.Decision d = w.current().network(r);
                steps = List.of(d);
                verdict = d.allowed() ? (d.audit() ? "allow (audit only: would be denied)" : "allow")
                        : d.verdict().name().toLowerCase(Locale.ROOT);
                rule = d.rule();
            } else {
                PolicyGuard g = new PolicyGuard(new Agents(config.agents().values()), w::current, e -> { }, Clock.systemUTC());
                Explanation x = g.policy().explain(agent, tool, target);
                steps = x.steps();
                verdict = x.audit() ? "allow (audit only: would be denied)" : x.decision().verdict().name().toLowerCase(Locale.ROOT);
                rule = x.decision().rule();
            }
            PrintWriter out = out();
            if (json) {
                ObjectNode n = AgentJson.JSON.createObjectNode().put("agent", agent).put("tool", tool).put("target", target)
                        .put("decision", verdict).put("rule", rule);
                n.putPOJO("policies", w.current().policiesOf(agent));
                ArrayNode a = n.putArray("steps");
                for (PolicyEngine.Decision d : steps) {
                    a.addObject().put("layer", d.layer()).put("verdict", d.verdict().name().toLowerCase(Locale.ROOT))
                            .put("rule", d.rule()).put("reason", d.reason()).put("remedy", d.remedy()).put("audit", d.audit());
                }
                out.println(AgentJson.JSON.writeValueAsString(n));
                return 0;
            }
            String row = "%-10s %s%n";
            out.printf(row, "agent", agent + " (policies: " + (w.current().policiesOf(agent).isEmpty() ? "none"
                    : String.join(", ", w.current().policiesOf(agent))) + ")");
            if (tool != null) out.printf(row, "tool", tool);
            if (target != null) out.printf(row, "target", target);
            for (PolicyEngine.Decision d : steps) {
                out.printf(row, d.layer(), d.verdict().name().toLowerCase(Locale.ROOT) + (d.audit() ? " (audit only)" : "")
                        + " by " + d.rule() + (d.reason() == null ? "" : ": " + d.reason()));
                if (d.remedy() != null) out.printf(row, "", "remedy: " + d.remedy());
            }
            out.printf(row, "decision", verdict + " (" + rule + ")");
            return 0;
        }
    }
}
