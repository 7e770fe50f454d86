package dev.carapace.agent;

import dev.carapace.model.ApiException;

import java.util.List;
import java.util.Locale;

/**
 * Whether an upstream refused a model call because its prompt is longer than the model takes: the hard limit, which
 * the compaction threshold only approaches by estimate (the upstream's tokenizer counts, ours guesses). Such a call
 * is compacted and tried again (see {@link TurnLoop}); any other refusal fails the run as before.
 */
final class ContextOverflow {

    /** Codes upstreams give an over-long prompt (OpenAI's; an HTTP 413's). */
    private static final List<String> CODES = List.of("context_length_exceeded", "request_too_large",
            "string_above_max_length");

    /** What the messages of the others say (Anthropic's "prompt is too long: N tokens > M maximum", vLLM's, Gemini's). */
    private static final List<String> PHRASES = List.of("prompt is too long", "context length", "context window",
            "maximum context", "too many tokens", "input exceeds the maximum", "input token count exceeds",
            "exceeds the maximum number of tokens");

    private ContextOverflow() {}

    static boolean is(ApiException e) {
        if (e.kind() == ApiException.Kind.TOO_LARGE) return true;
        if (e.kind() != ApiException.Kind.INVALID_REQUEST) return false;
        if (e.code() != null && CODES.contains(e.code())) return true;
        String message = e.getMessage() == null ? "" : e.getMessage().toLowerCase(Locale.ROOT);
        return PHRASES.stream().anyMatch(message::contains);
    }
}
