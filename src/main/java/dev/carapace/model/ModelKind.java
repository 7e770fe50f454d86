package dev.carapace.model;

/**
 * What a model does, which decides the endpoints it serves and the unit its usage is metered in: a chat model answers
 * {@code /v1/chat/completions}, {@code /v1/messages} (and {@code /v1/messages/count_tokens}); an embedding model
 * {@code /v1/embeddings}; a transcription model {@code /v1/audio/transcriptions} (metered in seconds of audio); a
 * speech model {@code /v1/audio/speech} (metered in characters of input). Config: {@code kind: chat} (the default),
 * {@code embedding}, {@code transcription} or {@code speech}.
 */
public enum ModelKind {
    CHAT("token"), EMBEDDING("token"), TRANSCRIPTION("second"), SPEECH("character");

    /**
     * What one unit of its usage is: what {@link Usage#inputTokens} counts for it, and what its price is per million
     * of (a transcription model's price is configured per minute and kept per million seconds).
     */
    public final String unit;

    ModelKind(String unit) { this.unit = unit; }

    /** As the config and error messages spell it. */
    public String label() { return name().toLowerCase(java.util.Locale.ROOT); }

    /** The endpoint a model of this kind serves, for error messages. */
    public String endpoint() {
        return switch (this) {
            case CHAT -> "POST /v1/chat/completions and /v1/messages";
            case EMBEDDING -> "POST /v1/embeddings";
            case TRANSCRIPTION -> "POST /v1/audio/transcriptions";
            case SPEECH -> "POST /v1/audio/speech";
        };
    }
}
