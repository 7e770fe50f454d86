package dev.carapace.model.openai;

import dev.carapace.model.ApiException;
import dev.carapace.model.JsonBytes;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.Usage;
import dev.carapace.model.WireFormat;

import static dev.carapace.model.openai.OpenAiFormat.DATA_PREFIX;
import static dev.carapace.model.openai.OpenAiFormat.DONE;
import static dev.carapace.model.openai.OpenAiFormat.finishName;
import static dev.carapace.model.openai.OpenAiFormat.newId;
import static dev.carapace.model.openai.OpenAiFormat.nowSeconds;
import static dev.carapace.model.openai.OpenAiFormat.sse;
import static dev.carapace.model.openai.OpenAiFormat.writeError;

/**
 * Renders one streamed answer as chat.completion.chunk frames, all under the same id and timestamp. The frames
 * are written by hand into one reused buffer (see {@link JsonBytes}), in exactly the bytes a Jackson generator
 * wrote before; the part every chunk shares is rendered once.
 */
final class OpenAiStreamEncoder implements WireFormat.StreamEncoder {
    private static final byte[] EMPTY = new byte[0];

    private static final byte[] ID_FIELD = JsonBytes.ascii("{\"id\":");
    private static final byte[] OBJECT_CREATED = JsonBytes.ascii(",\"object\":\"chat.completion.chunk\",\"created\":");
    private static final byte[] MODEL = JsonBytes.ascii(",\"model\":");
    private static final byte[] DELTA = JsonBytes.ascii(",\"choices\":[{\"index\":0,\"delta\":{");
    private static final byte[] ROLE = JsonBytes.ascii("\"role\":\"assistant\",\"content\":\"\"");
    private static final byte[] CONTENT = JsonBytes.ascii("\"content\":");
    private static final byte[] TOOL_CALL_INDEX = JsonBytes.ascii("\"tool_calls\":[{\"index\":");
    private static final byte[] ID = JsonBytes.ascii(",\"id\":");
    private static final byte[] FUNCTION_NAME = JsonBytes.ascii(",\"type\":\"function\",\"function\":{\"name\":");
    private static final byte[] NO_ARGUMENTS = JsonBytes.ascii(",\"arguments\":\"\"}}]");
    private static final byte[] FUNCTION_ARGUMENTS = JsonBytes.ascii(",\"function\":{\"arguments\":");
    private static final byte[] CLOSE_TOOL_CALL = JsonBytes.ascii("}}]");
    private static final byte[] NOT_FINISHED = JsonBytes.ascii("},\"finish_reason\":null}]}\n\n");
    private static final byte[] FINISH_REASON = JsonBytes.ascii("},\"finish_reason\":");
    private static final byte[] FINISHED = JsonBytes.ascii("}]}\n\n");
    private static final byte[] USAGE = JsonBytes.ascii(",\"choices\":[],\"usage\":{\"prompt_tokens\":");
    private static final byte[] COMPLETION_TOKENS = JsonBytes.ascii(",\"completion_tokens\":");
    private static final byte[] TOTAL_TOKENS = JsonBytes.ascii(",\"total_tokens\":");
    private static final byte[] CACHED_TOKENS = JsonBytes.ascii(",\"prompt_tokens_details\":{\"cached_tokens\":");
    private static final byte[] REASONING_TOKENS = JsonBytes.ascii("},\"completion_tokens_details\":{\"reasoning_tokens\":");
    private static final byte[] USAGE_END = JsonBytes.ascii("}}}\n\n");

    private final String model;
    private final boolean includeUsage;
    private final long created = nowSeconds();
    private final JsonBytes out = new JsonBytes(256);
    private String id;
    /** What every chunk starts with, {@code data: {"id":...,"model":...,}}, fixed once the first is written. */
    private byte[] head;
    private boolean roleSent;

    OpenAiStreamEncoder(String model, boolean includeUsage) {
        this.model = model;
        this.includeUsage = includeUsage;
    }

    @Override
    public byte[] encode(StreamEvent event) {
        if (event instanceof StreamEvent.Started s) {
            if (id == null && s.id() != null && !s.id().isEmpty()) id = s.id();
            if (roleSent) return EMPTY;
            out.reset();
            roleChunk();
            return out.toByteArray();
        }
        if (event instanceof StreamEvent.UsageReport u) {
            // Carapace always asks the upstream for usage; the client only sees it when it asked too.
            if (!includeUsage) return EMPTY;
            Usage usage = u.usage();
            out.reset().raw(head()).raw(USAGE).number(usage.inputTokens())
                    .raw(COMPLETION_TOKENS).number(usage.outputTokens())
                    .raw(TOTAL_TOKENS).number(usage.inputTokens() + usage.outputTokens())
                    .raw(CACHED_TOKENS).number(usage.cachedInputTokens())
                    .raw(REASONING_TOKENS).number(usage.reasoningTokens()).raw(USAGE_END);
            return out.toByteArray();
        }
        if (event instanceof StreamEvent.ReasoningDelta) return EMPTY;   // see StreamEvent.ReasoningDelta
        if (event instanceof StreamEvent.Frame) return EMPTY;            // for a relay's encoder
        out.reset();
        // Clients key on the first delta's role; if the upstream skipped Started, supply it here.
        if (!roleSent) roleChunk();
        out.raw(head()).raw(DELTA);
        switch (event) {
            case StreamEvent.TextDelta t -> out.raw(CONTENT).string(t.text()).raw(NOT_FINISHED);
            case StreamEvent.ToolCallStarted t -> out.raw(TOOL_CALL_INDEX).number(t.index())
                    .raw(ID).string(t.id()).raw(FUNCTION_NAME).string(t.name()).raw(NO_ARGUMENTS).raw(NOT_FINISHED);
            case StreamEvent.ToolCallDelta t -> out.raw(TOOL_CALL_INDEX).number(t.index())
                    .raw(FUNCTION_ARGUMENTS).string(t.argumentsDelta()).raw(CLOSE_TOOL_CALL).raw(NOT_FINISHED);
            case StreamEvent.Finished f -> out.raw(FINISH_REASON).string(finishName(f.reason())).raw(FINISHED);
            case StreamEvent.Started s -> throw new AssertionError(s);
            case StreamEvent.UsageReport u -> throw new AssertionError(u);
            case StreamEvent.ReasoningDelta r -> throw new AssertionError(r);
            case StreamEvent.Frame f -> throw new AssertionError(f);
        }
        return out.toByteArray();
    }

    @Override
    public byte[] error(ApiException error) {
        return sse(g -> writeError(g, error));
    }

    @Override
    public byte[] end() { return DONE.clone(); }

    private void roleChunk() {
        roleSent = true;
        out.raw(head()).raw(DELTA).raw(ROLE).raw(NOT_FINISHED);
    }

    private byte[] head() {
        if (head == null) {
            if (id == null) id = newId("chatcmpl-");
            head = new JsonBytes(128).raw(DATA_PREFIX).raw(ID_FIELD).string(id).raw(OBJECT_CREATED).number(created)
                    .raw(MODEL).string(model).toByteArray();
        }
        return head;
    }
}
