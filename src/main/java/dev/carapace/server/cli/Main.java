package dev.carapace.server.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.config.ConfigException;
import dev.carapace.model.ApiException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.InputStream;
import java.io.PrintWriter;

/**
 * The {@code carapace} command line and the one place it is set up: how commands are made, how errors are printed
 * and which exit codes they give. Every command has {@code --help} and exits non-zero on error.
 */
@Command(name = "carapace", mixinStandardHelpOptions = true, version = "carapace 0.1.0",
        description = "The enterprise agent gateway: OpenAI/Anthropic-compatible, with budgets, tiers and policy.",
        subcommands = {ServeCommand.class, ConfigCommand.class, KeysCommand.class, ModelsCommand.class,
                BudgetCommand.class, SpendCommand.class, AgentsCommand.class, ChatCommand.class,
                PolicyCommand.class, AuditCommand.class, ApprovalsCommand.class, PrivacyCommand.class, JobsCommand.class,
                SkillsCommand.class, MemoryCommand.class, ChannelsCommand.class})
public final class Main extends GroupCommand {

    static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs one command line; the exit code is returned, never {@code System.exit}ed, so tests can call it. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        return run(args, System.in, out, err);
    }

    /** As {@link #run(String[], PrintWriter, PrintWriter)}, with {@code in} as what {@code chat} reads its lines from. */
    public static int run(String[] args, InputStream in, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main(), factory(in));
        cl.setOut(new PrintWriter(new TerminalSafeWriter(out), true));
        cl.setErr(new PrintWriter(new TerminalSafeWriter(err), true));
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("error: " + message(e));
            return 1;
        });
        cl.setParameterExceptionHandler((e, given) -> {
            CommandLine line = e.getCommandLine();
            String m = e.getMessage().startsWith("Error: ") ? e.getMessage().substring(7) : e.getMessage();
            line.getErr().println("error: " + m + " (see '" + line.getCommandSpec().qualifiedName() + " --help')");
            return 2;
        });
        return cl.execute(args);
    }

    /** Creates commands as picocli does, handing each the input the command line was given. */
    private static CommandLine.IFactory factory(InputStream in) {
        CommandLine.IFactory defaults = CommandLine.defaultFactory();
        return new CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> cls) throws Exception {
                K made = defaults.create(cls);
                if (made instanceof CliCommand c) c.in = in;
                return made;
            }
        };
    }

    private static String message(Exception e) {
        if (e instanceof ConfigException || e instanceof ApiException) return e.getMessage();
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
