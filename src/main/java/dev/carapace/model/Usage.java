package dev.carapace.model;

/**
 * Tokens one call used, in provider-neutral terms.
 *
 * <p>{@code inputTokens} is the whole prompt, <em>including</em> the cached and cache-write tokens (OpenAI counts
 * this way; Anthropic reports them separately and the Anthropic codec adds them up). {@code outputTokens} includes
 * {@code reasoningTokens}. {@code estimated} is true when Carapace counted the tokens itself because the upstream
 * never reported them (an interrupted stream, or a server that does not send usage).
 */
public record Usage(long inputTokens, long outputTokens, long cachedInputTokens, long cacheWriteTokens,
                    long reasoningTokens, boolean estimated) {

    public static final Usage ZERO = new Usage(0, 0, 0, 0, 0, false);

    public static Usage of(long input, long output) {
        return new Usage(input, output, 0, 0, 0, false);
    }
}
