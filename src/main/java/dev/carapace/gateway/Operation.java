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
    EMBEDDINGS
}
