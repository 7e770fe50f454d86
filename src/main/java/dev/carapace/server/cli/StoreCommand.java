package dev.carapace.server.cli;

import dev.carapace.config.CarapaceConfig;
import dev.carapace.store.Store;

import java.util.concurrent.Callable;

/**
 * A command that works on the store itself, with or without a running gateway: the config's store is opened for
 * {@link #run} and closed after it.
 */
abstract class StoreCommand extends CliCommand implements Callable<Integer> {

    @picocli.CommandLine.Mixin
    ConfigOptions common;

    @Override
    public Integer call() throws Exception {
        CarapaceConfig config = common.config();
        try (Store store = common.openStore(config)) {
            return run(config, store);
        }
    }

    abstract int run(CarapaceConfig config, Store store) throws Exception;
}
