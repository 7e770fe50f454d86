package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.agent.AgentSpec;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.server.json.AgentJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Files;

/** {@code carapace agents list|show}: the agents of the config, read without a running server (like {@code models list}). */
@Command(name = "agents", mixinStandardHelpOptions = true, description = "Show the configured agents.",
        subcommands = {AgentsCommand.List.class, AgentsCommand.Show.class})
final class AgentsCommand extends GroupCommand {

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the agents: model, tools, owner.")
    static final class List extends ConfigViewCommand {
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(CarapaceConfig config, PrintWriter out) throws Exception {
            if (json) {
                ArrayNode a = AgentJson.JSON.createArrayNode();
                config.agents().values().forEach(agent -> a.add(AgentJson.agent(agent)));
                out.println(AgentJson.JSON.writeValueAsString(a));
                return 0;
            }
            if (config.agents().isEmpty()) {
                out.println("No agents are configured (add them under 'agents:' or in agents/NAME/agent.yaml).");
                return 0;
            }
            String row = "%-20s %-22s %-20s %s%n";
            out.printf(row, "AGENT", "MODEL", "OWNER", "TOOLS");
            for (AgentSpec a : config.agents().values()) {
                out.printf(row, a.id(), a.model(), a.owner(), String.join(", ", a.tools()));
            }
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one agent's settings.")
    static final class Show extends ConfigViewCommand {
        @Parameters(paramLabel = "ID", description = "The agent's id (see 'carapace agents list').") String id;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(CarapaceConfig config, PrintWriter out) throws Exception {
            AgentSpec a = config.agents().get(id);
            if (a == null) {
                return fail("no agent '" + id + "' (" + (config.agents().isEmpty()
                        ? "no agents are configured" : "agents: " + String.join(", ", config.agents().keySet())) + ")");
            }
            if (json) {
                ObjectNode n = AgentJson.agent(a).put("workspace", a.workspace().toString());
                out.println(AgentJson.JSON.writeValueAsString(n));
                return 0;
            }
            AgentSpec.Limits l = a.limits();
            String row = "%-12s %s%n";
            out.printf(row, "agent", a.id());
            out.printf(row, "model", a.model() + (a.fallbacks().isEmpty() ? "" : " (fallbacks: " + String.join(", ", a.fallbacks()) + ")"));
            out.printf(row, "tools", a.tools().isEmpty() ? "none" : String.join(", ", a.tools()));
            out.printf(row, "owner", a.owner());
            out.printf(row, "workspace", a.workspace() + (Files.isRegularFile(a.workspace().resolve("AGENTS.md")) ? ""
                    : " (no AGENTS.md: the agent has no instructions)"));
            out.printf(row, "limits", l.maxSteps() + " steps, " + AgentJson.duration(l.maxWall()) + ", " + l.maxTokens()
                    + " tokens per run; tools " + AgentJson.duration(l.toolTimeout()) + " and " + l.maxToolOutputBytes()
                    + " bytes per call");
            out.printf(row, "on busy", a.onBusy().name().toLowerCase(java.util.Locale.ROOT));
            if (a.policy() != null) out.printf(row, "policy", a.policy());
            out.printf(row, "sessions", "agent:" + a.id() + ":NAME (default NAME: main)");
            return 0;
        }
    }
}
