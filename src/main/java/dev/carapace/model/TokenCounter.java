package dev.carapace.model;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;

/**
 * Counts tokens when an upstream does not (an interrupted stream, or a server that never reports usage). Uses
 * the o200k tokenizer: exact for current OpenAI models, a close estimate for others — which is why figures
 * counted here are marked {@link Usage#estimated()}.
 */
public final class TokenCounter {

    /** Per-message framing tokens the chat formats add around each message. */
    private static final int PER_MESSAGE = 4;

    private static final Encoding ENCODING = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.O200K_BASE);

    /** The encoding of OpenAI's embedding models (text-embedding-3-*, ada-002): token-id inputs are in it. */
    private static final Encoding EMBEDDINGS = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);

    private TokenCounter() {}

    /**
     * The text of token ids of OpenAI's embedding encoding (cl100k_base), or null when one of them is not in it: the
     * ids an embeddings client sends are read back to text so that they are screened like any text.
     */
    public static String decodeEmbeddingTokens(int[] ids) {
        com.knuddels.jtokkit.api.IntArrayList list = new com.knuddels.jtokkit.api.IntArrayList(ids.length);
        for (int id : ids) list.add(id);
        try {
            return EMBEDDINGS.decode(list);
        } catch (RuntimeException unknown) {   // jtokkit says so with a NullPointerException
            return null;
        }
    }

    public static int count(String text) {
        return text == null || text.isEmpty() ? 0 : ENCODING.countTokensOrdinary(text);
    }

    /** Tokens of a whole prompt: every message's text and tool calls, and the tool schemas. */
    public static int prompt(ChatRequest request) {
        int n = 3;
        for (Message m : request.messages()) {
            n += PER_MESSAGE;
            for (Part p : m.content()) if (p instanceof Part.Text t) n += count(t.text());
            for (ToolCall c : m.toolCalls()) n += count(c.name()) + count(c.arguments());
        }
        for (Tool t : request.tools()) {
            n += count(t.name()) + count(t.description()) + (t.parameters() == null ? 0 : count(t.parameters().toString()));
        }
        return n;
    }

    /** An estimated usage for a prompt and the output text generated so far. */
    public static Usage estimate(ChatRequest request, CharSequence output) {
        return estimate(request, output, 0);
    }

    /**
     * As {@link #estimate(ChatRequest, CharSequence)}, with {@code unreadChars} characters of output that were relayed
     * without being read (see {@link StreamEvent.Frame}), at about four to a token.
     */
    public static Usage estimate(ChatRequest request, CharSequence output, long unreadChars) {
        long out = count(output.toString()) + (unreadChars + 3) / 4;
        // The upstream stopped at max_tokens of its own tokenizer; ours may count the same text as more.
        if (request.maxTokens() != null) out = Math.min(out, request.maxTokens());
        return new Usage(prompt(request), out, 0, 0, 0, true);
    }
}
