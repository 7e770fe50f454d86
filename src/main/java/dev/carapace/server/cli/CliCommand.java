package dev.carapace.server.cli;

import picocli.CommandLine;

import java.io.InputStream;
import java.io.PrintWriter;

/**
 * What every {@code carapace} command has: the streams {@link Main#run} gave it, and the two ways it reports a
 * problem (exit code 1 for a failure, 2 for a mistake in the command line).
 */
abstract class CliCommand {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** What commands that read text (chat, privacy) read; {@link Main#run} hands each command its input. */
    InputStream in = System.in;

    PrintWriter out() { return spec.commandLine().getOut(); }

    PrintWriter err() { return spec.commandLine().getErr(); }

    /** Prints {@code error: MESSAGE} and gives the exit code of a failed command, 1. */
    int fail(String message) {
        err().println("error: " + message);
        return 1;
    }

    /** A mistake in the command line: printed with a pointer to {@code --help}, exit code 2. */
    CommandLine.ParameterException usageError(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
