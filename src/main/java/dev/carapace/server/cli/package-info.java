/**
 * The {@code carapace} command line: {@link dev.carapace.server.cli.Main} (the entry point and the one picocli
 * set-up: how commands are made, how errors print, which exit codes they give) and one file per command.
 *
 * <p>Commands extend {@code CliCommand} (their streams, {@code fail} for exit code 1, {@code usageError} for a
 * mistake in the command line, exit code 2). A command that only holds subcommands extends {@code GroupCommand};
 * one that only shows the config extends {@code ConfigViewCommand}; one that works on the store extends
 * {@code StoreCommand}, which opens the config's store as the gateway does ({@code --config} and {@code --data} are
 * {@code ConfigOptions}). To add a command: a class here with picocli's {@code @Command}, listed in {@code Main}'s
 * subcommands.
 */
package dev.carapace.server.cli;
