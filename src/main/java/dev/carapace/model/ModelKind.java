package dev.carapace.model;

/**
 * What a model does, which decides the endpoints it serves: a chat model answers {@code /v1/chat/completions},
 * {@code /v1/messages} (and {@code /v1/messages/count_tokens}); an embedding model answers {@code /v1/embeddings}.
 * Config: {@code kind: chat} (the default) or {@code kind: embedding}.
 */
public enum ModelKind {
    CHAT, EMBEDDING;

    /** As the config and error messages spell it. */
    public String label() { return name().toLowerCase(java.util.Locale.ROOT); }
}
