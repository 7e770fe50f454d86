package dev.carapace.model.audio;

import dev.carapace.model.ChatRequest;
import dev.carapace.model.Message;
import dev.carapace.model.Role;

import java.util.ArrayList;
import java.util.List;

/**
 * A client's request for speech (OpenAI {@code POST /v1/audio/speech}), validated.
 *
 * @param input          the text to speak, not empty
 * @param voice          the voice's name: one of the upstream's, or an espeak-ng voice for a local deployment
 * @param responseFormat {@code mp3} (the default), {@code opus}, {@code aac}, {@code flac}, {@code wav} or {@code pcm}
 * @param speed          0.25 to 4, or null for the upstream's default (1)
 * @param instructions   how to speak (newer models), or null: a text that leaves too, so it is screened
 */
public record SpeechRequest(String model, String input, String voice, String responseFormat, Double speed,
                            String instructions) {

    /**
     * The view the pipeline works on: the input as one user message and the instructions, if any, as a second; the
     * privacy router screens them like any prompt and may redact them, and what goes up (or is spoken here) is the
     * view's text.
     */
    public ChatRequest view() {
        List<Message> messages = new ArrayList<>(2);
        messages.add(Message.of(Role.USER, input));
        if (instructions != null) messages.add(Message.of(Role.USER, instructions));
        return new ChatRequest(model, messages, List.of(), null, null, null, null, null, null, false, false, null, null);
    }
}
