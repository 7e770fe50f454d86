package dev.carapace.bench;

import dev.carapace.gateway.Call;
import dev.carapace.identity.Principal;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Role;
import dev.carapace.model.WireApi;
import dev.carapace.privacy.Corpus;
import dev.carapace.privacy.PrivacyRouter;
import dev.carapace.privacy.PrivacySpec;
import dev.carapace.privacy.Scanner;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The privacy router's cost on one core: scanning 1 MiB of mixed text (prose in several languages, logs, code and
 * config with keys, mail and chat with personal data: MB/s = 1 / (ms per op) * 1.049), and the whole
 * {@code beforeRoute} of a typical 4 KB chat request (scan every part, decide, redact), with and without findings.
 *
 * <p>{@code bench/jmh PrivacyBench -f 1}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class PrivacyBench {

    String mixed;
    Scanner scanner;
    PrivacyRouter router;
    ChatRequest withPii;
    ChatRequest clean;
    final Principal alice = new Principal("acme", "platform", "alice", Principal.Role.MEMBER, "cpk_x");

    @Setup
    public void setup() {
        mixed = new Corpus(42).mixedText(1 << 20).substring(0, 1 << 20);
        PrivacySpec spec = new PrivacySpec(java.util.Map.of("secret", dev.carapace.privacy.Action.REDACT), java.util.Map.of(),
                java.util.Map.of(), null, PrivacySpec.DEFAULT_PHONE_REGIONS,
                List.of(new PrivacySpec.Dictionary("code_name", "confidential", List.of("Bluebird", "Nightjar", "Red Kite"), false)),
                List.of());
        scanner = new Scanner(spec);
        router = new PrivacyRouter(spec);
        withPii = request(true);
        clean = request(false);
    }

    /** A system prompt and a conversation of about 4 KB; with two e-mails, a phone number and a key when asked. */
    static ChatRequest request(boolean pii) {
        List<Message> m = new ArrayList<>();
        m.add(Message.of(Role.SYSTEM, "You are the support assistant of ACME Corp. Answer briefly and politely. Never invent "
                + "order numbers. When a customer asks about a refund, check the order status first and explain the refund "
                + "policy: refunds within 30 days, store credit after that. Escalate legal questions to the legal team. "
                .repeat(2)));
        for (int i = 0; i < 5; i++) {
            m.add(Message.of(Role.USER, "Hi, my order 55" + i + "21 arrived damaged on 2024-11-0" + (i + 1) + ". The box was open "
                    + "and two of the three items were missing. I would like a replacement or a refund, whichever is faster. "
                    + (pii && i == 2 ? "You can reach me at jane.doe@example.com or +1 415-555-0132, or my partner at "
                    + "john.roe@example.org. Our API key for the integration is sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34. " : "")
                    + "Thanks for your help, this is the second time this happens with the same courier."));
            m.add(Message.of(Role.ASSISTANT, "I am sorry to hear that. I checked order 55" + i + "21: it shipped on time and the "
                    + "courier marked it delivered. I have opened a claim with the courier and started a replacement; you "
                    + "will get a confirmation within one business day. Is there anything else I can help with?"));
        }
        return new ChatRequest("m", m, List.of(), null, null, null, null, null, null, false, false, null, null);
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public int scanOneMebibyteMixed() {
        return scanner.scan(mixed).size();
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Object chatRequest4kWithPii() {
        Call c = new Call("r", alice, WireApi.OPENAI, withPii, null);
        router.beforeRoute(c);
        return c.request();
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Object chatRequest4kClean() {
        Call c = new Call("r", alice, WireApi.OPENAI, clean, null);
        router.beforeRoute(c);
        return c.request();
    }
}
