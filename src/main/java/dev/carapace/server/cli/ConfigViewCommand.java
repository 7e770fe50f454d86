package dev.carapace.server.cli;

import dev.carapace.config.CarapaceConfig;
import picocli.CommandLine.Mixin;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** A command that shows what the config says: it reads the config and nothing else (no store, no running gateway). */
abstract class ConfigViewCommand extends CliCommand implements Callable<Integer> {

    @Mixin
    ConfigOptions common;

    @Override
    public Integer call() throws Exception {
        return run(common.config(), out());
    }

    abstract int run(CarapaceConfig config, PrintWriter out) throws Exception;
}
