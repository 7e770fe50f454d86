package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.model.ModelSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

import static dev.carapace.server.cli.Main.JSON;

/** {@code carapace models list}: the model portfolio of the config, read without a running server. */
@Command(name = "models", mixinStandardHelpOptions = true, description = "Show the model portfolio.",
        subcommands = ModelsCommand.List.class)
final class ModelsCommand extends GroupCommand {

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the configured models by tier.")
    static final class List extends ConfigViewCommand {
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        int run(CarapaceConfig config, PrintWriter out) throws Exception {
            if (json) {
                ArrayNode a = JSON.createArrayNode();
                for (ModelSpec m : config.models().values()) {
                    ObjectNode n = a.addObject().put("id", m.id()).put("tier", m.tier())
                            .put("privacy", m.privacy().name().toLowerCase())
                            .put("input_per_mtok", m.price().input()).put("output_per_mtok", m.price().output());
                    ArrayNode ds = n.putArray("deployments");
                    m.deployments().forEach(d -> ds.add(d.provider() + "/" + d.upstreamModel()));
                }
                out.println(JSON.writeValueAsString(a));
                return 0;
            }
            out.printf("%-28s %-11s %-9s %10s %10s  %s%n", "MODEL", "TIER", "PRIVACY", "IN $/M", "OUT $/M", "DEPLOYMENTS");
            for (ModelSpec m : config.models().values()) {
                out.printf("%-28s %-11s %-9s %10s %10s  %s%n", m.id(), m.tier(), m.privacy().name().toLowerCase(),
                        m.price().input().toPlainString(), m.price().output().toPlainString(),
                        String.join(", ", m.deployments().stream().map(d -> d.provider() + "/" + d.upstreamModel()).toList()));
            }
            return 0;
        }
    }
}
