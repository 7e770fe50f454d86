package dev.carapace.model.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.model.ApiException;
import dev.carapace.model.JsonBytes;
import dev.carapace.model.JsonSplice;
import dev.carapace.model.RelayEncoder;
import dev.carapace.model.RelayDecoder;
import dev.carapace.model.SseFrames;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.WireFormat;

import java.util.Set;

/**
 * The Responses API relayed between a client and an upstream that both speak it: the upstream's events reach the
 * client as they came (reasoning items with their encrypted content, summaries, hosted tools' items, fields Carapace
 * does not model), with only the model name changed to the one the client asked for.
 *
 * <p>Events are named, so the relay tells what to decode by name: everything but the content deltas, and those too
 * until the first output (the time to first token) or when a filter reads the output as it comes.
 */
final class ResponsesRelay {

    static final byte[][] MODEL = JsonSplice.path("model");
    private static final byte[][] RESPONSE_MODEL = JsonSplice.path("response", "model");
    private static final Set<String> DELTAS = Set.of("response.output_text.delta", "response.function_call_arguments.delta",
            "response.custom_tool_call_input.delta", "response.reasoning_summary_text.delta", "response.reasoning_text.delta",
            "response.refusal.delta");
    /** The events that carry the whole response object, whose model the client sees as its own. */
    private static final Set<String> WITH_RESPONSE = Set.of("response.created", "response.in_progress", "response.queued",
            "response.completed", "response.incomplete", "response.failed");
    private static final Set<String> FINAL = Set.of("response.completed", "response.incomplete", "response.failed");
    private static final String[] OUTPUT = {"\"delta\""};

    private ResponsesRelay() {}

    static WireFormat.StreamDecoder decoder(boolean everyFrame) {
        return new RelayDecoder(new ResponsesStreamDecoder(), everyFrame, (event, data) -> event == null || !DELTAS.contains(event),
                OUTPUT, true);
    }

    /** Writes the upstream's events as they came, and keeps the final response object for the store. */
    static final class Encoder extends RelayEncoder implements ResponsesFormat.Finals {
        private final String model;
        private ObjectNode last;
        /** Frames written so far: the sequence number a failure event of Carapace's own continues from. */
        private int frames;

        Encoder(String model) { this.model = model; }

        @Override
        protected boolean frame(StreamEvent event) {
            if (!(event instanceof StreamEvent.Frame f)) return false;
            frames++;
            byte[] data = f.data();
            boolean whole = f.event() != null && WITH_RESPONSE.contains(f.event());
            if (whole && FINAL.contains(f.event())) keep(data);
            SseFrames.write(out.reset(), f.event(), data, model, whole ? RESPONSE_MODEL : null);
            return true;
        }

        private void keep(byte[] data) {
            try {
                JsonNode r = ResponsesJson.MAPPER.readTree(data).path("response");
                if (r instanceof ObjectNode o) last = o.put("model", model);
            } catch (java.io.IOException | RuntimeException malformed) {
                // the client gets the frame as it came; there is just nothing to store
            }
        }

        @Override
        public byte[] error(ApiException error) {
            ResponsesStreamEncoder failed = new ResponsesStreamEncoder(ResponsesContext.none(), model, null);
            failed.continueAt(frames);
            byte[] bytes = failed.error(error);
            last = failed.finalResponse();
            return bytes;
        }

        @Override
        public byte[] end() { return EMPTY; }

        @Override
        public ObjectNode finalResponse() { return last; }
    }
}
