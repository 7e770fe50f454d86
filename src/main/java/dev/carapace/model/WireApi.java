package dev.carapace.model;

/**
 * The wire protocols Carapace speaks, on both sides, to clients and to upstreams: OpenAI Chat Completions, Anthropic
 * Messages and the OpenAI Responses API.
 */
public enum WireApi {
    OPENAI, ANTHROPIC, RESPONSES;

    /**
     * The status a client of this API gets for {@code error}: what the route answers, and what the call's usage record
     * and metrics say it got.
     *
     * <p>Anthropic reports overload as 529, which its SDKs retry. A budget's refusal is a 400 in OpenAI's shape (Chat
     * Completions and the Responses API alike) and a 429 in Anthropic's. Codex, which speaks only the Responses API,
     * shows a 429's body to no one ("exceeded retry limit, last status: 429") and retries any other status but 400
     * five times; a 400 it shows at once, and the OpenAI SDK (the Agents SDK, OpenClaw) never retries one. Claude
     * Code, with {@code x-should-retry: false}, shows a 429 at once, while a 400 it sends five more times first.
     * Measured per harness: BENCHMARKS.md, "Budget refusals in the harnesses".
     */
    public int status(ApiException error) {
        return switch (this) {
            case ANTHROPIC -> error.kind() == ApiException.Kind.UNAVAILABLE ? 529 : error.kind().status;
            case OPENAI, RESPONSES -> error.budgetExceeded() ? 400 : error.kind().status;
        };
    }
}
