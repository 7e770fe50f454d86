package dev.carapace.channel.webhook;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Standard Webhooks signature: the spec's own test vector, rotation, and what must not verify. */
class StandardWebhooksTest {

    /** The vector of the spec's reference libraries. */
    private static final String SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private static final String ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private static final long TS = 1614265330L;
    private static final byte[] BODY = "{\"test\": 2432232314}".getBytes(StandardCharsets.UTF_8);

    @Test
    void signsAsTheSpecsVectorSays() {
        assertThat(StandardWebhooks.sign(StandardWebhooks.key(SECRET), ID, TS, BODY))
                .isEqualTo("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    @Test
    void anyOfSeveralKeysOrSignaturesVerifiesAndNothingElseDoes() {
        byte[] key = StandardWebhooks.key(SECRET);
        byte[] other = StandardWebhooks.key("a-plain-text-key");
        String sig = StandardWebhooks.sign(key, ID, TS, BODY);
        assertThat(StandardWebhooks.matches(sig, List.of(other, key), ID, TS, BODY)).as("rotation: old and new key").isTrue();
        assertThat(StandardWebhooks.matches("v1,bm90IGl0 v2,xyz " + sig, List.of(key), ID, TS, BODY))
                .as("one of several entries").isTrue();
        assertThat(StandardWebhooks.matches(sig, List.of(other), ID, TS, BODY)).as("wrong key").isFalse();
        assertThat(StandardWebhooks.matches(sig, List.of(key), ID, TS + 1, BODY)).as("other timestamp").isFalse();
        assertThat(StandardWebhooks.matches(sig, List.of(key), ID + "x", TS, BODY)).as("other id").isFalse();
        assertThat(StandardWebhooks.matches(sig, List.of(key), ID, TS, "{\"test\": 2432232315}".getBytes(StandardCharsets.UTF_8)))
                .as("tampered body").isFalse();
        assertThat(StandardWebhooks.matches(sig.replace("v1,", "v2,"), List.of(key), ID, TS, BODY)).as("other version").isFalse();
        assertThat(StandardWebhooks.matches("v1,%%%", List.of(key), ID, TS, BODY)).as("not base64").isFalse();
        assertThat(StandardWebhooks.matches("", List.of(key), ID, TS, BODY)).isFalse();
    }

    @Test
    void aSignatureForEachKeyWhenSendingWithTwo() {
        byte[] a = StandardWebhooks.key(SECRET);
        byte[] b = StandardWebhooks.key("whsec_" + java.util.Base64.getEncoder().encodeToString("second".getBytes()));
        String header = StandardWebhooks.signature(List.of(a, b), ID, TS, BODY);
        assertThat(header.split(" ")).hasSize(2);
        assertThat(StandardWebhooks.matches(header, List.of(b), ID, TS, BODY)).isTrue();
        assertThatThrownBy(() -> StandardWebhooks.key("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("an empty signing key");
    }
}
