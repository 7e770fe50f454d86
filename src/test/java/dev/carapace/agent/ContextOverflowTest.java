package dev.carapace.agent;

import dev.carapace.model.ApiException;
import dev.carapace.model.UpstreamStatus;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Which upstream refusals mean "the prompt is too long", as the wire formats hand them to the runtime. */
class ContextOverflowTest {

    @Test
    void openAisCodeAnthropicsMessageAndA413AreOverflows() {
        assertThat(ContextOverflow.is(UpstreamStatus.error(400, "This model's maximum context length is 128000 tokens",
                "context_length_exceeded"))).isTrue();
        assertThat(ContextOverflow.is(UpstreamStatus.error(400, "prompt is too long: 210012 tokens > 200000 maximum",
                null))).isTrue();
        assertThat(ContextOverflow.is(UpstreamStatus.error(413, null, null))).isTrue();
    }

    @Test
    void otherRefusalsAreNot() {
        assertThat(ContextOverflow.is(UpstreamStatus.error(400, "temperature must be at most 2", null))).isFalse();
        assertThat(ContextOverflow.is(UpstreamStatus.error(429, "prompt is too long", null)))
                .as("a rate limit is not an overflow whatever it says").isFalse();
        assertThat(ContextOverflow.is(UpstreamStatus.error(503, null, null))).isFalse();
    }
}
