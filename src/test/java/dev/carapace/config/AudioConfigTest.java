package dev.carapace.config;

import dev.carapace.model.ModelKind;
import dev.carapace.model.ModelSpec;
import dev.carapace.model.ProviderSpec;
import dev.carapace.yaml.Problem;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The config of audio: transcription and speech models (priced per minute and per million characters, limited in
 * seconds and characters, served by OpenAI-kind providers and, for speech, espeak), espeak providers, and the
 * {@code voice:} section; every mistake an error with its place.
 */
class AudioConfigTest {

    private static final String BASE = """
            providers:
              openai: {kind: openai, base_url: https://api.openai.com/v1, api_key_env: OPENAI_API_KEY}
              claude: {kind: anthropic, base_url: https://api.anthropic.com, api_key_env: OPENAI_API_KEY}
              local: {kind: espeak, timeout: 5s}
            models:
              chat: {tier: mid, context_window: 1000, max_output_tokens: 100, price: {input: 1, output: 2}, deployments: [{provider: openai}]}
              whisper:
                kind: transcription
                tier: mid
                price: {per_minute: 0.006}
                deployments: [{provider: openai, model: whisper-1}]
              tts:
                kind: speech
                tier: mid
                max_input_characters: 2000
                price: {per_million_characters: 15}
                deployments: [{provider: openai, model: tts-1}, {provider: local, model: en-us}]
            """;

    private static ConfigLoader.Result check(String yaml) {
        return ConfigLoader.check(yaml, "t.yaml", name -> "set");
    }

    private static List<String> errors(String yaml) {
        return check(yaml).errors().stream().map(Problem::toString).toList();
    }

    @Test
    void audioModelsArePricedPerTheirUnitAndLimitedInIt() {
        ConfigLoader.Result r = check(BASE + "voice: {speech_model: tts, max_audio_bytes: 1mib}\n");
        assertThat(r.errors()).isEmpty();
        ModelSpec whisper = r.config().models().get("whisper");
        assertThat(whisper.kind()).isEqualTo(ModelKind.TRANSCRIPTION);
        assertThat(whisper.price().input()).as("0.006 USD per minute is 100 USD per million seconds")
                .isEqualByComparingTo(new BigDecimal("100"));
        assertThat(whisper.contextWindow()).as("the default longest audio, in seconds").isEqualTo(1500);
        ModelSpec tts = r.config().models().get("tts");
        assertThat(tts.price().input()).isEqualByComparingTo("15");
        assertThat(tts.contextWindow()).isEqualTo(2000);
        ProviderSpec local = r.config().providers().get("local");
        assertThat(local.local()).isEqualTo(ProviderSpec.Local.ESPEAK);
        assertThat(local.readTimeout()).hasSeconds(5);
        assertThat(r.config().voice().speechModel()).isEqualTo("tts");
        assertThat(r.config().voice().transcriptionModel()).isNull();
        assertThat(r.config().voice().maxAudioBytes()).isEqualTo(1024 * 1024);
        assertThat(check(BASE).config().voice()).isEqualTo(CarapaceConfig.Voice.DEFAULT);
    }

    @Test
    void mistakesAreErrorsWithTheirPlace() {
        assertThat(errors(BASE.replace("price: {per_minute: 0.006}", "price: {input: 1}")))
                .containsExactly("t.yaml:10:5: models.whisper.price: missing required key 'per_minute' (a decimal number)",
                        "t.yaml:10:13: models.whisper.price.input: unknown key 'input' (expected one of: per_minute)");
        assertThat(errors(BASE.replace("    kind: transcription\n", "    kind: transcription\n    context_window: 9\n")))
                .anySatisfy(e -> assertThat(e).contains("models.whisper.context_window: a transcription model is metered in"
                        + " seconds, not tokens; remove it (its limit is max_audio_seconds)"));
        assertThat(errors(BASE.replace("[{provider: openai, model: whisper-1}]", "[{provider: local, model: en}]")))
                .anySatisfy(e -> assertThat(e).contains("provider 'local' is of kind espeak, which speaks; it transcribes nothing"));
        assertThat(errors(BASE.replace("[{provider: openai, model: tts-1}, ", "[{provider: claude}, ")))
                .anySatisfy(e -> assertThat(e).contains("models.tts.deployments: provider 'claude' is of kind anthropic, which serves no audio"));
        assertThat(errors(BASE.replace("deployments: [{provider: openai}]}", "deployments: [{provider: local}]}")))
                .anySatisfy(e -> assertThat(e).contains("models.chat.deployments: provider 'local' is of kind espeak, which serves speech models only"));
        assertThat(errors(BASE.replace("local: {kind: espeak, timeout: 5s}", "local: {kind: espeak, base_url: http://x}")))
                .anySatisfy(e -> assertThat(e).contains("providers.local.base_url: unknown key 'base_url'"));
        assertThat(errors(BASE.replace("kind: espeak", "kind: espeek")))
                .anySatisfy(e -> assertThat(e).contains("providers.local.kind: unknown value 'espeek' (expected one of:"
                        + " openai, anthropic, openai-responses, espeak)"));
        assertThat(errors(BASE + "voice: {transcription_model: tts}\n"))
                .anySatisfy(e -> assertThat(e).contains("voice.transcription_model: model 'tts' is of kind speech; expected a transcription model"));
        assertThat(errors(BASE + "voice: {speech_model: nope}\n"))
                .anySatisfy(e -> assertThat(e).contains("voice.speech_model: unknown model 'nope'"));
        assertThat(errors(BASE + "voice: {speech: x}\n"))
                .anySatisfy(e -> assertThat(e).contains("voice.speech: unknown key 'speech'"));
    }
}
