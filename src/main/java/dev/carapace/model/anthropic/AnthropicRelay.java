package dev.carapace.model.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.JsonBytes;
import dev.carapace.model.JsonSplice;
import dev.carapace.model.RelayEncoder;
import dev.carapace.model.RelayDecoder;
import dev.carapace.model.SseFrames;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.Usage;
import dev.carapace.model.WireFormat;

import java.util.Arrays;
import java.util.List;

/**
 * Messages relayed between a client and an upstream that both speak it: the client's request goes up and the
 * upstream's answer comes back as they were, thinking blocks and their signatures, server-tool blocks and fields
 * Carapace does not model included, with only the model name (and, on the way up, the output limit) changed (see
 * {@link ChatRequest#relaysTo}).
 *
 * <p>A stream's events are named, so the relay tells what to decode by name: everything but
 * {@code content_block_delta}, and the deltas too until the first output (the time to first token) or when a filter
 * reads the output as it comes.
 */
final class AnthropicRelay {

    private static final byte[][] MESSAGE_MODEL = JsonSplice.path("message", "model");
    static final byte[][] MODEL = JsonSplice.path("model");
    private static final byte[][] REQUEST_KEYS = JsonSplice.path("model", "max_tokens");
    private static final byte[][] ANSWER_KEYS = JsonSplice.path("usage", "content");
    private static final String[] OUTPUT = {"\"text\"", "\"partial_json\"", "\"thinking\""};

    private AnthropicRelay() {}

    /** The client's own request with the model and the output limit Carapace chose. */
    static byte[] request(ChatRequest r, String upstreamModel, int defaultMaxTokens) {
        int maxTokens = r.maxTokens() != null ? r.maxTokens() : defaultMaxTokens;
        return r.original().withTopLevel(REQUEST_KEYS, new byte[][] {
                new JsonBytes(upstreamModel.length() + 2).string(upstreamModel).toByteArray(),
                JsonBytes.ascii(Integer.toString(maxTokens))});
    }

    /** A complete answer read for its usage alone, when it is plainly a message with one (see the format's method). */
    static ChatResponse answer(byte[] body, AnthropicFormat format) {
        long[] at = JsonSplice.topLevel(body, ANSWER_KEYS);
        if (at != null && at[0] >= 0 && body[JsonSplice.start(at[0])] == '{' && at[1] >= 0
                && body[JsonSplice.start(at[1])] == '[') {   // an error body has neither
            JsonNode u = AnthropicFormat.readUpstream(Arrays.copyOfRange(body, JsonSplice.start(at[0]), JsonSplice.end(at[0])));
            Usage usage = AnthropicFormat.usage(u.path("input_tokens").asLong(), u.path("output_tokens").asLong(),
                    u.path("cache_read_input_tokens").asLong(), u.path("cache_creation_input_tokens").asLong());
            return new ChatResponse(null, null, null, List.of(), null, usage, body);
        }
        return format.parseUpstreamResponse(body).withRelayed(body);
    }

    /** Reads every event but the content deltas, which it reads until the first output. */
    static WireFormat.StreamDecoder decoder(boolean everyFrame) {
        return new RelayDecoder(new AnthropicStreamDecoder(), everyFrame,
                (event, data) -> !"content_block_delta".equals(event), OUTPUT, true);
    }

    static final class Encoder extends RelayEncoder {
        private final String model;

        Encoder(String model) { this.model = model; }

        @Override
        protected boolean frame(StreamEvent event) {
            if (!(event instanceof StreamEvent.Frame f)) return false;
            SseFrames.write(out.reset(), f.event(), f.data(), model,
                    "message_start".equals(f.event()) ? MESSAGE_MODEL : null);
            return true;
        }

        @Override
        public byte[] error(ApiException error) { return new AnthropicStreamEncoder(model, null).error(error); }

        /** The upstream's message_stop was the end. */
        @Override
        public byte[] end() { return EMPTY; }
    }
}
