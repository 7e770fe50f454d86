package dev.carapace.model.audio;

import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Role;

import java.util.List;

/**
 * A client's request for a transcript (OpenAI {@code POST /v1/audio/transcriptions}), validated.
 *
 * @param fileName         the file's name as it goes up (made safe: see {@link OpenAiAudio#safeFileName}); its extension
 *                         is how OpenAI tells the audio's format
 * @param mediaType        the file's media type as it goes up ({@code application/octet-stream} when the client gave none
 *                         that is well formed)
 * @param language         ISO-639-1 language of the audio, or null
 * @param prompt           a text to guide the model's style, or null: it leaves with the audio, so it is screened
 * @param responseFormat   {@code json} (the default), {@code text}, {@code verbose_json}, {@code srt} or {@code vtt}
 * @param temperature      0 to 1 as the client wrote it, or null
 * @param granularities    {@code timestamp_granularities[]}: {@code word} and/or {@code segment}
 */
public record TranscriptionRequest(String model, String fileName, String mediaType, byte[] audio, String language,
                                   String prompt, String responseFormat, String temperature, List<String> granularities) {

    public TranscriptionRequest {
        granularities = List.copyOf(granularities);
    }

    /**
     * The view the pipeline works on: the prompt as one user message (none without a prompt), which the privacy router
     * screens and may redact; the audio itself is screened by its class ({@code privacy.image_class}), never read.
     */
    public ChatRequest view() {
        List<Message> messages = prompt == null ? List.of() : List.of(Message.of(Role.USER, prompt));
        return new ChatRequest(model, messages, List.of(), null, null, null, null, null, null, false, false, null, null);
    }
}
