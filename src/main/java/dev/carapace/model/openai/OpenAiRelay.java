package dev.carapace.model.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.JsonBytes;
import dev.carapace.model.JsonSplice;
import dev.carapace.model.RelayEncoder;
import dev.carapace.model.RelayDecoder;
import dev.carapace.model.SseFrames;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.WireFormat;

import java.util.Arrays;
import java.util.List;

import static dev.carapace.model.RelayDecoder.hasValue;
import static dev.carapace.model.RelayDecoder.indexOf;

/**
 * Chat Completions relayed between a client and an upstream that both speak it: the upstream's answer goes to the
 * client as it came, with only the model name changed to the one the client asked for (see
 * {@link dev.carapace.model.ChatRequest#relaysTo}).
 *
 * <p>A stream is most of a gateway's work, and most of a stream is content chunks that nothing in Carapace reads
 * unless a budget counts them. So the relay decodes a chunk only when it may carry what the call's accounts need:
 * the first chunks (the stream's start, and the first output for the time to first token), usage, an error or the
 * end. It tells them by their keys in the text: a key cannot appear unescaped inside a JSON string, so a chunk without
 * one of these keys has none of them (a key spelled with escapes is missed, and its chunk relayed unread, which costs
 * nothing but an estimate).
 */
final class OpenAiRelay {

    static final byte[][] MODEL = JsonSplice.path("model");
    private static final byte[][] ANSWER_KEYS = JsonSplice.path("usage", "choices", "error");
    private static final String[] OUTPUT = {"\"content\"", "\"arguments\"", "\"reasoning_content\"", "\"reasoning\""};
    private static final byte[][] CHOICES = JsonSplice.path("choices");
    private static final byte[] DONE = JsonBytes.ascii("[DONE]"), ERROR = JsonBytes.ascii("\"error\""),
            USAGE = JsonBytes.ascii("\"usage\"");

    private OpenAiRelay() {}

    /** A complete answer read for its usage alone, when it is plainly an answer with one (see the format's method). */
    static ChatResponse answer(byte[] body, OpenAiFormat format) {
        long[] at = JsonSplice.topLevel(body, ANSWER_KEYS);
        if (at != null && at[0] >= 0 && body[JsonSplice.start(at[0])] == '{' && at[1] >= 0
                && body[JsonSplice.start(at[1])] == '[' && at[2] < 0) {
            JsonNode usage = OpenAiFormat.readUpstream(Arrays.copyOfRange(body, JsonSplice.start(at[0]), JsonSplice.end(at[0])));
            return new ChatResponse(null, null, null, List.of(), null, OpenAiFormat.parseUsage(usage), body);
        }
        return format.parseUpstreamResponse(body).withRelayed(body);
    }

    /**
     * Reads the chunks that may carry usage, an error or the end. A finish or a tool call read later changes nothing
     * the accounts use (the stream's end supplies a finish, and a tool call's text counts by its length).
     */
    static WireFormat.StreamDecoder decoder(boolean everyFrame) {
        return new RelayDecoder(new OpenAiStreamDecoder(), everyFrame, (event, data) -> event != null
                || indexOf(data, DONE, 0) >= 0 || indexOf(data, ERROR, 0) >= 0 || hasValue(data, USAGE),
                OUTPUT, false);
    }

    static final class Encoder extends RelayEncoder {
        private final String model;
        private final boolean includeUsage;

        Encoder(String model, boolean includeUsage) {
            this.model = model;
            this.includeUsage = includeUsage;
        }

        @Override
        protected boolean frame(StreamEvent event) {
            if (!(event instanceof StreamEvent.Frame f)) return false;
            byte[] data = f.data();
            // Carapace asks every upstream for usage; the chunk that only carries it is for the clients that asked too.
            if (!includeUsage && f.decoded() && hasValue(data, USAGE) && usageOnly(data)) return false;
            SseFrames.write(out.reset(), f.event(), data, model, MODEL);
            return true;
        }

        /** A chunk with usage whose choices are empty or absent. */
        private static boolean usageOnly(byte[] data) {
            long choices = JsonSplice.find(data, CHOICES);
            if (choices < 0) return true;
            for (int i = JsonSplice.start(choices) + 1; i < JsonSplice.end(choices) - 1; i++) {
                if (data[i] != ' ' && data[i] != '\n' && data[i] != '\r' && data[i] != '\t') return false;
            }
            return data[JsonSplice.start(choices)] == '[';
        }

        @Override
        public byte[] error(ApiException error) { return new OpenAiStreamEncoder(model, includeUsage).error(error); }

        @Override
        public byte[] end() { return OpenAiFormat.DONE.clone(); }
    }
}
