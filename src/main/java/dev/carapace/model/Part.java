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
    record Image(String url, String mediaType, String data) implements Part {}
}
