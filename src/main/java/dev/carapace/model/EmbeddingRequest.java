package dev.carapace.model;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * A client's request for embeddings (OpenAI {@code POST /v1/embeddings}), validated.
 *
 * @param inputs         what to embed, in order: each a text or a list of token ids
 * @param dimensions     the size of the vectors asked for, or null for the model's own
 * @param encodingFormat {@code float} or {@code base64}, or null for the upstream's default (float)
 * @param body           the client's body as parsed; {@code raw} as it came
 */
public record EmbeddingRequest(String model, List<Input> inputs, Integer dimensions, String encodingFormat,
                               String user, ObjectNode body, byte[] raw) {

    public EmbeddingRequest {
        inputs = List.copyOf(inputs);
    }

    /**
     * One input. {@code text} is what it says: the client's text, or its token ids decoded ({@code tokens} is then
     * the ids, which go up as they came unless the input is redacted).
     */
    public record Input(String text, int[] tokens) {}

    /**
     * The view the pipeline works on: one user message per input, which the privacy router screens (and may
     * redact) and the ledger counts, as for chat. Its model is this request's.
     */
    public ChatRequest view() {
        List<Message> messages = new ArrayList<>(inputs.size());
        for (Input in : inputs) messages.add(Message.of(Role.USER, in.text()));
        return new ChatRequest(model, messages, List.of(), null, null, null, null, null, null, false, false, user, null);
    }
}
