package dev.carapace.config;

import dev.carapace.model.WireApi;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code kind: openai-responses} and the {@code responses:} section. */
class ResponsesConfigTest {

    private static final String BASE = """
            providers:
              up: {kind: openai-responses, base_url: "http://127.0.0.1:9/v1"}
            models:
              m: {tier: mid, context_window: 1000, max_output_tokens: 100, price: {input: 1, output: 1}, deployments: [{provider: up, model: x}]}
            """;

    @Test
    void aResponsesProviderAndTheRetention() throws Exception {
        CarapaceConfig c = ConfigLoader.load(BASE + "responses: {store: false, retention: 48h}\n", "t.yaml");
        assertThat(c.providers().get("up").kind()).isEqualTo(WireApi.RESPONSES);
        assertThat(c.responses()).isEqualTo(new CarapaceConfig.Responses(false, Duration.ofHours(48)));
        assertThat(ConfigLoader.load(BASE, "t.yaml").responses()).isEqualTo(CarapaceConfig.Responses.DEFAULT);
        assertThat(CarapaceConfig.Responses.DEFAULT.retention()).isEqualTo(Duration.ofDays(30));
    }

    @Test
    void mistakesAreNamed() {
        ConfigLoader.Result r = ConfigLoader.check(BASE + "responses: {retention: forever, keep: yes}\n", "t.yaml", name -> null);
        assertThat(r.errors()).extracting(Object::toString).anyMatch(e -> e.contains("responses.retention"))
                .anyMatch(e -> e.contains("responses.keep") || e.contains("'keep'"));
    }
}
