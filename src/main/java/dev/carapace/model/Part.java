package dev.carapace.model;

/** One piece of a message's content. */
public sealed interface Part {

    /**
     * Plain text. {@code cacheBreakpoint} marks the end of a stable prefix that a provider with explicit
     * prompt caching (Anthropic {@code cache_control}) should cache; others ignore it.
     */
    record Text(String text, boolean cacheBreakpoint) implements Part {
        public Text(String text) { this(text, false); }
    }

    /**
     * An image, either by URL (which may be a {@code data:} URI) or as base64 {@code data} with its media type.
     * Exactly one of {@code url} and {@code data} is set.
     */
    record Image(String url, String mediaType, String data) implements Part {
        /** The image as one URL, as OpenAI's APIs take it: its own, or a {@code data:} URL of its bytes. */
        public String asUrl() { return url != null ? url : "data:" + mediaType + ";base64," + data; }
    }

    /**
     * A model's earlier reasoning, as an Anthropic upstream wrote it into an assistant turn: a {@code thinking} block
     * ({@code text} and its {@code signature}) or, when {@code text} is null, a {@code redacted_thinking} block whose
     * encrypted {@code data} is in {@code signature}. Only the upstream that signed it can read it back, so it goes
     * unchanged to an Anthropic upstream (which requires it before a tool call's result when thinking is on) and is
     * left out of a translation to any other API; it is never scanned or rewritten, since changing it breaks the
     * signature.
     */
    record Reasoning(String text, String signature) implements Part {
        public boolean redacted() { return text == null; }
    }
}
