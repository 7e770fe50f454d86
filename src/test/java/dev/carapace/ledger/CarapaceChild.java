package dev.carapace.ledger;

import dev.carapace.config.ConfigLoader;
import dev.carapace.identity.Principal;
import dev.carapace.server.Carapace;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Clock;

/**
 * A gateway in its own JVM, for crash tests: {@code CarapaceChild CONFIG_FILE DATA_DIR BUDGET_USD} starts Carapace
 * on the config and data dir, gives team platform a monthly budget of BUDGET_USD, creates a key for alice (team
 * platform) and one for bob (team research, which has no budget), prints {@code READY <port> <alice's key> <bob's key>}
 * and serves until it is killed. Its environment has {@code UP_KEY} and {@code METRICS_TOKEN} ({@link #METRICS_TOKEN}).
 */
public final class CarapaceChild {

    /** What {@code METRICS_TOKEN} holds in the child: a config's {@code server.metrics_token_env} may name it. */
    public static final String METRICS_TOKEN = "child-metrics-token";

    private CarapaceChild() {}

    public static void main(String[] args) throws Exception {
        var config = ConfigLoader.load(Path.of(args[0]));
        Carapace c = Carapace.start(config, Path.of(args[1]), name -> switch (name) {
                    case "UP_KEY" -> "secret-up";
                    case "METRICS_TOKEN" -> METRICS_TOKEN;
                    default -> System.getenv(name);
                },
                Clock.systemUTC(), 0);
        c.ledger().budgets().set(new Budgets.Request("team", "platform", new BigDecimal(args[2]), null, "month", "UTC", "USD",
                "", null));
        String key = c.keyAdmin().create("alice", "platform", Principal.Role.MEMBER, null).secret();
        String unbudgeted = c.keyAdmin().create("bob", "research", Principal.Role.MEMBER, null).secret();
        System.out.println("READY " + c.port() + " " + key + " " + unbudgeted);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
