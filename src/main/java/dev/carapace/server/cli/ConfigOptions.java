package dev.carapace.server.cli;

import dev.carapace.config.CarapaceConfig;
import dev.carapace.config.ConfigException;
import dev.carapace.config.ConfigLoader;
import dev.carapace.server.Carapace;
import dev.carapace.store.Store;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/** The {@code --config} and {@code --data} options: where the config and the data live; shared by every command. */
final class ConfigOptions {
    @Option(names = "--config", paramLabel = "FILE",
            description = "The config file (default: $CARAPACE_CONFIG, else ./carapace.yaml if present, else an empty config).")
    Path config;

    @Option(names = "--data", paramLabel = "DIR", description = "The data folder for the embedded store (default: "
            + "$CARAPACE_DATA, else data/ beside the config file, else ./data).")
    Path data;

    CarapaceConfig config() throws ConfigException {
        Path file = configFile();
        return file == null ? CarapaceConfig.empty() : ConfigLoader.load(file);
    }

    /** The config file in use, or null for the empty config. */
    Path configFile() {
        Path file = config;
        if (file == null && System.getenv("CARAPACE_CONFIG") != null) file = Path.of(System.getenv("CARAPACE_CONFIG"));
        if (file == null && Files.exists(Path.of("carapace.yaml"))) file = Path.of("carapace.yaml");
        return file;
    }

    /**
     * The data folder: beside the config file unless said otherwise, wherever the command runs, so that
     * {@code keys create --config /etc/carapace/carapace.yaml} run from a home folder writes to the gateway's store,
     * not a new one there.
     */
    Path dataDir() {
        if (data != null) return data;
        String env = System.getenv("CARAPACE_DATA");
        if (env != null) return Path.of(env);
        Path file = configFile();
        return file == null ? Path.of("data") : file.toAbsolutePath().getParent().resolve("data");
    }

    /** The config's store, as the gateway opens it; the caller closes it. */
    Store openStore(CarapaceConfig config) {
        return Carapace.openStore(config, dataDir(), System::getenv);
    }

    /** The store the commands read and write, as a person would look for it. */
    String storeName(CarapaceConfig config) {
        return config.store().jdbcUrl(dataDir()).startsWith("jdbc:postgresql") ? "postgresql"
                : Store.sqliteFile(config.store().jdbcUrl(dataDir())).map(Path::toString).orElse("in memory");
    }
}
