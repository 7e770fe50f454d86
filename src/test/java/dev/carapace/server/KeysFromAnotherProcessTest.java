package dev.carapace.server;

import dev.carapace.identity.KeyAdmin;
import dev.carapace.identity.Principal;
import dev.carapace.store.ChildProcesses;
import dev.carapace.store.Store;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Keys made by {@code carapace keys create} in another process while a gateway serves the same SQLite file work at
 * once, every one of them. Found from outside: the first worked, every later one was refused until a restart, because
 * the gateway's file check closed a descriptor of the database every second, which drops the process's SQLite locks
 * (POSIX), so the CLI, closing, took itself for the file's last user and deleted the WAL under the gateway.
 */
class KeysFromAnotherProcessTest {

    @TempDir Path data;

    /** {@code KeysFromAnotherProcessTest$Cli DB USER}: makes a key as the CLI does, prints it, and exits. */
    public static final class Cli {
        public static void main(String[] args) {
            try (Store store = Store.open("jdbc:sqlite:" + args[0], null, null, 2)) {
                KeyAdmin admin = new KeyAdmin(store.apiKeys(), Set.of("platform", "research"), Clock.systemUTC());
                System.out.println("KEY " + admin.create(args[1], "platform", Principal.Role.MEMBER, null).secret());
            }
        }
    }

    @Test
    void everyKeyTheCliMakesWhileTheGatewayServesWorksAtOnce() throws Exception {
        try (GatewayHarness h = new GatewayHarness(data)) {
            for (int i = 0; i < 4; i++) {
                Thread.sleep(1_200);   // the gateway's file check runs every second
                Process cli = ChildProcesses.start(Cli.class, data.resolve("carapace.db").toString(), "cli-user-" + i);
                String key = ChildProcesses.awaitLine(cli, "KEY ").substring("KEY ".length());
                assertThat(cli.waitFor(20, TimeUnit.SECONDS)).isTrue();
                HttpResponse<String> r = h.get("/v1/models", key);
                assertThat(r.statusCode()).as("key %d, made by another process: %s", i, r.body()).isEqualTo(200);
            }
        }
    }
}
