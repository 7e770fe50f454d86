package dev.carapace.server.cli;

import dev.carapace.config.CarapaceConfig;
import dev.carapace.server.Carapace;
import dev.carapace.server.logging.Logging;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code carapace serve}: starts the gateway ({@link Carapace#start}) and runs it until the process is stopped. */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the gateway until stopped.")
final class ServeCommand extends CliCommand implements Callable<Integer> {
    @Mixin ConfigOptions common;

    @Option(names = "--port", description = "Listen on this port instead of the config's (0: any free port).")
    Integer port;

    @Override
    public Integer call() throws Exception {
        CarapaceConfig config = common.config();
        Logging.configure(config.logging().json());
        Carapace carapace = Carapace.start(config, common.configFile(), common.dataDir(), System::getenv,
                Clock.systemUTC(), port);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            carapace.close();
            stopped.countDown();
        }));
        out().printf("Carapace listening on http://%s:%d (%d models, store %s)%n",
                config.server().host(), carapace.port(), config.models().size(),
                carapace.store().postgres() ? "postgresql" : common.dataDir().resolve("carapace.db"));
        stopped.await();
        return 0;
    }
}
