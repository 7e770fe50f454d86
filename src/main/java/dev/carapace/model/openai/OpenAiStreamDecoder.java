package dev.carapace.model.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.StreamSink;
import dev.carapace.model.Usage;
import dev.carapace.model.WireFormat;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import static dev.carapace.model.openai.OpenAiFormat.JSON_FACTORY;
import static dev.carapace.model.openai.OpenAiFormat.invalidUpstream;
import static dev.carapace.model.openai.OpenAiFormat.isErrorBody;
import static dev.carapace.model.openai.OpenAiFormat.lenientJson;
import static dev.carapace.model.openai.OpenAiFormat.mapFinish;
import static dev.carapace.model.openai.OpenAiFormat.newId;
import static dev.carapace.model.openai.OpenAiFormat.readUpstream;
import static dev.carapace.model.openai.OpenAiFormat.upstreamFailure;

/**
 * Turns one upstream SSE stream back into neutral events, coping with the differences between servers: tool
 * call names arriving after their ids, ids repeated or reused, usage on the finish chunk or on every chunk,
 * and no finish_reason before {@code [DONE]}.
 */
final class OpenAiStreamDecoder implements WireFormat.StreamDecoder {
    /** One tool call being streamed; {@code index} stays -1 until its name is known and it has been announced. */
    private static final class Call {
        String id, name;
        int index = -1;
        StringBuilder pendingArguments;
    }

    private final Map<Integer, Call> byUpstreamIndex = new HashMap<>();
    private Call lastCall;
    private int announcedCalls;
    private boolean started, finished, done, usageReported;
    private Usage latestUsage;

    @Override
    public boolean done() { return done; }

    @Override
    public void decode(String event, String data, StreamSink sink) {
        if (done || data == null) return;
        String payload = data.strip();
        if (payload.isEmpty()) return;
        if (payload.equals("[DONE]")) {
            done = true;
            if (started && !finished) finish(null, sink);
            if (latestUsage != null && !usageReported) reportUsage(sink);
            return;
        }
        if ("error".equals(event)) throw upstreamFailure(lenientJson(payload));
        byte[] json = payload.getBytes(StandardCharsets.UTF_8);
        OpenAiChunk chunk = OpenAiChunk.read(JSON_FACTORY, json, !started);
        if (chunk == null) chunk = OpenAiChunk.of(chunkTree(json));   // whatever the fast reading left
        if (!started) {
            started = true;
            sink.accept(new StreamEvent.Started(chunk.id == null || chunk.id.isEmpty() ? newId("chatcmpl-") : chunk.id,
                    chunk.model));
        }
        for (OpenAiChunk.Choice choice : chunk.choices) decodeChoice(choice, sink);
        if (chunk.usage != null) {
            latestUsage = chunk.usage;
            // Usage before the finish (vLLM's continuous stats) is partial; the report waits for the end.
            if (finished && !usageReported) reportUsage(sink);
        }
    }

    private static JsonNode chunkTree(byte[] json) {
        JsonNode chunk = readUpstream(json);
        if (isErrorBody(chunk)) throw upstreamFailure(chunk);
        if (!chunk.isObject()) throw invalidUpstream("a stream chunk is not a JSON object");
        return chunk;
    }

    private void decodeChoice(OpenAiChunk.Choice choice, StreamSink sink) {
        if (choice.delta && !finished) {
            if (choice.reasoning != null && !choice.reasoning.isEmpty()) {
                sink.accept(new StreamEvent.ReasoningDelta(choice.reasoning));
            }
            if (choice.content != null && !choice.content.isEmpty()) sink.accept(new StreamEvent.TextDelta(choice.content));
            if (choice.toolCalls != null) {
                for (OpenAiChunk.ToolEntry call : choice.toolCalls) decodeToolCall(call, sink);
            }
        }
        if (choice.finishReason != null && !finished) finish(choice.finishReason, sink);
    }

    private void decodeToolCall(OpenAiChunk.ToolEntry entry, StreamSink sink) {
        String id = nonEmpty(entry.id());
        String name = nonEmpty(entry.name());
        String args = entry.arguments();
        Call call = callFor(entry.index(), id);
        if (call.id == null) call.id = id;
        if (call.name == null) call.name = name;
        if (call.index < 0) {
            if (call.name == null) {
                // Cannot announce a call without its name; hold its arguments until the name comes.
                if (args != null) {
                    if (call.pendingArguments == null) call.pendingArguments = new StringBuilder();
                    call.pendingArguments.append(args);
                }
                return;
            }
            call.index = announcedCalls++;
            if (call.id == null) call.id = newId("call_");
            sink.accept(new StreamEvent.ToolCallStarted(call.index, call.id, call.name));
            if (call.pendingArguments != null && !call.pendingArguments.isEmpty()) {
                sink.accept(new StreamEvent.ToolCallDelta(call.index, call.pendingArguments.toString()));
            }
            call.pendingArguments = null;
        }
        if (args != null && !args.isEmpty()) sink.accept(new StreamEvent.ToolCallDelta(call.index, args));
    }

    /**
     * Finds the call an entry continues. Normally the upstream index says; but some servers give every call
     * index 0 and tell them apart only by id, and some omit the index, so a new id always opens a new call.
     */
    private Call callFor(Integer index, String id) {
        Call call;
        if (index != null) {
            call = byUpstreamIndex.get(index);
            if (call == null || (id != null && call.id != null && !id.equals(call.id))) {
                call = new Call();
                byUpstreamIndex.put(index, call);
            }
        } else {
            call = lastCall;
            if (call == null || (id != null && call.id != null && !id.equals(call.id))) call = new Call();
        }
        lastCall = call;
        return call;
    }

    private void finish(String reason, StreamSink sink) {
        finished = true;
        sink.accept(new StreamEvent.Finished(mapFinish(reason, announcedCalls > 0)));
    }

    private void reportUsage(StreamSink sink) {
        usageReported = true;
        sink.accept(new StreamEvent.UsageReport(latestUsage));
    }

    private static String nonEmpty(String s) {
        return s != null && !s.isEmpty() ? s : null;
    }
}
