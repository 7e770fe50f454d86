package dev.carapace.testing;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The plumbing every harness test relies on: an empty {@link VendorTrap#attempts()} proves nothing unless a call to
 * the outside from a harness's Node really lands in the trap, and the test JVM's environment really stays out.
 */
class HarnessProcessTest {

    @TempDir Path home;

    @Test
    void aCallToTheOutsideLandsInTheTrapAndGoesNoFurther() {
        try (VendorTrap trap = new VendorTrap()) {
            HarnessProcess.Result r = HarnessProcess.command(home, HarnessProcess.node(), "-e", """
                    fetch('https://api.openai.com/v1/models')
                      .then(res => console.log('reached ' + res.status), e => console.log('refused'));""")
                    .proxyTo(trap)
                    .run(Duration.ofSeconds(30));

            assertThat(r.exitCode()).as(r.describe()).isZero();
            assertThat(r.stdout().strip()).as(r.describe()).isEqualTo("refused");
            assertThat(trap.attempts()).containsExactly("CONNECT api.openai.com:443 HTTP/1.1");
        }
    }

    @Test
    void theHarnessSeesOnlyTheEnvironmentItWasGiven() {
        HarnessProcess.Result r = HarnessProcess.command(home, HarnessProcess.node(), "-e",
                        "console.log(Object.keys(process.env).sort().join(' '))")
                .env("GIVEN_BY_TEST", "1")
                .run(Duration.ofSeconds(30));

        Set<String> given = new TreeSet<>(HarnessProcess.QUIET.keySet());
        given.addAll(List.of("HOME", "TMPDIR", "PATH", "LANG", "TERM", "GIVEN_BY_TEST"));
        Set<String> jvmOnly = new TreeSet<>(System.getenv().keySet());
        jvmOnly.removeAll(given);
        assertThat(jvmOnly).as("variables of the test JVM a leak would show").isNotEmpty();
        assertThat(r.exitCode()).as(r.describe()).isZero();
        assertThat(r.stdout().strip().split(" ")).containsExactlyInAnyOrderElementsOf(given);
    }
}
