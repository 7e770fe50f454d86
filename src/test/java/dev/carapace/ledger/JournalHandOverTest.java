package dev.carapace.ledger;

import dev.carapace.server.Carapace;
import dev.carapace.store.Store;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** Who holds the ledger journal when a gateway starts while a CLI command has the store open. */
class JournalHandOverTest {

    @TempDir Path dir;

    /**
     * Regression: a gateway that started while a CLI command (a {@code budget set} just after a crash) held the
     * journal ran without it for its whole life, each budget decision a transaction of its own, with no word in the
     * log. It now waits for the command and takes the journal.
     */
    @Test
    void aGatewayStartingWhileACliCommandHoldsTheJournalWaitsAndTakesIt() throws Exception {
        Path data = dir.resolve("data");
        String yaml = LedgerTestKit.yaml("http://127.0.0.1:9/v1", "5s", "{input: 3, output: 6}", "");
        try (Carapace first = LedgerTestKit.start(yaml, data, Clock.systemUTC())) {
            assertThat(first.store().journalHeldElsewhere()).isFalse();
        }
        Store cli = Store.open("jdbc:sqlite:" + data.resolve("carapace.db"), null, null, 1);
        assertThat(cli.journalHeldElsewhere()).as("the command holds it").isFalse();
        Thread done = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(1_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            cli.close();
        });
        long started = System.nanoTime();
        try (Carapace gateway = LedgerTestKit.start(yaml, data, Clock.systemUTC())) {
            assertThat(gateway.store().journalHeldElsewhere()).as("the gateway took it once the command let go").isFalse();
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(Duration.ofMillis(900));
        }
        done.join();
    }
}
