package dev.carapace.model.audio;

import dev.carapace.model.ApiException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The audio API's validation and the upstream side, for what the end-to-end tests cannot reach. */
class OpenAiAudioTest {

    @Test
    void fileNamesLoseTheirPathsAndAnythingAHeaderCouldBeMadeOfAndKeepOrGainAnExtension() {
        assertThat(OpenAiAudio.safeFileName("../../etc/passwd", null)).isEqualTo("passwd");
        assertThat(OpenAiAudio.safeFileName("C:\\Users\\a\\note.m4a", null)).isEqualTo("note.m4a");
        assertThat(OpenAiAudio.safeFileName("a\"\r\nX-Evil: 1.wav", null)).isEqualTo("a___X-Evil__1.wav");
        assertThat(OpenAiAudio.safeFileName("...", null)).isEqualTo("audio");
        assertThat(OpenAiAudio.safeFileName(null, "audio/ogg")).isEqualTo("audio.ogg");
        assertThat(OpenAiAudio.safeFileName("voice", "audio/mpeg")).isEqualTo("voice.mp3");
        assertThat(OpenAiAudio.safeFileName("x".repeat(300) + ".flac", null)).hasSize(64).endsWith(".flac");
    }

    @Test
    void theUpstreamBodyIsWellFormedMultipartWhateverThePromptHolds() {
        TranscriptionRequest r = OpenAiAudio.transcription(List.of(new OpenAiAudio.Field("model", "m"),
                new OpenAiAudio.Field("prompt", "--carapace-\r\n\r\nContent-Disposition: form-data; name=\"model\"")),
                "a.wav", "audio/wav", new byte[] {1, 2, 3});
        OpenAiAudio.Multipart m = OpenAiAudio.transcriptionBody(r, r.prompt(), "whisper-1");
        String boundary = m.contentType().substring(m.contentType().indexOf("boundary=") + 9);
        assertThat(boundary).startsWith("carapace-").hasSize(9 + 32);
        String body = new String(m.body(), java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThat(body.split("--" + boundary, -1)).as("model, prompt, response_format, file, and the end").hasSize(6);
        assertThat(body).endsWith("--" + boundary + "--\r\n");
    }

    @Test
    void anAnswerThatIsNotATranscriptOrNotAudioIsTheUpstreamsFault() {
        TranscriptionRequest r = OpenAiAudio.transcription(List.of(new OpenAiAudio.Field("model", "m")), "a.mp3",
                "audio/mpeg", new byte[32_000]);
        assertThatThrownBy(() -> OpenAiAudio.transcript("{\"error\":1}".getBytes(), r))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.kind()).isEqualTo(ApiException.Kind.UPSTREAM));
        OpenAiAudio.Transcript t = OpenAiAudio.transcript("{\"text\":\"hi\"}".getBytes(), r);
        assertThat(t.usage().inputTokens()).as("32 kB at a typical 16 kB/s").isEqualTo(2);
        assertThat(t.usage().estimated()).isTrue();
        SpeechRequest s = OpenAiAudio.speech("{\"model\":\"m\",\"input\":\"hi\",\"voice\":\"alloy\"}".getBytes());
        assertThatThrownBy(() -> OpenAiAudio.speechAnswer("{\"error\":{}}".getBytes(), "application/json", s))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo("upstream_invalid_response"));
    }

    @Test
    void espeakVoicesAreNamesNeverOptions() {
        assertThat(Espeak.VOICE.matcher("en-us").matches()).isTrue();
        assertThat(Espeak.VOICE.matcher("en-gb-x-rp").matches()).isTrue();
        assertThat(Espeak.VOICE.matcher("en+f3").matches()).isTrue();
        for (String hostile : new String[] {"-w", "--stdout", "en us", "en;ls", "EN", "en/../x", "", "e"}) {
            assertThat(Espeak.VOICE.matcher(hostile).matches()).as(hostile).isFalse();
        }
    }
}
