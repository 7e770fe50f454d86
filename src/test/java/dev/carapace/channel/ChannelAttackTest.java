package dev.carapace.channel;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** Attacks on who a channel's sender is taken to be, without a gateway: pairing guesses and case folding. */
class ChannelAttackTest {

    @Test
    void wrongPairingCodesSentAllAtOnceStillStopAtTenAnHour() throws Exception {
        int attempts = 40;
        AtomicInteger lookups = new AtomicInteger();
        CountDownLatch together = new CountDownLatch(attempts);
        ChannelStore store = (ChannelStore) Proxy.newProxyInstance(ChannelStore.class.getClassLoader(),
                new Class<?>[]{ChannelStore.class}, (proxy, method, args) -> {
                    if (!method.getName().equals("takePairing")) throw new UnsupportedOperationException(method.getName());
                    lookups.incrementAndGet();
                    together.countDown();
                    together.await(300, TimeUnit.MILLISECONDS);   // every guess in flight at once, as a race would have it
                    return Optional.empty();
                });
        Pairings pairings = new Pairings(store, Clock.systemUTC());
        List<Future<?>> guesses = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < attempts; i++) {
                String guess = String.format("%010d", i);
                guesses.add(pool.submit(() -> pairings.take(guess, "platform/mallory (key ck_abc)")));
            }
        }
        assertThat(lookups.get()).isEqualTo(Pairings.WRONG_CODES_PER_HOUR);
        assertThat(guesses).allMatch(f -> f.state() == Future.State.FAILED);
    }

    @Test
    void aKelvinSignInAnEmailSenderDoesNotFoldIntoTheBoundAddressesK() {
        assertThat(Identities.normalise("email:\u212Aate@Corp.Example")).isEqualTo("email:\u212Aate@corp.example");
        assertThat(Identities.normalise("email:KATE@CORP.EXAMPLE")).isEqualTo("email:kate@corp.example");
        assertThat(Identities.normalise("slack:T01:U02")).isEqualTo("slack:T01:U02");
    }

    @Test
    void aSendersDisplayNameCarriesNoTerminalEscapesOrBidiOverridesToTheOperatorsScreen() {
        Sender s = new Sender("telegram", "42", "\u001b]8;;https://evil.example\u0007Eve\u001b[2J\u202e\n\tCFO");
        assertThat(s.name()).isEqualTo("]8;;https://evil.example Eve [2J CFO");
        assertThat(new Sender("telegram", "42", "\u200b\u0000 ").name()).isNull();
        assertThat(new Sender("telegram", "42", "x".repeat(500)).name()).hasSize(Sender.MAX_NAME);
    }
}
