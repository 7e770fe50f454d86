package dev.carapace.model;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * A chat request in provider-neutral form: what both {@code /v1/chat/completions} and {@code /v1/messages}
 * parse into, and what every provider translates to its upstream's format.
 *
 * <p>System prompts are {@link Role#SYSTEM} messages at the head of {@code messages}. Nullable fields mean
 * "not given; use the upstream's default".
 *
 * @param model        a model id, or {@code tier:NAME}
 * @param includeUsage the client asked for a usage report at the end of the stream (OpenAI
 *                     {@code stream_options.include_usage}); providers always ask their upstream for usage
 * @param user         an end-user or session id the client supplied (OpenAI {@code user}, Anthropic
 *                     {@code metadata.user_id}); used for deployment affinity
 * @param passthrough  parameters only one wire format understands (e.g. OpenAI {@code seed},
 *                     {@code response_format}; Anthropic {@code top_k}), forwarded verbatim to an upstream of
 *                     that same format and refused for any other
 * @param original     the client's request as it was parsed, or null for a request Carapace built itself (an agent's)
 *                     or one a filter rewrote: an upstream of the client's own API is sent this, not a translation
 *                     (see {@link #relaysTo})
 */
public record ChatRequest(
        String model,
        List<Message> messages,
        List<Tool> tools,
        ToolChoice toolChoice,
        Integer maxTokens,
        Double temperature,
        Double topP,
        List<String> stop,
        Boolean parallelToolCalls,
        boolean stream,
        boolean includeUsage,
        String user,
        Passthrough passthrough,
        Original original) {

    public ChatRequest {
        messages = List.copyOf(messages);
        tools = List.copyOf(tools);
        stop = stop == null ? List.of() : List.copyOf(stop);
        if (passthrough == null) passthrough = Passthrough.NONE;
    }

    /** A request that no client sent as such (an agent's turn, a test's): every upstream gets a translation. */
    public ChatRequest(String model, List<Message> messages, List<Tool> tools, ToolChoice toolChoice, Integer maxTokens,
                       Double temperature, Double topP, List<String> stop, Boolean parallelToolCalls, boolean stream,
                       boolean includeUsage, String user, Passthrough passthrough) {
        this(model, messages, tools, toolChoice, maxTokens, temperature, topP, stop, parallelToolCalls, stream,
                includeUsage, user, passthrough, null);
    }

    /**
     * Whether an upstream speaking {@code upstream} is sent the client's own request (with the model name, the
     * output limit and the usage options set by Carapace) rather than a translation: when the client spoke that
     * same API and no filter rewrote the request.
     */
    public boolean relaysTo(WireApi upstream) {
        return original != null && original.raw() != null && original.api() == upstream;
    }

    /**
     * The client's vendor headers that go up with this request to an upstream of {@code upstream}'s API: when it is
     * relayed, and when it is rebuilt for that same API after a filter's rewrite (its betas still describe the fields
     * that go); never to another API.
     */
    public java.util.Map<String, String> vendorHeaders(WireApi upstream) {
        return original != null && original.api() == upstream ? original.headers() : java.util.Map.of();
    }

    /** The model and the output limit are set on the way out, so the client's original stays valid. */
    public ChatRequest withModel(String newModel) {
        return new ChatRequest(newModel, messages, tools, toolChoice, maxTokens, temperature, topP, stop,
                parallelToolCalls, stream, includeUsage, user, passthrough, original);
    }

    public ChatRequest withMaxTokens(Integer newMaxTokens) {
        return new ChatRequest(model, messages, tools, toolChoice, newMaxTokens, temperature, topP, stop,
                parallelToolCalls, stream, includeUsage, user, passthrough, original);
    }

    /**
     * Rewritten messages (a redaction) are not in the client's original: the request is translated from here on, with
     * only the client's vendor headers kept ({@link #vendorHeaders}).
     */
    public ChatRequest withMessages(List<Message> newMessages) {
        return rewritten(newMessages, tools, user, passthrough);
    }

    /**
     * What the request says, rewritten by a filter (a redaction of its messages, tools, end-user id and parameters):
     * as {@link #withMessages}, translated from here on, with only the client's vendor headers kept.
     */
    public ChatRequest rewritten(List<Message> newMessages, List<Tool> newTools, String newUser, Passthrough newPassthrough) {
        Original headersOnly = original == null || original.headers().isEmpty() ? null
                : new Original(original.api(), null, null, original.headers());
        return new ChatRequest(model, newMessages, newTools, toolChoice, maxTokens, temperature, topP, stop,
                parallelToolCalls, stream, includeUsage, newUser, newPassthrough, headersOnly);
    }

    /**
     * The same request with the paths a translation drops or refuses taken from {@code earlier}: a request parsed
     * again from a body that differs only in its strings (a redacted one) has the same structure, but its parser may
     * not know what the client said of it (the optional hosted tools of a Responses request).
     */
    public ChatRequest withTranslationPaths(ChatRequest earlier) {
        Passthrough e = earlier.passthrough;
        Passthrough p = new Passthrough(passthrough.api(), passthrough.fields(), e.lossy(), e.untranslatable());
        return new ChatRequest(model, messages, tools, toolChoice, maxTokens, temperature, topP, stop,
                parallelToolCalls, stream, includeUsage, user, p, original);
    }

    /**
     * The client's request: its body as it came ({@code raw}) and as parsed ({@code body}), the tree that was
     * validated and read into this request (the parsers refuse a repeated key, so both say the same to any reader),
     * and the vendor headers that go up with it ({@link WireFormat#relayedHeaders}), name to value. After a rewrite
     * only the headers are left, and {@code body} and {@code raw} are null.
     */
    public record Original(WireApi api, ObjectNode body, byte[] raw, java.util.Map<String, String> headers) {
        public Original {
            headers = java.util.Map.copyOf(headers);
        }

        public Original(WireApi api, ObjectNode body, byte[] raw) { this(api, body, raw, java.util.Map.of()); }

        /**
         * The client's body with these top-level values set, in place ({@link JsonSplice#setTopLevel}). A body with
         * a top-level key spelled with escapes is first written afresh from the tree, where every key is plain.
         */
        public byte[] withTopLevel(byte[][] keys, byte[][] values) {
            byte[] spliced = JsonSplice.setTopLevel(raw, keys, values);
            if (spliced == null) {
                spliced = JsonSplice.setTopLevel(body.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8), keys, values);
            }
            if (spliced == null) {   // a key with a backslash in it, even unescaped: no API has one
                throw ApiException.invalid(null, "A top-level key of the request contains a backslash; no API has such"
                        + " a key, and it cannot be sent on unambiguously");
            }
            return spliced;
        }
    }

    /** The same request, sent up with these vendor headers of the client's when it is relayed. */
    public ChatRequest withRelayedHeaders(java.util.Map<String, String> headers) {
        if (original == null || headers.isEmpty()) return this;
        return new ChatRequest(model, messages, tools, toolChoice, maxTokens, temperature, topP, stop, parallelToolCalls,
                stream, includeUsage, user, passthrough, new Original(original.api(), original.body(), original.raw(), headers));
    }

    /**
     * What only the client's API can say: top-level parameters kept as the client wrote them ({@code fields}), and
     * the paths of what the neutral view leaves out below the top level. A relay sends all of it up as it came; a
     * translation ({@link Translation}) sends {@code fields} to an upstream of the same API, leaves out the rest and
     * names it, and refuses what it cannot leave out without changing the request's meaning.
     *
     * @param lossy          paths of nested fields whose loss is harmless (e.g. {@code tools[].defer_loading}), named
     *                       when a translation drops them
     * @param untranslatable paths whose loss would change the meaning (a server tool, a document block,
     *                       {@code output_config.format}): a translation that cannot carry one is refused, naming it
     */
    public record Passthrough(WireApi api, ObjectNode fields, List<String> lossy, List<String> untranslatable) {
        public static final Passthrough NONE = new Passthrough(null, null);

        public Passthrough {
            lossy = lossy == null ? List.of() : List.copyOf(lossy);
            untranslatable = untranslatable == null ? List.of() : List.copyOf(untranslatable);
        }

        public Passthrough(WireApi api, ObjectNode fields) { this(api, fields, List.of(), List.of()); }

        /** Whether there are top-level parameters to forward (the nested paths are only named). */
        public boolean isEmpty() { return fields == null || fields.isEmpty(); }
    }
}
