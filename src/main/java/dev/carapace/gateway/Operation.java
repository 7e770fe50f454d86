package dev.carapace.gateway;

/**
 * What a call asks of its model. Every operation goes the same way through the pipeline (authenticated, screened by
 * the privacy router, routed, metered); what differs is what the upstream is asked and what the ledger reserves.
 */
public enum Operation {
    /** A chat answer ({@code /v1/chat/completions}, {@code /v1/messages}, an agent's turn). */
    CHAT,
    /**
     * The prompt's token count ({@code /v1/messages/count_tokens}): no tokens are produced or charged, so nothing is
     * reserved, and the call is recorded at no cost.
     */
    COUNT_TOKENS,
    /** Embeddings of the request's inputs ({@code /v1/embeddings}): the inputs are reserved and charged, no output. */
    EMBEDDINGS,
    /**
     * A transcript of an audio file ({@code /v1/audio/transcriptions}): the call's request is a view of the text that
     * goes up with the audio (its {@code prompt}); the audio's seconds are reserved and charged, no output; the
     * transcript passes the filters' {@link CallFilter#onTranscript} on its way back.
     */
    TRANSCRIPTION,
    /**
     * Audio spoken from a text ({@code /v1/audio/speech}): the call's request is a view of the text (its {@code input}),
     * screened like any prompt; its characters are reserved and charged, no output.
     */
    SPEECH;

    /** The kind of model that serves this operation. */
    public dev.carapace.model.ModelKind modelKind() {
        return switch (this) {
            case CHAT, COUNT_TOKENS -> dev.carapace.model.ModelKind.CHAT;
            case EMBEDDINGS -> dev.carapace.model.ModelKind.EMBEDDING;
            case TRANSCRIPTION -> dev.carapace.model.ModelKind.TRANSCRIPTION;
            case SPEECH -> dev.carapace.model.ModelKind.SPEECH;
        };
    }

    /** Whether it is metered in its model's own units (seconds, characters) rather than tokens, bounded by {@link Call#unitBound}. */
    public boolean meteredInUnits() { return this == TRANSCRIPTION || this == SPEECH; }
}
