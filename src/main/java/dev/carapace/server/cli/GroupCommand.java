package dev.carapace.server.cli;

/** A command that only holds subcommands ({@code carapace keys}, {@code carapace budget}, ...): alone, it prints its usage. */
abstract class GroupCommand extends CliCommand implements Runnable {

    @Override
    public void run() { spec.commandLine().usage(out()); }
}
