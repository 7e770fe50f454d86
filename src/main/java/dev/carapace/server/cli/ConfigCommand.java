package dev.carapace.server.cli;

import dev.carapace.config.ConfigLoader;
import dev.carapace.config.WritableRoots;
import dev.carapace.yaml.Problem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.concurrent.Callable;

/** {@code carapace config check}: validates a config file as {@code serve} would load it. */
@Command(name = "config", mixinStandardHelpOptions = true, description = "Work with config files.",
        subcommands = ConfigCommand.Check.class)
final class ConfigCommand extends GroupCommand {

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Validate a config file: prints 'ok', or every problem as FILE:LINE:COLUMN: PATH: MESSAGE.")
    static final class Check extends CliCommand implements Callable<Integer> {
        @Parameters(paramLabel = "FILE") Path file;
        @Option(names = "--data", paramLabel = "DIR", description = "The data folder serve would use, checked to lie "
                + "outside every agent's reach (default: $CARAPACE_DATA, else data/ beside the config file, else ./data).")
        Path data;

        @Override
        public Integer call() {
            ConfigLoader.Result r = ConfigLoader.check(file);
            PrintWriter out = out();
            PrintWriter err = err();
            r.warnings().forEach(w -> err.println("warning: " + w));
            java.util.List<Problem> errors = new ArrayList<>(r.errors());
            if (r.config() != null) {
                ConfigOptions where = new ConfigOptions();
                where.data = data;
                String problem = WritableRoots.dataDirProblem(r.config(), where.dataDir());
                if (problem != null) errors.add(new Problem(file.toString(), 0, 0, "--data", problem));
            }
            if (!errors.isEmpty()) {
                errors.forEach(err::println);
                err.println(errors.size() + (errors.size() == 1 ? " error" : " errors"));
                return 1;
            }
            out.println("ok");
            return 0;
        }
    }
}
