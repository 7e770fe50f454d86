package dev.carapace.server;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The caps derived from the open-files limit share out what the descriptors already open leave. */
class OpenFilesTest {

    @Test
    void twoFifthsOfWhatTheLimitLeavesAfterWhatIsOpenAndTheReserve() {
        assertThat(OpenFiles.share(20_000, 100)).isEqualTo((20_000 - 100 - 64) * 2 / 5);
        // a JVM on a long class path holds ~150 descriptors before the first call: the old (limit - 64) * 2/5 gave
        // 76 client and 76 upstream connections for a limit of 256, which the kernel refused long before
        assertThat(OpenFiles.share(256, 150)).isEqualTo(16);
        assertThat(OpenFiles.share(1_024, 40)).isEqualTo((1_024 - 40 - 64) * 2 / 5);
        assertThat(OpenFiles.share(100, 200)).as("never below a working minimum").isEqualTo(16);
        assertThat(OpenFiles.share(Long.MAX_VALUE, 0)).isEqualTo(1_000_000);
    }

    @Test
    void aConfiguredCapIsTakenAsIs() {
        assertThat(OpenFiles.clientConnections(123)).isEqualTo(123);
        assertThat(OpenFiles.upstreamConnections(45)).isEqualTo(45);
        assertThat(OpenFiles.upstreamConnections(0)).isEqualTo(OpenFiles.share(OpenFiles.limit(), OpenFiles.open()))
                .isGreaterThanOrEqualTo(16);
    }
}
