package dev.carapace.ledger;

import dev.carapace.model.ChatRequest;
import dev.carapace.model.Deployment;
import dev.carapace.model.Message;
import dev.carapace.model.Part;
import dev.carapace.model.Portfolio;
import dev.carapace.model.TokenCounter;
import dev.carapace.model.Tool;
import dev.carapace.model.ToolCall;
import dev.carapace.model.WireApi;

/**
 * How many tokens a prompt may cost before it is sent, for the {@link Ledger}'s reservations: a bound that no
 * tokenizer exceeds (UTF-8 bytes), and an estimate near the real count (o200k times the model's tokenizer factor).
 * Kept apart from the ledger because it changes with tokenizers and providers' framing, not with budgets.
 */
final class PromptSize {

    private PromptSize() {}

    /** Upper bound of the tokens one image can cost in a prompt. */
    static final int IMAGE_TOKENS = 2_000;
    /** Framing tokens a chat format adds per message, generously. */
    static final int MESSAGE_TOKENS = 16;
    /**
     * Tokens a provider adds to a prompt that has tools: Anthropic documents a tool-use system prompt of a few hundred
     * tokens (346 for Claude 4 models with tool_choice auto); OpenAI's own framing of tool schemas is smaller.
     */
    static final int TOOL_PROMPT_TOKENS = 500;
    /** o200k is OpenAI's tokenizer: its count is exact for OpenAI models, apart from framing counted separately. */
    static final double OPENAI_FACTOR = 1.0;
    /**
     * Claude's tokenizer is not published. Compared on the same texts, Claude 3.5 Sonnet counted 16% more tokens than
     * GPT-4o (o200k) for English prose, 21% more for maths and 30% more for Python code; 1.35 covers that range with a
     * margin. A newer tokenizer that counts more needs {@code tokenizer_factor} on the model.
     */
    static final double ANTHROPIC_FACTOR = 1.35;

    /** An upper bound of a prompt's tokens: byte-level tokenizers never make more tokens than UTF-8 bytes. */
    static long promptBound(ChatRequest req) { return promptBound(req, MESSAGE_TOKENS); }

    /** As {@link #promptBound(ChatRequest)}, with {@code framing} tokens per message, tool call and tool. */
    static long promptBound(ChatRequest req, int framing) {
        long n = 0;
        for (Message m : req.messages()) {
            n += framing;
            for (Part p : m.content()) {
                n += p instanceof Part.Text t ? utf8Length(t.text())
                        : p instanceof Part.Reasoning r ? utf8Length(r.text()) + utf8Length(r.signature()) : IMAGE_TOKENS;
            }
            for (ToolCall c : m.toolCalls()) n += utf8Length(c.name()) + utf8Length(c.arguments()) + framing;
        }
        for (Tool t : req.tools()) {
            n += framing + utf8Length(t.name()) + utf8Length(t.description())
                    + (t.parameters() == null ? 0 : utf8Length(t.parameters().toString()));
        }
        // Pass-through parameters can be prompt too (a response_format schema is).
        if (!req.passthrough().isEmpty()) n += utf8Length(req.passthrough().fields().toString());
        return n;
    }

    /**
     * A prompt's tokens by the o200k tokenizer ({@code o200k}: its text, tool calls, tool schemas and pass-through
     * parameters), and what is reserved for them ({@code tokens}): o200k times the model's tokenizer factor, plus
     * {@code framing} per message, tool call and tool, {@value #IMAGE_TOKENS} per image, and
     * {@value #TOOL_PROMPT_TOKENS} when there are tools; never more than the byte bound.
     */
    record PromptEstimate(long o200k, long tokens) {}

    static PromptEstimate promptEstimate(ChatRequest req, int framing, double factor) {
        return promptEstimate(req, framing, factor, TokenCounter::count);
    }

    /** As {@link #promptEstimate(ChatRequest, int, double)}, with texts counted by {@code counter}. */
    static PromptEstimate promptEstimate(ChatRequest req, int framing, double factor, java.util.function.ToIntFunction<String> counter) {
        long text = 0;
        long fixed = 0;
        for (Message m : req.messages()) {
            fixed += framing;
            for (Part p : m.content()) {
                if (p instanceof Part.Text t) text += counter.applyAsInt(t.text());
                else if (p instanceof Part.Reasoning r) text += counter.applyAsInt(r.text()) + counter.applyAsInt(r.signature());
                else fixed += IMAGE_TOKENS;
            }
            for (ToolCall c : m.toolCalls()) {
                text += counter.applyAsInt(c.name()) + counter.applyAsInt(c.arguments());
                fixed += framing;
            }
        }
        for (Tool t : req.tools()) {
            text += counter.applyAsInt(t.name()) + counter.applyAsInt(t.description())
                    + (t.parameters() == null ? 0 : counter.applyAsInt(t.parameters().toString()));
            fixed += framing;
        }
        if (!req.tools().isEmpty()) fixed += TOOL_PROMPT_TOKENS;
        if (!req.passthrough().isEmpty()) text += counter.applyAsInt(req.passthrough().fields().toString());
        long tokens = (long) Math.ceil(text * factor) + fixed;
        return new PromptEstimate(text, Math.min(tokens, promptBound(req, framing)));
    }

    /**
     * How many of a model's tokens one o200k token may be: its {@code tokenizer_factor} when configured, else the
     * largest default of its deployments' provider kinds ({@link #OPENAI_FACTOR}, {@link #ANTHROPIC_FACTOR}).
     */
    static double tokenizerFactor(Portfolio.Entry model) {
        if (model.spec().tokenizerFactor() > 0) return model.spec().tokenizerFactor();
        double f = OPENAI_FACTOR;
        for (Deployment d : model.deployments()) {
            if (d.provider().api() == WireApi.ANTHROPIC) f = Math.max(f, ANTHROPIC_FACTOR);
        }
        return f;
    }

    private static long utf8Length(String s) {
        if (s == null) return 0;
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) n++;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c)) { n += 4; i++; }
            else n += 3;
        }
        return n;
    }
}
